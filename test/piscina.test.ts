// The piscina integration: pool tasks as group tasks (queued and running), failures in full
// fidelity, work that outlives a task, the atomics mode guard, and a shutdown that loses nothing.
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskGroupError, WaitGroup, WaitTimeoutError } from '../src/index.js';
import { TrackedPool } from '../src/piscina.js';
import type { PoolJob } from '../workers/pool-task.js';

const filename = new URL('../dist/workers/pool-task.js', import.meta.url).href;
const pools: Piscina[] = [];

function pool(threads: number, atomics: 'async' | 'sync' = 'async'): Piscina {
  const created = new Piscina({ filename, minThreads: threads, maxThreads: threads, atomics });
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

async function reached(latch: Int32Array, count: number): Promise<void> {
  for (let seen = Atomics.load(latch, 0); seen < count; seen = Atomics.load(latch, 0)) {
    await Atomics.waitAsync(latch, 0, seen, 20_000).value;
  }
}

describe('TrackedPool', () => {
  it("covers queued and running pool tasks in the group's wait", async () => {
    const wg = new WaitGroup({ name: 'pool' });
    const tracked = new TrackedPool<PoolJob>(pool(1), wg);
    const results = ['a', 'b', 'c'].map((value) => tracked.run({ kind: 'echo', value }, { label: `echo ${value}` }));
    const early = await wg.wait({ timeout: 0 }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(WaitTimeoutError);
    expect((early as WaitTimeoutError).pending.map((t) => t.label).sort()).toEqual(['echo a', 'echo b', 'echo c']);
    await wg.wait({ timeout: 20_000 });
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
  });

  it('makes a rejection a group failure, and rejects run() with the failure in full', async () => {
    const wg = new WaitGroup({ name: 'failing pool' });
    const tracked = new TrackedPool<PoolJob>(pool(1), wg);
    const run = await tracked.run({ kind: 'fail' }, { label: 'fails' }).catch((e: unknown) => e);
    expect(run).toBeInstanceOf(RangeError);
    expect(run).toMatchObject({ code: 'E_POOL', cause: expect.any(TypeError) as unknown });
    const error = await wg.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskGroupError);
    const failure: unknown = (error as TaskGroupError).errors[0];
    expect(failure).toBeInstanceOf(RangeError);
    expect(failure).toMatchObject({ code: 'E_POOL', cause: expect.any(TypeError) as unknown });
    expect((error as TaskGroupError).origins[0]?.label).toBe('fails');
    expect(wg.stats().failed).toBe(1);
  });

  it('waits for work a task registered to outlive its return (a setImmediate flush)', async () => {
    const wg = new WaitGroup({ name: 'flushing pool' });
    const flushed = new Int32Array(new SharedArrayBuffer(4));
    const tracked = new TrackedPool<PoolJob>(pool(1), wg);
    expect(await tracked.run({ kind: 'flush', flushed })).toBe('scheduled');
    await wg.wait({ timeout: 20_000 });
    expect(Atomics.load(flushed, 0)).toBe(1);
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it("refuses a pool with atomics: 'sync', where such a flush would never run", () => {
    expect(() => new TrackedPool(pool(1, 'sync'), new WaitGroup())).toThrow(expect.objectContaining({ code: 'ERR_PISCINA_ATOMICS_SYNC' }) as Error);
  });

  it('refuses a pool that removes idle workers, which would kill such a flush mid-way', () => {
    const reaping = new Piscina({ filename, minThreads: 1, maxThreads: 2, atomics: 'async' });
    pools.push(reaping);
    expect(() => new TrackedPool(reaping, new WaitGroup())).toThrow(expect.objectContaining({ code: 'ERR_PISCINA_IDLE_TIMEOUT' }) as Error);
    const keeping = new Piscina({ filename, minThreads: 1, maxThreads: 2, atomics: 'async', idleTimeout: Infinity });
    pools.push(keeping);
    expect(new TrackedPool(keeping, new WaitGroup()).pool).toBe(keeping);
  });
});

describe('graceful shutdown', () => {
  const jobs: PoolJob[] = Array.from({ length: 5 }, () => ({ kind: 'sleep', ms: 300 }));

  it('reproduces piscina close() dropping a queued task (2 threads, 5 tasks of 300 ms)', async () => {
    const bare = pool(2);
    const wg = new WaitGroup();
    const tracked = new TrackedPool<PoolJob>(bare, wg);
    const runs = jobs.map((job) => tracked.run(job).then(() => 'done', () => 'dropped'));
    await bare.close();
    expect((await Promise.all(runs)).filter((r) => r === 'dropped').length).toBeGreaterThan(0);
  });

  it('loses nothing through TrackedPool#shutdown in the same setting', async () => {
    const wg = new WaitGroup();
    const tracked = new TrackedPool<PoolJob>(pool(2), wg);
    const runs = jobs.map((job) => tracked.run(job));
    const report = await tracked.shutdown({ deadline: 20_000 });
    expect(report).toEqual({ timedOut: false, pending: [], failure: undefined });
    expect(await Promise.all(runs)).toEqual([300, 300, 300, 300, 300]);
    await expect(tracked.run({ kind: 'echo', value: 1 })).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
  });

  it('on the deadline, reports what is pending and forces it, failing what it held', async () => {
    const wg = new WaitGroup();
    const latch = new Int32Array(new SharedArrayBuffer(4));
    const tracked = new TrackedPool<PoolJob>(pool(2), wg);
    const runs = [1, 2, 3].map((n) => tracked.run({ kind: 'hold', latch }, { label: `hold ${n}` }).catch((e: unknown) => e));
    await reached(latch, 2);
    const report = await tracked.shutdown({ deadline: 0 });
    expect(report.timedOut).toBe(true);
    expect(report.pending.map((t) => t.label).sort()).toEqual(['hold 1', 'hold 2', 'hold 3']);
    expect(report.failure).toBeInstanceOf(TaskGroupError);
    const failures = report.failure?.errors ?? [];
    expect(failures).toHaveLength(3);
    // Running ones fail with piscina's termination error or, if their worker's exit is seen first,
    // WorkerExitedError; the queued one with piscina's rejection. Each exactly once.
    for (const failure of failures) expect(failure).toBeInstanceOf(Error);
    expect(await Promise.all(runs)).toHaveLength(3);
    expect(wg.stats().pending).toBe(0);
  });

  it('cancels the group when asked: the signal reaches the running tasks', async () => {
    const wg = new WaitGroup();
    const tracked = new TrackedPool<PoolJob>(pool(2), wg);
    const runs = [1, 2].map(() => tracked.run({ kind: 'until-cancelled' }));
    const report = await tracked.shutdown({ cancel: true, reason: 'closing time', deadline: 20_000 });
    expect(report.timedOut).toBe(false);
    expect(await Promise.all(runs)).toEqual(['closing time', 'closing time']);
  });
});
