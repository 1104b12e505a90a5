// Real worker threads: `limit` bounds the go() functions running at once across every thread.
// The functions count themselves in shared memory (running, max by compare-and-exchange, total).
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { WaitGroup, WorkerExitedError } from '../src/index.js';
import type { Seen } from '../workers/protocol.js';
import { block, bump, countedRun, newMarks, reach, set, type Counters } from '../workers/sync.js';
import { startAgent, terminateAll, type TestWorker } from './helpers.js';
import { failureOf } from './outcomes.js';

afterEach(terminateAll);

const COUNTERS: Counters = { running: 0, max: 1, total: 2 };
const STARTED = 3;
const HOLD = 4;
const SEEN: Seen = { cancelled: 5, live: 6 };
const RECORDING = 7;
const PROBED = 8;

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

async function attached(wg: WaitGroup, marks: Int32Array, count: number): Promise<TestWorker[]> {
  const agents = Array.from({ length: count }, () => startAgent(marks));
  await Promise.all(agents.map((agent) => agent.call('attach', { group: 'g', value: wg.share(), path: [] })));
  return agents;
}

describe('limit across threads', () => {
  it('never runs more than `limit` functions at once in all threads, and runs every one', async () => {
    const FNS = 150;
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'limited', limit: 2 });
    const agents = await attached(wg, marks, 2);
    const gate = wg.add('gate'); // no wait may pass before every thread has queued its functions
    const queued = agents.map((agent) => agent.call('limited', { group: 'g', fns: FNS, counters: COUNTERS }));
    for (let fn = 0; fn < FNS; fn++) wg.go(() => countedRun(marks, COUNTERS), 'main');
    await Promise.all(queued);
    gate.done();
    await wg.wait();
    expect(Atomics.load(marks, COUNTERS.total)).toBe(3 * FNS);
    expect(Atomics.load(marks, COUNTERS.running)).toBe(0);
    expect(Atomics.load(marks, COUNTERS.max)).toBeGreaterThanOrEqual(1);
    expect(Atomics.load(marks, COUNTERS.max)).toBeLessThanOrEqual(2);
    expect(wg.stats()).toEqual({ added: 3 * FNS + 1, done: 3 * FNS + 1, failed: 0, pending: 0 });
  });

  it('makes tryGo() return false in a worker while two functions run in other threads', async () => {
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'full', limit: 2 });
    const [other, trier] = (await attached(wg, marks, 2)) as [TestWorker, TestWorker];
    const hold = { kind: 'hold', started: STARTED, hold: HOLD } as const;
    wg.go(async () => {
      bump(marks, STARTED);
      await reach(marks, HOLD, 1);
    }, 'held-on-main');
    await other.call('go', { group: 'g', label: 'held-in-other', behavior: hold });
    await reach(marks, STARTED, 2);
    // Both slots are taken, one on main and one in another worker.
    expect(await trier.call('tryGo', { group: 'g', label: 'refused', behavior: hold })).toBe(false);
    // go() queues instead; its function does not start while the slots are held.
    await trier.call('go', { group: 'g', label: 'queued', behavior: hold });
    await trier.call('ping', {});
    expect(Atomics.load(marks, STARTED)).toBe(2);
    expect(wg.pendingTasks().map((task) => task.label).sort()).toEqual(['held-in-other', 'held-on-main', 'queued']);
    set(marks, HOLD);
    await reach(marks, STARTED, 3);
    await wg.wait();
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
    // With the slots free again, tryGo() starts at once.
    expect(await trier.call('tryGo', { group: 'g', label: 'accepted', behavior: hold })).toBe(true);
    await wg.wait();
    expect(Atomics.load(marks, STARTED)).toBe(4);
  });
});

describe('limit across threads (issue 12)', () => {
  it('with cancelOnError, a function that starts after a failure sees the group cancelled, in every thread', async () => {
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'cancels', limit: 1, cancelOnError: true });
    const [agent] = (await attached(wg, marks, 1)) as [TestWorker];
    const gate = deferred();
    // While main records the failure (its envelope reads `probe`), the worker tries to start a
    // function: the limit slot must still be held then. The worker queues one instead, which must
    // see the group cancelled when the slot frees.
    const failure = new Error('fails on main');
    let probing = true;
    Object.defineProperty(failure, 'probe', {
      enumerable: true,
      get: () => {
        if (probing) {
          probing = false;
          set(marks, RECORDING);
          block(marks, PROBED, 1);
        }
        return 'probed';
      },
    });
    wg.go(async () => {
      await gate.promise;
      throw failure;
    }, 'fails');
    const probe = agent.call('tryGoWhen', { group: 'g', label: 'tried in worker', when: RECORDING, done: PROBED, seen: SEEN });
    gate.resolve();
    const error = await failureOf(wg);
    expect(error.errors).toEqual([failure]);
    expect(await probe).toBe(false);
    expect({ cancelled: Atomics.load(marks, SEEN.cancelled), live: Atomics.load(marks, SEEN.live) }).toEqual({ cancelled: 1, live: 0 });
  });

  it('a function queued on main starts in the async context of its go() when a worker frees the slot', async () => {
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'context', limit: 1 });
    const [agent] = (await attached(wg, marks, 1)) as [TestWorker];
    await agent.call('go', { group: 'g', label: 'held in worker', behavior: { kind: 'hold', started: STARTED, hold: HOLD } });
    await reach(marks, STARTED, 1);
    const storage = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    for (const name of ['a', 'b', 'c']) {
      storage.run(name, () => {
        wg.go(() => {
          seen.push(storage.getStore());
        }, name);
      });
    }
    set(marks, HOLD);
    await wg.wait();
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('queues more functions than the tree has task slots, in every thread', async () => {
    const FNS = 150;
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'small', limit: 2, capacity: 16 });
    const agents = await attached(wg, marks, 2);
    const gate = wg.add('gate');
    const queued = agents.map((agent) => agent.call('limited', { group: 'g', fns: FNS, counters: COUNTERS }));
    for (let fn = 0; fn < FNS; fn++) wg.go(() => countedRun(marks, COUNTERS), 'main');
    await Promise.all(queued);
    gate.done();
    await wg.wait();
    expect(Atomics.load(marks, COUNTERS.total)).toBe(3 * FNS);
    expect(Atomics.load(marks, COUNTERS.max)).toBeLessThanOrEqual(2);
    expect(wg.stats()).toEqual({ added: 3 * FNS + 1, done: 3 * FNS + 1, failed: 0, pending: 0 });
  });

  it('a thread that exits with functions queued fails the head of its queue, and waits end', async () => {
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'exits', limit: 1 });
    const [agent] = (await attached(wg, marks, 1)) as [TestWorker];
    const gate = deferred();
    wg.go(() => gate.promise, 'held on main');
    await agent.call('limited', { group: 'g', fns: 50, counters: COUNTERS });
    // Main's function, and the head of the worker's queue.
    expect(wg.pendingTasks().map((task) => task.threadId)).toEqual([0, agent.threadId]);
    await agent.terminate();
    gate.resolve();
    const error = await failureOf(wg);
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]).toBeInstanceOf(WorkerExitedError);
    expect((error.errors[0] as WorkerExitedError).code).toBe('ERR_WORKER_EXITED');
    expect((error.errors[0] as WorkerExitedError).units).toBe(1);
    expect(Atomics.load(marks, COUNTERS.total)).toBe(0);
  });
});
