// The contract between the two sides of the piscina integration: a worker module without tracked()
// behind a TrackedPool, and a tracked() function behind a plain pool, each refused with a coded
// error that says the fix.
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { WaitGroup, WaitGroupError } from '../src/index.js';
import { TrackedPool } from '../src/integrations/piscina.js';
import type { PoolJob } from '../workers/pool-task.js';
import { rejectionOf } from './helpers.js';
import { failureOf } from './outcomes.js';

const pools: Piscina[] = [];

function fixture(name: string): string {
  return new URL(`../dist/workers/${name}.js`, import.meta.url).href;
}

function pool(module: string, options: ConstructorParameters<typeof Piscina>[0] = {}): Piscina {
  const created = new Piscina({ filename: fixture(module), minThreads: 1, maxThreads: 1, atomics: 'async', ...options });
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

describe('a TrackedPool whose worker module does not wrap its function with tracked()', () => {
  it('rejects run() with ERR_UNTRACKED_FUNCTION instead of resolving with the envelope, and fails the group task', async () => {
    const wg = new WaitGroup({ name: 'untracked' });
    const tracked = new TrackedPool<string, string>(pool('pool-untracked'), wg);
    const error = await rejectionOf(tracked.run('payload', { label: 'forgot tracked' }));
    expect(error).toBeInstanceOf(WaitGroupError);
    expect(error).toMatchObject({ code: 'ERR_UNTRACKED_FUNCTION' });
    const failure = await failureOf(wg, { timeout: 20_000 });
    expect(failure.errors).toEqual([error]);
    expect(failure.origins[0]?.label).toBe('forgot tracked');
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 1, pending: 0 });
  });

  it('rejects every later run() too, once the pool sends only task slots', async () => {
    const wg = new WaitGroup({ name: 'untracked slots' });
    const tracked = new TrackedPool<string, string>(pool('pool-untracked'), wg);
    for (let i = 0; i < 3; i++) {
      await expect(tracked.run(`payload ${i}`, { handled: true })).rejects.toMatchObject({ code: 'ERR_UNTRACKED_FUNCTION' });
    }
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
  });
});

describe('a tracked() function run by a plain pool', () => {
  it('rejects with ERR_NOT_TRACKED, its code intact across piscina', async () => {
    const plain = pool('pool-task');
    const job: PoolJob = { kind: 'echo', value: 1 };
    const error = await rejectionOf(plain.run(job));
    expect(error).toMatchObject({ name: 'WaitGroupError', code: 'ERR_NOT_TRACKED' });
  });
});
