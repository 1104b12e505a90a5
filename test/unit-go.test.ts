// Single-thread behaviour of go(), tryGo() and the `limit` option.
import { describe, expect, it } from 'vitest';
import { WaitGroup } from '../src/index.js';
import { expectNotYet, failureOf } from './outcomes.js';

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

describe('go()', () => {
  it('passes the group signal, and counts sync and async successes', async () => {
    const wg = new WaitGroup();
    let received: AbortSignal | undefined;
    wg.go((signal) => {
      received = signal;
    });
    expect(received).toBe(wg.signal);
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 0, pending: 0 });
    const later = deferred();
    wg.go(() => later.promise, 'async');
    expect(wg.pendingTasks()).toMatchObject([{ label: 'async', remaining: 1 }]);
    await expectNotYet(wg);
    later.resolve();
    await expect(wg.wait()).resolves.toBeUndefined();
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it('a sync throw, a rejection and `throw undefined` are failures', async () => {
    const wg = new WaitGroup();
    const thrown = new Error('sync');
    const rejected = new RangeError('async');
    wg.go(() => {
      throw thrown;
    }, 'sync');
    wg.go(() => Promise.reject(rejected), 'async');
    wg.go(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
      throw undefined;
    }, 'undefined');
    // Record order: the two synchronous throws at once, the rejection a microtask later.
    const error = await failureOf(wg);
    expect(error.errors).toHaveLength(3);
    expect(error.errors[0]).toBe(thrown);
    expect(error.errors[1]).toBeUndefined();
    expect(error.errors[2]).toBe(rejected);
    expect(error.origins.map((o) => o.label)).toEqual(['sync', 'undefined', 'async']);
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 3, pending: 0 });
  });

  it('a thenable whose then() throws fails the task instead of throwing out of go()', async () => {
    const wg = new WaitGroup();
    const problem = new Error('then threw');
    const thenable = {
      then(): never {
        throw problem;
      },
    };
    expect(() => wg.go(() => thenable)).not.toThrow();
    expect((await failureOf(wg)).errors).toEqual([problem]);
  });
});

describe('limit', () => {
  it('runs at most `limit` functions at once, the rest in FIFO order, and all of them', async () => {
    const wg = new WaitGroup({ limit: 2 });
    const gates = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    gates.forEach((gate, i) => {
      wg.go(() => {
        started.push(i);
        return gate.promise;
      });
    });
    expect(started).toEqual([0, 1]);
    expect(wg.stats().pending).toBe(5);
    gates[1]?.resolve();
    await gates[1]?.promise;
    await expectNotYet(wg);
    expect(started).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve();
    await wg.wait();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(wg.stats()).toEqual({ added: 5, done: 5, failed: 0, pending: 0 });
  });

  it('tryGo() returns false and adds nothing while `limit` functions run', async () => {
    const wg = new WaitGroup({ limit: 1 });
    const gate = deferred();
    expect(wg.tryGo(() => gate.promise)).toBe(true);
    const stats = wg.stats();
    let ran = false;
    expect(
      wg.tryGo(() => {
        ran = true;
      }),
    ).toBe(false);
    expect(ran).toBe(false);
    expect(wg.stats()).toEqual(stats);
    gate.resolve();
    await wg.wait();
    expect(
      wg.tryGo(() => {
        ran = true;
      }),
    ).toBe(true);
    expect(ran).toBe(true);
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it('runs a long queue of synchronous functions queued behind an async one', async () => {
    const wg = new WaitGroup({ limit: 1 });
    const gate = deferred();
    wg.go(() => gate.promise);
    const count = 10_000;
    let ran = 0;
    for (let i = 0; i < count; i++) {
      wg.go(() => {
        ran++;
      });
    }
    expect(ran).toBe(0);
    gate.resolve();
    // go() put its then() on the gate first: the whole queue has been drained when this await returns.
    await gate.promise;
    expect(ran).toBe(count);
    await wg.wait({ timeout: 10_000 });
    expect(wg.stats()).toEqual({ added: count + 1, done: count + 1, failed: 0, pending: 0 });
  });
});
