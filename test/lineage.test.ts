// A worker whose creator never imported shared-waitgroup cannot be watched: nobody sees it exit.
// It says so, loudly, the first time it uses a group (issue #13, item 6).
import { afterEach, describe, expect, it } from 'vitest';
import { WaitGroup } from '../src/index.js';
import { startFixture, terminateAll } from './helpers.js';

afterEach(terminateAll);

async function warningsOf(fixture: string, group: WaitGroup): Promise<string[]> {
  const worker = startFixture(fixture, { group: group.share() });
  const { warnings } = await new Promise<{ warnings: string[] }>((resolve) => worker.once('message', resolve));
  return warnings;
}

describe('workers nobody watches', () => {
  it('warns with SHARED_WAITGROUP_UNWATCHED in a worker created by a thread without the library', async () => {
    expect(await warningsOf('unwatched-parent', new WaitGroup({ name: 'unwatched' }))).toEqual(['SHARED_WAITGROUP_UNWATCHED']);
  });

  it('stays quiet in a worker created by a thread that imported the library first', async () => {
    expect(await warningsOf('unwatched-child', new WaitGroup({ name: 'watched' }))).toEqual([]);
  });
});
