// waitSync() on the main thread: without a finite timeout it would stop the thread's event loop
// until the group is done, and deadlock on work that needs that loop. It is refused
// (ERR_MAIN_THREAD_BLOCK) unless the caller gives a finite timeout or opts in; workers may block.
// vitest runs test files in forked processes ('forks' pool): this file runs on a main thread.
import { isMainThread } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { WaitGroup, WaitTimeoutError } from '../src/index.js';
import { newMarks } from '../workers/sync.js';
import { startAgent, terminateAll } from './helpers.js';

afterEach(terminateAll);

const refused = expect.objectContaining({ code: 'ERR_MAIN_THREAD_BLOCK' }) as Error;

describe('waitSync() on the main thread', () => {
  it('is refused without a finite timeout or blockMainThread: true, whatever is pending', () => {
    expect(isMainThread).toBe(true);
    const wg = new WaitGroup({ name: 'main' });
    expect(() => wg.waitSync()).toThrow(refused);
    expect(() => wg.waitSync({})).toThrow(refused);
    expect(() => wg.waitSync({ timeout: Infinity })).toThrow(refused);
    expect(() => wg.waitSync({ blockMainThread: false })).toThrow(refused);
    expect(() => wg.waitSync({ timeout: 10 })).not.toThrow();
    expect(() => wg.waitSync({ blockMainThread: true })).not.toThrow();
  });

  it('is refused where it would deadlock: work in a worker that completes on this thread\'s message', async () => {
    const wg = new WaitGroup({ name: 'needs main' });
    // Refused with nothing pending too (so that, without the check, this test fails here rather than hang below).
    expect(() => wg.waitSync()).toThrow(refused);
    const agent = startAgent(newMarks(), { wg: wg.share() });
    await agent.call('attach', { group: 'g', path: ['wg'] });
    await agent.call('add', { group: 'g', task: 'reply', label: 'waits for main' });
    // The worker completes its task only when this thread's event loop sends it 'done'.
    expect(() => wg.waitSync()).toThrow(refused);
    // With a finite timeout the caller has said how long it may block: it times out, as asked.
    expect(() => wg.waitSync({ timeout: 0 })).toThrow(WaitTimeoutError);
    expect((await agent.call('done', { task: 'reply' })).results).toEqual([true]);
    expect(() => wg.waitSync({ blockMainThread: true })).not.toThrow();
  });

  it('checks blockMainThread: a boolean or undefined', () => {
    const wg = new WaitGroup();
    expect(() => wg.waitSync({ blockMainThread: 'yes' } as unknown as { blockMainThread: boolean })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }) as Error,
    );
  });
});

describe('waitSync() in a worker', () => {
  it('blocks without a timeout, as before', async () => {
    const wg = new WaitGroup({ name: 'worker blocks' });
    const agent = startAgent(newMarks(), { wg: wg.share() });
    await agent.call('attach', { group: 'g', path: ['wg'] });
    expect(await agent.call('waitSync', { group: 'g' })).toMatchObject({ pending: 0 });
  });
});
