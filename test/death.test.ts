// Worker death: tasks held by a thread that exits, whatever the cause, fail with WorkerExitedError,
// their units are completed, and every waiter wakes. A task the dead thread handed over to a live
// thread (rebuilt there with Task.from) belongs to the live thread and survives.
import { threadId, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { Task, WaitGroup, WaitTimeoutError, WorkerExitedError, type SharedTask } from '../src/index.js';
import type { Cause } from '../workers/death.js';
import { startFixture, terminateAll } from './helpers.js';
import { failureOf } from './outcomes.js';

function start(fixture: string, workerData: unknown): Worker {
  const worker = startFixture(fixture, workerData);
  worker.on('error', () => undefined); // the deaths are the point; their errors are expected
  return worker;
}

/** The next message; unlike events.once(), not rejected by the 'error' event a dying worker may emit first. */
function message<T>(worker: Worker): Promise<T> {
  return new Promise((resolve) => worker.once('message', resolve));
}

afterEach(terminateAll);

const causes: [Cause, number, 'itself' | 'terminate'][] = [
  ['throw', 1, 'itself'],
  ['exit', 7, 'itself'],
  ['reject', 1, 'itself'],
  ['normal', 0, 'itself'],
  ['blocked', 1, 'terminate'],
  ['busy', 1, 'terminate'],
];

describe('a worker that dies holding tasks', () => {
  it.each(causes)('cause %s: its tasks fail with ERR_WORKER_EXITED, handed-over tasks survive', async (cause, exitCode, ender) => {
    const wg = new WaitGroup({ name: `death-${cause}` });
    const go = new Int32Array(new SharedArrayBuffer(4));
    const worker = start('death', { group: wg.share(), cause, go });
    const dead = worker.threadId;
    const { handedOver } = await message<{ handedOver: SharedTask }>(worker);
    const mine = Task.from(handedOver);
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    // events.once() would reject on the worker's 'error' event, which some causes emit first.
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    if (ender === 'terminate') await worker.terminate();
    await exited;

    // The sweep ran in our 'exit' listener, registered before the test's: only our task is left.
    const early = await wg.wait({ timeout: 0 }).catch((error: unknown) => error);
    expect(early).toBeInstanceOf(WaitTimeoutError);
    expect((early as WaitTimeoutError).pending.map((t) => [t.label, t.threadId])).toEqual([['handed over', threadId]]);
    expect(mine.done()).toBe(true);

    const error = await failureOf(wg, { timeout: 20_000 });
    expect(error.errors).toHaveLength(3);
    for (const failure of error.errors) {
      expect(failure).toBeInstanceOf(WorkerExitedError);
      expect(failure).toMatchObject({ code: 'ERR_WORKER_EXITED', threadId: dead, exitCode });
    }
    expect(error.origins.map((o) => o.label).sort()).toEqual(['held', 'never settles', 'three units']);
    expect(error.errors.map((e) => (e as WorkerExitedError).units).sort()).toEqual([1, 1, 3]);
    expect(wg.stats()).toEqual({ added: 6, done: 6, failed: 3, pending: 0 });
  });

  it('is swept by the main thread when the worker was started by another worker, in a tree that one never held', async () => {
    const a = new WaitGroup({ name: 'known to the middle worker' });
    const b = new WaitGroup({ name: 'unknown to it' });
    const middle = start('nested-death', { a: a.share(), b: b.share() });
    const { child, message: first } = await message<{ child: number; message: { handedOver: SharedTask } }>(middle);
    // Whether we rebuild the handed-over task before the sweep reaches it is a race (the notice and
    // the forwarded message travel on different channels): if we lose, it fails with the rest.
    const survived = Task.from(first.handedOver).done();
    const error = await failureOf(b, { timeout: 20_000 });
    expect(error.errors).toHaveLength(survived ? 3 : 4);
    for (const failure of error.errors) expect(failure).toMatchObject({ code: 'ERR_WORKER_EXITED', threadId: child });
    expect(a.stats().pending).toBe(0);
  });
});

describe('piscina workers that die', () => {
  const filename = new URL('../dist/workers/piscina-task.js', import.meta.url).href;

  it('a task aborted through its signal (piscina kills the worker) fails the group task', async () => {
    const pool = new Piscina({ filename, minThreads: 1, maxThreads: 1 });
    try {
      const wg = new WaitGroup({ name: 'aborted' });
      const latch = new Int32Array(new SharedArrayBuffer(4));
      const abort = new AbortController();
      const run = pool.run({ group: wg.share(), latch }, { signal: abort.signal }).catch((error: unknown) => error);
      await Atomics.waitAsync(latch, 0, 0, 20_000).value;
      abort.abort();
      expect(await run).toMatchObject({ name: 'AbortError' });
      const error = await failureOf(wg, { timeout: 20_000 });
      expect(error.errors).toHaveLength(1);
      expect(error.errors[0]).toBeInstanceOf(WorkerExitedError);
      expect(error.origins[0]?.label).toBe('piscina task');
    } finally {
      await pool.destroy();
    }
  });

  it('pool.destroy() with tasks running fails every one of them', async () => {
    const pool = new Piscina({ filename, minThreads: 2, maxThreads: 2 });
    const wg = new WaitGroup({ name: 'destroyed' });
    const latch = new Int32Array(new SharedArrayBuffer(4));
    const runs = [1, 2].map(() => pool.run({ group: wg.share(), latch }).catch((error: unknown) => error));
    for (let seen = Atomics.load(latch, 0); seen < 2; seen = Atomics.load(latch, 0)) await Atomics.waitAsync(latch, 0, seen, 20_000).value;
    await pool.destroy();
    await Promise.all(runs);
    const error = await failureOf(wg, { timeout: 20_000 });
    expect(error.errors.map((e) => (e as WorkerExitedError).code)).toEqual(['ERR_WORKER_EXITED', 'ERR_WORKER_EXITED']);
    expect(new Set(error.errors.map((e) => (e as WorkerExitedError).threadId)).size).toBe(2);
  });
});
