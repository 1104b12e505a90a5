// Single-thread behaviour of sub-groups, links, cancellation, `using`, and share()/from() within
// one thread. Counting, waiting and go() are in unit-group.test.ts.
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Task, TaskGroupError, WaitGroup, WaitGroupError, WaitTimeoutError } from '../src/index.js';
import { sweep } from '../src/memory/sweep.js';
import * as L from '../src/memory/layout.js';
import { Tree } from '../src/memory/tree.js';
import { rejectionOf } from './helpers.js';

async function failureOf(wg: WaitGroup): Promise<TaskGroupError> {
  const error = await rejectionOf(wg.wait());
  expect(error).toBeInstanceOf(TaskGroupError);
  return error as TaskGroupError;
}

async function expectNotYet(wg: WaitGroup): Promise<void> {
  expect(await rejectionOf(wg.wait({ timeout: 0 }))).toBeInstanceOf(WaitTimeoutError);
}

function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WaitGroupError);
    return (error as WaitGroupError).code;
  }
  throw new Error('expected a throw');
}

describe('sub-groups', () => {
  it('count in the parent stats, and the parent waits for them', async () => {
    const root = new WaitGroup({ name: 'root' });
    const child = root.sub('child');
    const grandchild = child.sub('grandchild');
    const own = root.add();
    const inChild = child.add(2);
    const deep = grandchild.add();
    expect(root.stats()).toEqual({ added: 4, done: 0, failed: 0, pending: 4 });
    expect(child.stats()).toEqual({ added: 3, done: 0, failed: 0, pending: 3 });
    expect(grandchild.stats()).toEqual({ added: 1, done: 0, failed: 0, pending: 1 });
    expect(root.pendingTasks().map((t) => t.remaining)).toEqual([1, 2, 1]);
    expect(child.pendingTasks().map((t) => t.remaining)).toEqual([2, 1]);
    own.done();
    inChild.done();
    inChild.done();
    await expectNotYet(root);
    await expectNotYet(child);
    await expect(grandchild.sub().wait()).resolves.toBeUndefined();
    deep.done();
    await Promise.all([root.wait(), child.wait(), grandchild.wait()]);
    expect(root.stats()).toEqual({ added: 4, done: 4, failed: 0, pending: 0 });
  });

  it('their failures are reported by the parent wait, not by a sibling or the child of another', async () => {
    const root = new WaitGroup({ name: 'root' });
    const a = root.sub('a');
    const b = root.sub('b');
    const error = new Error('in a');
    a.add('job').done(error);
    const failure = await failureOf(root);
    expect(failure.errors).toEqual([error]);
    expect(failure.errors[0]).toBe(error);
    expect(failure.origins).toEqual([{ threadId, group: 'root/a', label: 'job' }]);
    expect((await failureOf(a)).errors).toEqual([error]);
    await expect(b.wait()).resolves.toBeUndefined();
    expect(root.stats().failed).toBe(1);
    expect(b.stats().failed).toBe(0);
  });
});

describe('the sweep after a thread\'s death', () => {
  it('skips a group whose id another thread has taken but whose record it has not written yet', () => {
    const wg = new WaitGroup({ name: 'creating' });
    const task = wg.add();
    const tree = Tree.attach(wg.share().tree);
    // Another thread took the id of a group past what the buffer holds, and has not grown it yet.
    const next = L.TREE_INITIAL_GROUPS + 1;
    Atomics.store(tree.words, L.T_GROUP_SEQ, next);
    expect(tree.published(next)).toBeUndefined();
    expect(tree.published(1)).toBeDefined();
    expect(() => {
      sweep(tree, threadId + 1000, 1);
    }).not.toThrow();
    expect(wg.stats()).toEqual({ added: 1, done: 0, failed: 0, pending: 1 });
    expect(task.done()).toBe(true);
  });
});

describe('links', () => {
  it('the parent waits for a linked group and reports its failures, but does not count its units', async () => {
    const parent = new WaitGroup({ name: 'parent' });
    const other = new WaitGroup({ name: 'other' });
    const task = other.add('linked');
    parent.link(other);
    expect(parent.stats()).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
    expect(parent.pendingTasks()).toMatchObject([{ label: 'linked', remaining: 1 }]);
    await expectNotYet(parent);
    const error = new Error('linked failure');
    task.done(error);
    const failure = await failureOf(parent);
    expect(failure.errors).toEqual([error]);
    expect(failure.origins).toEqual([{ threadId, group: 'other', label: 'linked' }]);
    expect(parent.stats()).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
  });

  it('refuses cycles and self-links with ERR_LINK_CYCLE, and linking twice is a no-op', async () => {
    const a = new WaitGroup();
    const b = new WaitGroup();
    const c = new WaitGroup();
    expect(codeOf(() => a.link(a))).toBe('ERR_LINK_CYCLE');
    a.link(b);
    b.link(c);
    expect(codeOf(() => b.link(a))).toBe('ERR_LINK_CYCLE');
    expect(codeOf(() => c.link(a))).toBe('ERR_LINK_CYCLE');
    a.link(b);
    expect(a.share().links).toHaveLength(1);
    expect(c.share().links).toHaveLength(0);
    await expect(a.wait()).resolves.toBeUndefined();
  });
});

describe('cancel', () => {
  it('sets cancelled, aborts the signal with the very reason, and completes nothing', async () => {
    const wg = new WaitGroup();
    const task = wg.add();
    const signal = wg.signal;
    let aborted: unknown = 'not yet';
    signal.addEventListener('abort', () => {
      aborted = signal.reason;
    });
    expect([wg.cancelled, signal.aborted]).toEqual([false, false]);
    const reason = { why: 'shutdown' };
    wg.cancel(reason);
    expect(wg.cancelled).toBe(true);
    expect(signal.aborted).toBe(true);
    expect(aborted).toBe(reason);
    wg.cancel(new Error('second cancel is ignored'));
    expect(wg.signal.reason).toBe(reason);
    expect(wg.stats().pending).toBe(1);
    await expectNotYet(wg);
    task.done();
    await expect(wg.wait()).resolves.toBeUndefined();
  });

  it('the default reason is an AbortError DOMException, also for a signal asked for after cancel()', () => {
    const wg = new WaitGroup();
    wg.cancel();
    const reason: unknown = wg.signal.reason;
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe('AbortError');
  });

  it('cancel(null) keeps null as the reason, as AbortController.abort(null) does', () => {
    const wg = new WaitGroup();
    wg.cancel(null);
    expect(wg.signal.reason).toBeNull();
  });

  it('a sub-group inherits its parent cancellation, not the other way round', () => {
    const root = new WaitGroup();
    const early = root.sub('signal asked for before');
    const earlySignal = early.signal;
    const sibling = root.sub();
    sibling.cancel('only the sibling');
    expect([root.cancelled, early.cancelled, root.signal.aborted]).toEqual([false, false, false]);
    const reason = new Error('root cancelled');
    root.cancel(reason);
    const late = root.sub('made after');
    for (const sub of [early, late, late.sub()]) {
      expect(sub.cancelled).toBe(true);
      expect(sub.signal.aborted).toBe(true);
      expect(sub.signal.reason).toBe(reason);
    }
    expect(earlySignal.aborted).toBe(true);
  });

  it('the `signal` option cancels the group when it aborts, or at once if it already has', () => {
    const controller = new AbortController();
    const wg = new WaitGroup({ signal: controller.signal });
    const signal = wg.signal;
    expect(wg.cancelled).toBe(false);
    const reason = { from: 'option' };
    controller.abort(reason);
    expect(wg.cancelled).toBe(true);
    expect(signal.reason).toBe(reason);
    const already = new WaitGroup({ signal: AbortSignal.abort(reason) });
    expect(already.cancelled).toBe(true);
    expect(already.signal.reason).toBe(reason);
  });

  it('cancelOnError cancels on the first failure, with that failure as the reason', () => {
    const wg = new WaitGroup({ cancelOnError: true });
    const child = wg.sub('child');
    wg.add().done();
    expect(wg.cancelled).toBe(false);
    const first = new Error('first');
    child.add().done(first);
    wg.go(() => {
      throw new Error('second');
    });
    expect([wg.cancelled, child.cancelled]).toEqual([true, true]);
    expect(wg.signal.reason).toBe(first);
    expect(child.signal.reason).toBe(first);
    const plain = new WaitGroup();
    plain.add().done(new Error('no cancel'));
    expect(plain.cancelled).toBe(false);
  });
});

describe('dispose and sharing in one thread', () => {
  it('`using` completes a task at the end of its scope', async () => {
    const wg = new WaitGroup();
    {
      using task = wg.add('scoped');
      expect(task.remaining).toBe(1);
      expect(wg.stats().pending).toBe(1);
    }
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 0, pending: 0 });
    await expect(wg.wait()).resolves.toBeUndefined();
  });

  it('WaitGroup.from(share()) returns the same object, for roots, sub-groups and cloned values', () => {
    const wg = new WaitGroup();
    const sub = wg.sub('s').sub('t');
    expect(WaitGroup.from(wg.share())).toBe(wg);
    expect(WaitGroup.from(sub.share())).toBe(sub);
    expect(WaitGroup.from(structuredClone(wg.share()))).toBe(wg);
    expect(WaitGroup.from(structuredClone(sub.share()))).toBe(sub);
  });

  it('Task.from(share()) is another handle on the same task', () => {
    const wg = new WaitGroup();
    const task = wg.add(3, 'shared');
    const copy = Task.from(structuredClone(task.share()));
    expect(copy).not.toBe(task);
    expect(copy.label).toBe('shared');
    expect(copy.remaining).toBe(3);
    expect(copy.done()).toBe(true);
    expect(task.remaining).toBe(2);
    expect(task.done()).toBe(true);
    expect(copy.done()).toBe(true);
    expect([task.done(), copy.done(), task.remaining]).toEqual([false, false, 0]);
    expect(Task.from(task.share()).done()).toBe(false);
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
  });

  it('a stale handle never completes units of the task that reuses its slot', () => {
    const wg = new WaitGroup();
    const old = wg.add();
    const shared = old.share();
    old.done();
    const next = wg.add();
    expect(Task.from(shared).done()).toBe(false);
    expect(old.done()).toBe(false);
    expect(next.remaining).toBe(1);
    expect(wg.stats().pending).toBe(1);
  });
});
