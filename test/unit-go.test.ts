// Single-thread behaviour of go(), tryGo() and the `limit` option.
import { AsyncLocalStorage } from 'node:async_hooks';
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
    expect(wg.stats()).toEqual({ added: 1, done: 0, failed: 0, pending: 1 });
    await wg.wait();
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
    // Record order: the two synchronous throws as they start, the rejection a microtask later.
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
    expect(started).toEqual([]);
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    // Two running, and the head of the queue (the others have no task yet).
    expect(wg.stats().pending).toBe(3);
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
    await wg.wait();
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
    await wg.wait({ timeout: 10_000 });
    expect(ran).toBe(count);
    expect(wg.stats()).toEqual({ added: count + 1, done: count + 1, failed: 0, pending: 0 });
  });
});

describe('when a function starts (issue 12)', () => {
  it('starts every function in a microtask after go() or tryGo() returns, never inside it', async () => {
    for (const options of [{}, { limit: 1 }, { limit: 2 }]) {
      const wg = new WaitGroup(options);
      const order: string[] = [];
      wg.go(() => order.push('go'));
      order.push('go() returned');
      if (options.limit !== 1) {
        expect(wg.tryGo(() => order.push('tryGo'))).toBe(true);
        order.push('tryGo() returned');
      }
      // A slot is free (or taken by the first function, not started yet): it is held, though.
      expect(wg.stats()).toMatchObject({ added: options.limit === 1 ? 1 : 2, done: 0 });
      await Promise.resolve();
      expect(order).toEqual(options.limit === 1 ? ['go() returned', 'go'] : ['go() returned', 'tryGo() returned', 'go', 'tryGo']);
      await wg.wait();
    }
  });

  it('runs each function in the async context of its go() call, queued or not', async () => {
    const storage = new AsyncLocalStorage<string>();
    const wg = new WaitGroup({ limit: 1 });
    const gate = deferred();
    const seen: (string | undefined)[] = [];
    const record = (): void => {
      seen.push(storage.getStore());
    };
    storage.run('first', () => {
      wg.go(async () => {
        record();
        await gate.promise;
      });
    });
    // Queued behind the first: each starts when the one before it finishes, in another context.
    for (const name of ['second', 'third']) storage.run(name, () => wg.go(record));
    wg.go(record);
    storage.run('fifth', () => wg.go(record));
    storage.run('the gate', () => gate.resolve());
    await wg.wait();
    expect(seen).toEqual(['first', 'second', 'third', undefined, 'fifth']);
  });
});

describe('limit and cancelOnError (issue 12)', () => {
  it('a failure cancels the group before its limit slot goes to the next function', async () => {
    const wg = new WaitGroup({ limit: 1, cancelOnError: true });
    const gate = deferred();
    const failure = new Error('first');
    wg.go(async () => {
      await gate.promise;
      throw failure;
    }, 'fails');
    const seen: boolean[][] = [];
    for (let i = 0; i < 3; i++) {
      wg.go((signal) => {
        seen.push([wg.cancelled, signal.aborted]);
      }, `queued ${i}`);
    }
    await expectNotYet(wg);
    expect(seen).toEqual([]);
    gate.resolve();
    const error = await failureOf(wg);
    expect(error.errors).toEqual([failure]);
    expect(seen).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
    expect(wg.stats()).toEqual({ added: 4, done: 4, failed: 1, pending: 0 });
  });
});

describe('a queue of functions waiting for the limit (issue 12)', () => {
  it('go() of 100,000 functions under limit 8 takes no task slot per queued function', async () => {
    const wg = new WaitGroup({ limit: 8 });
    const n = 100_000;
    let running = 0;
    let most = 0;
    let ran = 0;
    const fn = async (): Promise<void> => {
      most = Math.max(most, ++running);
      await Promise.resolve();
      running--;
      ran++;
    };
    for (let i = 0; i < n; i++) wg.go(fn, `item ${i}`);
    // 8 functions hold a limit slot, and the head of the queue holds the group open for the rest.
    expect(wg.pendingTasks().map((task) => task.label).sort()).toEqual(Array.from({ length: 9 }, (_, i) => `item ${i}`));
    expect(wg.stats()).toEqual({ added: 9, done: 0, failed: 0, pending: 9 });
    await expectNotYet(wg);
    await wg.wait();
    expect([ran, most]).toEqual([n, 8]);
    expect(wg.stats()).toEqual({ added: n, done: n, failed: 0, pending: 0 });
  });

  it('never lets a wait pass while functions are queued, and counts each once it heads the queue', async () => {
    const wg = new WaitGroup({ limit: 1, capacity: 4 });
    const gates = Array.from({ length: 6 }, () => deferred());
    gates.forEach((gate, i) => {
      wg.go(() => gate.promise, `fn ${i}`);
    });
    await Promise.resolve();
    for (const [i, gate] of gates.entries()) {
      // fn i runs; fn i + 1, if any, heads the queue.
      expect(wg.pendingTasks().map((task) => task.label).sort()).toEqual([`fn ${i}`, `fn ${i + 1}`].slice(0, i === 5 ? 1 : 2));
      await expectNotYet(wg);
      gate.resolve();
      await gate.promise;
    }
    await wg.wait();
    expect(wg.stats()).toEqual({ added: 6, done: 6, failed: 0, pending: 0 });
  });

  it('a queued function heads the queue with the slot its predecessor freed: a full tree does not fail it', async () => {
    const wg = new WaitGroup({ limit: 1, capacity: 3 });
    const gate = deferred();
    let ran = 0;
    wg.go(() => gate.promise, 'running');
    wg.go(() => ran++, 'head');
    wg.go(() => ran++, 'behind');
    const other = wg.add('fills the last slot');
    expect(() => wg.add('one too many')).toThrow(expect.objectContaining({ code: 'ERR_CAPACITY_EXCEEDED' }) as Error);
    await Promise.resolve(); // 'running' starts
    gate.resolve();
    await gate.promise;
    other.done();
    // The completion of 'running' gives its slot back before the queue moves on: 'behind' takes it.
    await wg.wait();
    expect(ran).toBe(2);
    expect(wg.stats()).toEqual({ added: 4, done: 4, failed: 0, pending: 0 });
  });
});
