// A caller's own abort of a TrackedPool#run() (piscina's `signal`) is a cancellation of that pool
// task, not a failure of the group; `handled: true` returns a failure to the caller without
// recording it; failureOrigin() reads what run() rejects with.
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskGroupError, WaitGroup, failureOrigin } from '../src/index.js';
import { TrackedPool } from '../src/integrations/piscina.js';
import type { PoolJob } from '../workers/pool-task.js';
import { rejectionOf } from './helpers.js';
import { failureOf } from './outcomes.js';

const filename = new URL('../dist/workers/pool-task.js', import.meta.url).href;
const pools: Piscina[] = [];

function pool(threads = 1): Piscina {
  const created = new Piscina({ filename, minThreads: threads, maxThreads: threads, atomics: 'async' });
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

function cell(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

async function reached(latch: Int32Array, count: number): Promise<void> {
  for (let seen = Atomics.load(latch, 0); seen < count; seen = Atomics.load(latch, 0)) {
    await Atomics.waitAsync(latch, 0, seen, 20_000).value;
  }
}

function open(gate: Int32Array): void {
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
}

describe("a caller's abort", () => {
  it('of a running task rejects run() with the reason, records no failure, and does not cancel a cancelOnError group', async () => {
    const wg = new WaitGroup({ name: 'service', cancelOnError: true });
    const tracked = new TrackedPool<PoolJob>(pool(), wg);
    const latch = cell();
    const abort = new AbortController();
    const reason = new Error('the client went away');
    const run = rejectionOf(tracked.run({ kind: 'hold', latch }, { signal: abort.signal, label: 'request' }));
    await reached(latch, 1);
    abort.abort(reason);
    expect(await run).toBe(reason);
    await wg.wait({ timeout: 20_000 });
    expect(wg.cancelled).toBe(false);
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 0, pending: 0 });
    // The service goes on: piscina replaced the worker it killed.
    expect(await tracked.run({ kind: 'echo', value: 'next' })).toBe('next');
  });

  it('of a queued task does the same', async () => {
    const wg = new WaitGroup({ name: 'queue', cancelOnError: true });
    const tracked = new TrackedPool<PoolJob>(pool(), wg);
    const latch = cell();
    const gate = cell();
    const busy = tracked.run({ kind: 'gate', latch, gate });
    await reached(latch, 1);
    const abort = new AbortController();
    const queued = rejectionOf(tracked.run({ kind: 'echo', value: 'never' }, { signal: abort.signal }));
    abort.abort();
    expect(await queued).toMatchObject({ name: 'AbortError' });
    expect(await queued).toBe(abort.signal.reason);
    open(gate);
    expect(await busy).toBe('opened');
    await wg.wait({ timeout: 20_000 });
    expect(wg.cancelled).toBe(false);
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it('given before run() rejects with the reason and registers nothing', async () => {
    const wg = new WaitGroup({ name: 'early' });
    const tracked = new TrackedPool<PoolJob>(pool(), wg);
    const reason = new Error('already gone');
    expect(await rejectionOf(tracked.run({ kind: 'echo', value: 1 }, { signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(wg.stats()).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
  });
});

describe('handled: true', () => {
  it("returns the task function's failure to the caller in full, without recording it", async () => {
    const wg = new WaitGroup({ name: 'handled', cancelOnError: true });
    const piscina = pool();
    const tracked = new TrackedPool<PoolJob>(piscina, wg);
    const error = await rejectionOf(tracked.run({ kind: 'fail' }, { handled: true, label: 'bad request' }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'E_POOL', cause: expect.any(TypeError) as unknown });
    expect(failureOrigin(error)).toEqual({ threadId: piscina.threads[0]?.threadId, group: 'handled', label: 'bad request' });
    await wg.wait({ timeout: 20_000 });
    expect(wg.cancelled).toBe(false);
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 0, pending: 0 });
  });

  it('is checked: a boolean or undefined', async () => {
    const tracked = new TrackedPool<PoolJob>(pool(), new WaitGroup());
    const options = { handled: 'yes' } as unknown as { handled: boolean };
    await expect(tracked.run({ kind: 'echo', value: 1 }, options)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('failureOrigin() of what run() rejects with', () => {
  it('gives the thread, group and label of a failure the group recorded', async () => {
    const wg = new WaitGroup({ name: 'origins' });
    const piscina = pool();
    const tracked = new TrackedPool<PoolJob>(piscina, wg);
    const error = await rejectionOf(tracked.run({ kind: 'fail' }, { label: 'fails' }));
    const origin = { threadId: piscina.threads[0]?.threadId, group: 'origins', label: 'fails' };
    expect(failureOrigin(error)).toEqual(origin);
    const failure = await failureOf(wg);
    expect(failure).toBeInstanceOf(TaskGroupError);
    expect(failure.origins).toEqual([origin]);
  });
});
