// The piscina integration: pool tasks as group tasks (queued and running), failures in full
// fidelity, work that outlives a task, the atomics mode guard, and a shutdown that loses nothing.
import { threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskGroupError, WaitGroup, WaitTimeoutError } from '../src/index.js';
import { TrackedPool } from '../src/integrations/piscina.js';
import { Roster, recall, remember } from '../src/integrations/piscina-roster.js';
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

/** `bare`, recording the kind of every envelope TrackedPool sends it, and answering the next `bounce` slot envelopes as a worker that does not hold the group. */
function recording(bare: Piscina, bounce = 0): { pool: Piscina; kinds: string[] } {
  const kinds: string[] = [];
  let bounces = bounce;
  const run = (task: unknown, options?: Parameters<Piscina['run']>[1]): Promise<unknown> => {
    const { kind } = task as { kind: string };
    kinds.push(kind);
    if (kind === SLOT && bounces > 0) {
      bounces--;
      return Promise.resolve({ kind: 'shared-waitgroup/piscina-need-group' });
    }
    return bare.run(task, options);
  };
  // The wrapper is the pool as far as TrackedPool is concerned: everything else is the real pool's.
  return { pool: new Proxy(bare, { get: (target, key) => (key === 'run' ? run : (Reflect.get(target, key) as unknown)) }), kinds };
}

const FULL = 'shared-waitgroup/piscina-task';
const SLOT = 'shared-waitgroup/piscina-slot';

describe('the roster of threads that hold a pool\'s group', () => {
  it('lists a thread once it keeps the group, and drops threads that left the pool', () => {
    const roster = new Roster(4);
    const wg = new WaitGroup({ name: 'roster' });
    expect(roster.lists([threadId])).toBe(false);
    expect(recall(roster.shared.pool)).toBeUndefined();
    remember(roster.shared, wg.share());
    expect(recall(roster.shared.pool)).toBe(wg);
    expect(roster.changed).toBe(true);
    expect(roster.lists([threadId])).toBe(true);
    expect(roster.changed).toBe(false);
    // A pool thread that never ran a task is not listed.
    expect(roster.lists([threadId, threadId + 1000])).toBe(false);
    // This thread left the pool (it exited): its entry goes, so a new thread can take its place.
    expect(roster.lists([threadId + 1000])).toBe(false);
    expect(roster.changed).toBe(true);
    expect(roster.lists([threadId])).toBe(false);
    // Kept groups are not listed twice: the thread is already counted on for this pool.
    remember(roster.shared, wg.share());
    expect(roster.changed).toBe(false);
  });
});

describe('TrackedPool payloads', () => {
  it('sends the group in full until every pool thread holds it, then only the task slot', async () => {
    const wg = new WaitGroup({ name: 'slots' });
    const { pool: recorded, kinds } = recording(pool(2));
    const tracked = new TrackedPool<PoolJob>(recorded, wg);
    // Submitted together before any thread has run one: all in full.
    expect(await Promise.all([1, 2, 3, 4].map((value) => tracked.run({ kind: 'echo', value })))).toEqual([1, 2, 3, 4]);
    expect(new Set(kinds)).toEqual(new Set([FULL]));
    // Until both threads have run one, in full; after that, slots only. (Pairs, so both threads get one.)
    for (let i = 0; i < 50 && kinds.at(-1) !== SLOT; i++) await Promise.all([tracked.run({ kind: 'echo', value: i }), tracked.run({ kind: 'echo', value: i })]);
    expect(kinds.at(-1)).toBe(SLOT);
    const sent = kinds.length;
    expect(await Promise.all(['a', 'b', 'c'].map((value) => tracked.run({ kind: 'echo', value }, { label: `echo ${value}` })))).toEqual(['a', 'b', 'c']);
    expect(kinds.slice(sent)).toEqual([SLOT, SLOT, SLOT]);
    // A failure of a task sent as a slot is a group failure in full, with its label.
    await expect(tracked.run({ kind: 'fail' }, { label: 'fails as a slot' })).rejects.toMatchObject({ code: 'E_POOL', cause: expect.any(TypeError) as unknown });
    expect(kinds.at(-1)).toBe(SLOT);
    const error = await wg.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).origins.map((origin) => origin.label)).toEqual(['fails as a slot']);
    expect(wg.stats()).toEqual({ added: kinds.length, done: kinds.length, failed: 1, pending: 0 });
  });

  it('sends a task again in full when a worker answers that it does not hold the group', async () => {
    const wg = new WaitGroup({ name: 'bounced' });
    const { pool: recorded, kinds } = recording(pool(1), 1);
    const tracked = new TrackedPool<PoolJob>(recorded, wg);
    expect(await tracked.run({ kind: 'echo', value: 'first' })).toBe('first');
    expect(await tracked.run({ kind: 'echo', value: 'bounced' })).toBe('bounced');
    expect(kinds).toEqual([FULL, SLOT, FULL]);
    expect(await tracked.run({ kind: 'echo', value: 'after' })).toBe('after');
    expect(kinds.at(-1)).toBe(SLOT);
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
  });

  it('a worker that never got the group answers a slot envelope by asking for it', async () => {
    const bare = pool(1);
    const envelope = { kind: SLOT, pool: 12345, slot: 0, generation: 0, remaining: 1, label: undefined, payload: { kind: 'echo', value: 1 } };
    expect(await bare.run(envelope)).toEqual({ kind: 'shared-waitgroup/piscina-need-group' });
  });

  it('sends a task with a transferList in full, once', async () => {
    const wg = new WaitGroup({ name: 'transfers' });
    const { pool: recorded, kinds } = recording(pool(1), 5);
    const tracked = new TrackedPool<PoolJob>(recorded, wg);
    expect(await tracked.run({ kind: 'echo', value: 0 })).toBe(0);
    const bytes = new Uint8Array([1, 2, 3]);
    expect(await tracked.run({ kind: 'echo', value: bytes }, { transferList: [bytes.buffer] })).toEqual(new Uint8Array([1, 2, 3]));
    expect(kinds).toEqual([FULL, FULL]);
    expect(bytes.byteLength).toBe(0);
  });

  it('a worker that forgets the oldest of more than 64 groups leaves its roster: that pool sends in full again', async () => {
    const shared = pool(1);
    const first = recording(shared);
    const wg = new WaitGroup({ name: 'first' });
    const tracked = new TrackedPool<PoolJob>(first.pool, wg);
    for (let i = 0; i < 50 && first.kinds.at(-1) !== SLOT; i++) await tracked.run({ kind: 'echo', value: i });
    expect(first.kinds.at(-1)).toBe(SLOT);
    // 64 more groups through the same worker: it keeps 64, so it forgets the first one.
    for (let i = 0; i < 64; i++) await new TrackedPool<PoolJob>(shared, new WaitGroup({ name: `other ${i}` })).run({ kind: 'echo', value: i });
    expect(await tracked.run({ kind: 'echo', value: 'again' })).toBe('again');
    expect(first.kinds.at(-1)).toBe(FULL);
    expect(wg.stats().pending).toBe(0);
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

  it("waits for every run() to settle, not only for the group: piscina's close() destroyed a worker whose task was still running", async () => {
    // Task b completes its group unit, then goes on running. shutdown() begins once the group is
    // done, before a's result is read; piscina's close() then counted a's worker as done three
    // times (its flush check is registered once per worker, plus once), found "every worker"
    // done, and destroyed b's worker: b's run() rejected with piscina's termination error.
    const wg = new WaitGroup();
    const latch = new Int32Array(new SharedArrayBuffer(4));
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const late = new Int32Array(new SharedArrayBuffer(4));
    const tracked = new TrackedPool<PoolJob>(pool(2), wg);
    const a = tracked.run({ kind: 'gate', latch, gate });
    const b = tracked.run({ kind: 'done-early', latch, gate: late }).catch((error: unknown) => error);
    await reached(latch, 2);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    // Blocking, so that no result is read before shutdown() has closed the pool.
    wg.waitSync({ timeout: 20_000 });
    const shutdown = tracked.shutdown({ deadline: 20_000 });
    // A second shutdown() meanwhile (a second signal, say) waits too, and does not strand the first.
    const again = tracked.shutdown({ deadline: 20_000 });
    expect(await a).toBe('opened');
    Atomics.store(late, 0, 1);
    Atomics.notify(late, 0);
    expect(await shutdown).toEqual({ timedOut: false, pending: [], failure: undefined });
    expect(await again).toEqual({ timedOut: false, pending: [], failure: undefined });
    expect(await b).toBe('late');
  });

  it('on the deadline, destroys the pool under a task function still running after its group task completed', async () => {
    const wg = new WaitGroup();
    const latch = new Int32Array(new SharedArrayBuffer(4));
    const never = new Int32Array(new SharedArrayBuffer(4));
    const tracked = new TrackedPool<PoolJob>(pool(2), wg);
    const run = tracked.run({ kind: 'done-early', latch, gate: never }).catch((error: unknown) => error);
    await reached(latch, 1);
    expect(await tracked.shutdown({ deadline: 0 })).toEqual({ timedOut: true, pending: [], failure: undefined });
    expect(await run).toBeInstanceOf(Error);
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 0, pending: 0 });
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
