// Single-thread behaviour of WaitGroup and Task: counting, done(), and the outcomes of wait() and
// waitSync(). go() and limit are in unit-go.test.ts; sub-groups, links, cancellation and sharing
// in unit-group-tree.test.ts.
import { threadId } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { TaskGroupError, WaitGroup, WaitTimeoutError } from '../src/index.js';
import { rejectionOf } from './helpers.js';
import { expectNotYet, failureOf } from './outcomes.js';

describe('counting', () => {
  it('add() and done() move added, done and pending by one unit', () => {
    const wg = new WaitGroup();
    expect(wg.stats()).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
    const a = wg.add('a');
    const b = wg.add();
    expect(wg.stats()).toEqual({ added: 2, done: 0, failed: 0, pending: 2 });
    expect(a.label).toBe('a');
    expect(b.label).toBeUndefined();
    expect(a.done()).toBe(true);
    expect(wg.stats()).toEqual({ added: 2, done: 1, failed: 0, pending: 1 });
    expect(b.done()).toBe(true);
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it('add(count) needs count done() calls, then done() returns false', () => {
    const wg = new WaitGroup();
    const task = wg.add(3, 'three');
    expect(task.remaining).toBe(3);
    expect(wg.pendingTasks()).toMatchObject([{ label: 'three', remaining: 3, threadId }]);
    expect([task.done(), task.remaining, task.done(), task.remaining, task.done(), task.remaining]).toEqual([true, 2, true, 1, true, 0]);
    expect(task.done()).toBe(false);
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
    expect(wg.pendingTasks()).toEqual([]);
  });

  it('done() after completion, with or without an error, changes nothing', () => {
    const wg = new WaitGroup();
    const task = wg.add();
    const other = wg.add(2, 'other');
    task.done();
    const stats = wg.stats();
    const pending = wg.pendingTasks();
    expect(task.done()).toBe(false);
    expect(task.done(new Error('late'))).toBe(false);
    expect(wg.stats()).toEqual(stats);
    expect(wg.pendingTasks()).toEqual(pending);
    expect(other.remaining).toBe(2);
  });

  it('done(undefined) and done(null) succeed', async () => {
    const wg = new WaitGroup();
    const task = wg.add(2);
    expect(task.done(undefined)).toBe(true);
    expect(task.done(null)).toBe(true);
    expect(wg.stats().failed).toBe(0);
    await expect(wg.wait()).resolves.toBeUndefined();
  });

  it('done(err) on a task of 3 units fails that unit only', async () => {
    const wg = new WaitGroup();
    const task = wg.add(3);
    const error = new Error('one unit');
    expect(task.done(error)).toBe(true);
    expect(task.remaining).toBe(2);
    expect(wg.stats()).toEqual({ added: 3, done: 1, failed: 1, pending: 2 });
    expect(task.done()).toBe(true);
    expect(task.done()).toBe(true);
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 1, pending: 0 });
    expect((await failureOf(wg)).errors).toEqual([error]);
  });
});

describe('wait()', () => {
  it('is woken by each failure while the group runs, once per sleep, and rebuilds it before it sleeps again', async () => {
    const wg = new WaitGroup({ name: 'early' });
    const hold = wg.add('hold');
    const calls: (() => void)[] = [];
    const original = wg.prefetch.bind(wg);
    const prefetch = vi.spyOn(wg, 'prefetch').mockImplementation(() => {
      original();
      calls.shift()?.();
    });
    const nextPrefetch = (): Promise<void> => new Promise((resolve) => calls.push(resolve));
    const sleeping = nextPrefetch();
    const outcome = wg.wait().catch((e: unknown) => e);
    await sleeping;
    expect(prefetch).toHaveBeenCalledTimes(1);
    // Two failures recorded while the waiter sleeps: the first wakes it, the second finds it awake.
    const woken = nextPrefetch();
    wg.add('a').done(new Error('a'));
    wg.add('b').done(new Error('b'));
    await woken;
    expect(prefetch).toHaveBeenCalledTimes(2);
    await expectNotYet(wg);
    hold.done();
    const error = await outcome;
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(['a', 'b']);
    expect(prefetch).toHaveBeenCalledTimes(2);
  });


  it('resolves at once with nothing pending, and only after the last done() otherwise', async () => {
    const wg = new WaitGroup();
    await expect(wg.wait()).resolves.toBeUndefined();
    const task = wg.add(2);
    let resolved = false;
    const waiting = wg.wait().then(() => {
      resolved = true;
    });
    task.done();
    await expectNotYet(wg);
    expect(resolved).toBe(false);
    task.done();
    await waiting;
    expect(resolved).toBe(true);
  });

  it('rejects with every failure in record order, the first as cause, with origins and the very objects', async () => {
    const wg = new WaitGroup({ name: 'jobs' });
    const [a, b, c] = [wg.add('a'), wg.add(), wg.add('c')];
    const errors = [new TypeError('first'), { reason: 'second' }, 'third'];
    c.done(errors[0]);
    a.done(errors[1]);
    b.done(errors[2]);
    const error = await failureOf(wg);
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.code).toBe('ERR_TASKS_FAILED');
    expect(error.errors).toHaveLength(3);
    error.errors.forEach((e, i) => expect(e).toBe(errors[i]));
    expect(error.cause).toBe(errors[0]);
    expect(error.omitted).toBe(0);
    expect(error.origins).toEqual([
      { threadId, group: 'jobs', label: 'c' },
      { threadId, group: 'jobs', label: 'a' },
      { threadId, group: 'jobs' },
    ]);
  });

  it('failures are cumulative: a later wait reports them again, with the new ones', async () => {
    const wg = new WaitGroup();
    const first = new Error('1');
    wg.add().done(first);
    expect((await failureOf(wg)).errors).toEqual([first]);
    const second = new Error('2');
    wg.add().done(second);
    wg.add().done();
    const again = await failureOf(wg);
    expect(again.errors).toHaveLength(2);
    expect(again.errors[0]).toBe(first);
    expect(again.errors[1]).toBe(second);
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 2, pending: 0 });
  });

  it('a group can be reused after a wait', async () => {
    const wg = new WaitGroup();
    wg.add().done();
    await wg.wait();
    const task = wg.add('second round');
    await expectNotYet(wg);
    task.done();
    await expect(wg.wait()).resolves.toBeUndefined();
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it('times out with WaitTimeoutError listing the pending tasks; waitSync too', async () => {
    const wg = new WaitGroup();
    wg.add(2, 'slow');
    wg.add();
    for (const error of [await rejectionOf(wg.wait({ timeout: 0 })), (() => {
      try {
        wg.waitSync({ timeout: 0 });
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })()]) {
      expect(error).toBeInstanceOf(WaitTimeoutError);
      const timeout = error as WaitTimeoutError;
      expect(timeout.code).toBe('ERR_WAIT_TIMEOUT');
      expect(timeout.pending.map((t) => [t.label, t.remaining, t.threadId])).toEqual([
        ['slow', 2, threadId],
        [undefined, 1, threadId],
      ]);
      expect(timeout.pending.every((t) => typeof t.since === 'number' && t.since <= Date.now())).toBe(true);
    }
    expect(wg.stats().pending).toBe(3);
  });

  it('rejects with the signal reason when the signal aborts, and leaves the group as it was', async () => {
    const wg = new WaitGroup();
    const task = wg.add();
    const controller = new AbortController();
    const reason = { why: 'stop waiting' };
    const waiting = rejectionOf(wg.wait({ signal: controller.signal }));
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    expect(await rejectionOf(wg.wait({ signal: controller.signal }))).toBe(reason);
    expect(wg.stats()).toEqual({ added: 1, done: 0, failed: 0, pending: 1 });
    expect(wg.cancelled).toBe(false);
    task.done();
    await expect(wg.wait()).resolves.toBeUndefined();
  });

  it('waitSync returns with nothing pending and throws TaskGroupError on failure', () => {
    // The main thread opts in to a wait without a timeout (see main-thread-block.test.ts).
    const wg = new WaitGroup();
    wg.add().done();
    expect(wg.waitSync({ blockMainThread: true })).toBeUndefined();
    const error = new Error('sync');
    wg.add().done(error);
    expect(() => wg.waitSync({ blockMainThread: true })).toThrow(TaskGroupError);
    try {
      wg.waitSync({ blockMainThread: true });
    } catch (thrown) {
      expect((thrown as TaskGroupError).errors).toEqual([error]);
    }
  });
});
