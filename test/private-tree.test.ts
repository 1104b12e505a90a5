// Private trees (issue #11, finding 1): a tree starts in small fixed-length buffers known to its
// thread only, moves to larger ones as it fills, and to its shared form at its first share. Every
// handle made before a move (tasks, sub-groups, waits, signals, `limit` queues) works after it, in
// this thread and, once shared, in others; a tree that fits the compact budget never moves.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Task, TaskGroupError, WaitGroup, WaitGroupError, WorkerExitedError, failureOrigin, type SharedWaitGroup, type WaitGroupStats } from '../src/index.js';
import * as L from '../src/memory/layout.js';
import { Tree } from '../src/memory/tree.js';
import { watching } from '../src/platform/exits.js';
import { newMarks } from '../workers/sync.js';
import { rejectionOf, startAgent, startFixture, terminateAll } from './helpers.js';

afterEach(terminateAll);

const DEFAULTS = { capacity: L.DEFAULT_CAPACITY, maxGroups: L.DEFAULT_MAX_GROUPS, maxFailures: L.DEFAULT_MAX_FAILURES, failureBytes: L.DEFAULT_FAILURE_BYTES };

function mappings(): number {
  return readFileSync('/proc/self/maps', 'latin1').split('\n').length - 1;
}

function buffersOf(wg: WaitGroup): SharedArrayBuffer[] {
  const { tree, slots, log } = wg.share().tree;
  return [tree, slots, log];
}

async function failuresOf(wait: Promise<unknown>): Promise<TaskGroupError> {
  const error = await rejectionOf(wait);
  expect(error).toBeInstanceOf(TaskGroupError);
  expect((error as TaskGroupError).code).toBe('ERR_TASKS_FAILED');
  return error as TaskGroupError;
}

describe('a private tree in memory', () => {
  it('starts in small fixed-length buffers and moves to larger ones as it fills, until its first share', () => {
    const tree = Tree.create(DEFAULTS);
    expect(tree.isPrivate).toBe(true);
    const start = tree.shared;
    for (const buffer of [start.tree, start.slots, start.log]) expect(buffer.growable).toBe(false);
    expect(start.slots.byteLength).toBe(L.slotsBytes(L.COMPACT_SLOTS));
    expect(start.tree.byteLength).toBe((L.GROUPS_BASE + L.COMPACT_GROUPS * L.GROUP_WORDS) * 4);
    expect(start.tree.byteLength + start.slots.byteLength + start.log.byteLength).toBeLessThan(16 * 1024);

    const root = tree.addGroup(0, 0, 0, () => 'root');
    for (let i = 0; i < 10; i++) tree.addGroup(root, 0, 0, () => `sub ${i}`);
    const moved = tree.shared;
    expect(moved.tree).not.toBe(start.tree);
    expect(moved.tree.growable).toBe(false);
    expect(tree.groups).toBe(11);
    expect(tree.nameOf(11)).toBe('sub 9');
    expect(tree.parentOf(11)).toBe(root);

    const shared = tree.publish();
    expect(tree.isPrivate).toBe(false);
    expect([shared.tree.growable, shared.slots.growable, shared.log.growable]).toEqual([true, true, true]);
    expect(shared.tree.maxByteLength).toBe((L.GROUPS_BASE + DEFAULTS.maxGroups * L.GROUP_WORDS) * 4);
    expect(tree.publish()).toEqual(shared);
    expect(tree.nameOf(11)).toBe('sub 9');
  });

  it('keeps each buffer whose full size fits FIXED_MAX_BYTES fixed at that size from the start: it never moves', () => {
    const small = { capacity: 290, maxGroups: 90, maxFailures: 100, failureBytes: 60_000 };
    const tree = Tree.create(small);
    const start = tree.shared;
    expect([start.tree.byteLength, start.slots.byteLength, start.log.byteLength]).toEqual([
      (L.GROUPS_BASE + 90 * L.GROUP_WORDS) * 4,
      L.slotsBytes(290),
      100 * L.LOG_ENTRY_WORDS * 4 + 60_000,
    ]);
    for (let i = 0; i < 90; i++) tree.addGroup(0, 0, 0, () => `g ${i}`);
    expect(tree.publish()).toEqual(start);
    const { tree: records, slots, log } = tree.shared;
    expect([records.growable, slots.growable, log.growable]).toEqual([false, false, false]);
  });
});

describe('handles made before a move work after it, in the same thread', () => {
  it('tasks, sub-groups, a sleeping wait and a signal survive moves of the slots, the tree and the log', async () => {
    const wg = new WaitGroup({ name: 'root' });
    const first = wg.add('first');
    const sub = wg.sub('early');
    const early = sub.add(3, 'early task');
    const signal = sub.signal;
    let settled = false;
    const waiting = wg.wait().finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);

    // Slots: far more tasks than the compact arena holds.
    const many = Array.from({ length: 1000 }, (_, i) => wg.add(`many ${i}`));
    // Tree: sub-groups past the compact records, nested too.
    const subs = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? wg : sub).sub(`s${i}`));
    const nested = subs.map((s, i) => s.add(`in s${i}`));
    // Log: failures past the compact index and data area, one of them large.
    for (let i = 0; i < 30; i++) wg.add(`fail ${i}`).done(new Error(i === 7 ? 'x'.repeat(10_000) : `failure ${i}`));

    expect(first.done()).toBe(true);
    expect(early.done()).toBe(true);
    expect(early.remaining).toBe(2);
    for (const task of many) task.done();
    for (const task of nested) task.done();
    expect(sub.stats()).toEqual({ added: 3 + 20, done: 1 + 20, failed: 0, pending: 2 });
    expect(settled).toBe(false);
    sub.cancel('stop');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('stop');
    expect(early.done()).toBe(true);
    expect(early.done()).toBe(true);
    expect(early.done()).toBe(false);

    const error = await failuresOf(waiting);
    expect(error.errors).toHaveLength(30);
    expect((error.errors[7] as Error).message).toBe('x'.repeat(10_000));
    expect(failureOrigin(error.errors[29])).toMatchObject({ group: 'root', label: 'fail 29' });
    expect(wg.stats()).toEqual({ added: 1 + 3 + 1000 + 40 + 30, done: 1 + 3 + 1000 + 40 + 30, failed: 30, pending: 0 });
    expect(wg.pendingTasks()).toEqual([]);
  });

  it('a go() queued behind the limit starts when the slot frees, though the tree moved while it slept', async () => {
    const wg = new WaitGroup({ limit: 1 });
    let release = (): void => undefined;
    const order: string[] = [];
    wg.go(
      () =>
        new Promise<void>((resolve) => {
          order.push('first');
          release = resolve;
        }),
    );
    wg.go(() => {
      order.push('second');
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['first']);
    const subs = Array.from({ length: 20 }, (_, i) => wg.sub(`s${i}`));
    expect(subs).toHaveLength(20);
    release();
    await wg.wait();
    expect(order).toEqual(['first', 'second']);
  });

  it("journals operations made after a move in the tree's current memory, where a sweeper reads them", () => {
    const wg = new WaitGroup();
    const sub = wg.sub('early');
    for (let i = 0; i < 10; i++) wg.sub(`moves the tree ${i}`);
    for (let i = 0; i < 100; i++) wg.add(`moves the slots ${i}`);
    const task = sub.add(7, 'seven');
    const tree = Tree.attach(wg.share().tree);
    const journal = tree.lane.journal;
    expect([journal[L.E_GROUP], journal[L.E_UNITS], journal[L.E_STEP]]).toEqual([sub.share().group, 7, L.OP_NONE]);
    task.done(new Error('after the moves'));
    expect([journal[L.E_UNITS], journal[L.E_REMAINING], journal[L.E_FLAGS]]).toEqual([1, 7, L.OPF_FAILED]);
  });

  it('WaitGroup.from() of its share returns the objects made while private, sub-groups included', () => {
    const wg = new WaitGroup();
    const sub = wg.sub('a');
    const deeper = sub.sub('b');
    for (let i = 0; i < 10; i++) wg.sub(`more ${i}`);
    expect(WaitGroup.from(deeper.share())).toBe(deeper);
    expect(WaitGroup.from(sub.share())).toBe(sub);
    expect(WaitGroup.from(wg.share())).toBe(wg);
  });

  it('listens for worker exits only once shared: a private tree opens no channel', () => {
    const before = watching();
    const groups = Array.from({ length: 100 }, () => new WaitGroup());
    for (const wg of groups) wg.add().done();
    expect(watching()).toBe(before);
    groups[0]?.share();
    groups[0]?.share();
    expect(watching()).toBe(before + 1);
  });
});

describe('a tree that grew while private, shared with real workers', () => {
  it('10,000 pending tasks, 100 sub-groups and failures made privately are completed and failed from a worker', async () => {
    const wg = new WaitGroup({ name: 'grown' });
    const tasks = Array.from({ length: 10_000 }, (_, i) => wg.add(`t${i}`));
    const subs = Array.from({ length: 100 }, (_, i) => wg.sub(`s${i}`));
    const subTasks = subs.map((sub, i) => sub.add(2, `s${i} task`));
    for (let i = 0; i < 200; i++) wg.add(`private failure ${i}`).done(new Error(`private ${i}`));
    expect(wg.stats()).toEqual({ added: 10_000 + 200 + 200, done: 200, failed: 200, pending: 10_200 });

    const shared = wg.share();
    for (const buffer of [shared.tree.tree, shared.tree.slots, shared.tree.log]) expect(buffer.growable).toBe(true);
    const worker = startFixture('moved', {
      mode: 'finish',
      group: shared,
      tasks: tasks.map((task) => task.share()),
      fail: [0, 5000, 9999],
      subs: subs.map((sub) => sub.share()),
      hold: 2,
    });
    // Handles made before the move, completed here while the worker completes the others.
    for (const task of subTasks) task.done();
    const [message] = (await once(worker, 'message')) as [{ completed: number }];
    expect(message.completed).toBe(10_000);
    for (const task of subTasks) expect(task.done()).toBe(true);
    for (const task of tasks) expect(task.done()).toBe(false);
    expect(wg.stats()).toEqual({ added: 10_000 + 200 + 200 + 100 + 2, done: 10_000 + 200 + 200 + 100, failed: 200 + 3 + 100, pending: 2 });

    // The worker holds two tasks: its exit fails them (the tree is watched since its share).
    const waiting = wg.wait();
    await worker.terminate();
    const error = await failuresOf(waiting);
    expect(error.errors).toHaveLength(200 + 3 + 100 + 2);
    const exited = error.errors.filter((e) => e instanceof WorkerExitedError);
    expect(exited.map((e) => e.code)).toEqual(['ERR_WORKER_EXITED', 'ERR_WORKER_EXITED']);
    expect(error.errors.filter((e) => e instanceof RangeError).map((e) => e.message)).toEqual(['task 0', 'task 5000', 'task 9999']);
    expect(error.errors.filter((e) => e instanceof TypeError)).toHaveLength(100);
    expect(wg.stats().pending).toBe(0);
  });

  it("a worker's group that grew while private is shared with the main thread, and swept when the worker exits", async () => {
    const worker = startFixture('moved', { mode: 'own', tasks: 500, subs: 20, failures: 20 });
    const [message] = (await once(worker, 'message')) as [{ group: SharedWaitGroup; stats: WaitGroupStats }];
    expect(message.stats).toEqual({ added: 540, done: 20, failed: 20, pending: 520 });
    const wg = WaitGroup.from(message.group);
    expect(wg.stats()).toEqual(message.stats);
    expect(wg.pendingTasks()).toHaveLength(520);
    const waiting = wg.wait();
    await worker.terminate();
    const error = await failuresOf(waiting);
    expect(error.errors.filter((e) => e instanceof WorkerExitedError)).toHaveLength(520);
    expect(error.errors.filter((e) => !(e instanceof WorkerExitedError)).map((e) => (e as Error).message)).toEqual(
      Array.from({ length: 20 }, (_, i) => `worker failure ${i}`),
    );
    expect(wg.stats()).toEqual({ added: 540, done: 540, failed: 540, pending: 0 });
  });

  it('a signal and a wait begun while private see a cancel and completions made by a worker after the share', async () => {
    const wg = new WaitGroup({ name: 'watched' });
    const signal = wg.signal;
    const task = wg.add('for the worker');
    const waiting = wg.wait();
    for (let i = 0; i < 20; i++) wg.sub(`s${i}`);
    const agent = startAgent(newMarks(), { wg: wg.share() });
    expect(await agent.call('attach', { group: 'wg', path: ['wg'] })).toBe('watched');
    await agent.call('attachTask', { task: 't', value: task.share(), path: [] });
    await agent.call('cancel', { group: 'wg', reason: { text: 'from the worker' } });
    if (!signal.aborted) await once(signal, 'abort');
    expect(signal.reason).toBe('from the worker');
    await agent.call('done', { task: 't' });
    await waiting;
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 0, pending: 0 });
  });
});

describe('what a share costs', () => {
  it('a tree whose maxima fit the compact budget is shared in fixed buffers: no memory mapping, and a worker uses it', async () => {
    const options = { capacity: 64, maxGroups: 8, maxFailures: 16, failureBytes: 16 * 1024 };
    const before = mappings();
    const wg = new WaitGroup(options);
    const kept = Array.from({ length: 2000 }, () => new WaitGroup(options).share());
    expect(kept).toHaveLength(2000);
    expect(mappings() - before).toBeLessThan(100);
    for (const buffer of buffersOf(wg)) expect(buffer.growable).toBe(false);
    const task = wg.add('shared fixed');
    const agent = startAgent(newMarks(), { wg: wg.share() });
    expect(await agent.call('attach', { group: 'wg', path: ['wg'] })).toBe('wait-group');
    await agent.call('attachTask', { task: 't', value: task.share(), path: [] });
    await agent.call('done', { task: 't', error: { ctor: 'RangeError', message: 'in the worker' } });
    const error = await failuresOf(wg.wait());
    expect((error.errors[0] as Error).message).toBe('in the worker');
  });

  it('refuses a fixed buffer of another size than the tree says, with ERR_INVALID_SHARED_VALUE', () => {
    const shared = new WaitGroup({ capacity: 64, maxGroups: 8, maxFailures: 16, failureBytes: 1024 }).share();
    const forged = { ...shared, tree: { ...shared.tree, slots: new SharedArrayBuffer(shared.tree.slots.byteLength - L.SLOT_BYTES) } };
    let code: unknown;
    try {
      WaitGroup.from(forged);
    } catch (error) {
      code = (error as WaitGroupError).code;
    }
    expect(code).toBe('ERR_INVALID_SHARED_VALUE');
  });
});

describe('no move inside an operation', () => {
  it("abort listeners of a failing done() run once it has returned: they see it complete, and their own add()s count", () => {
    const wg = new WaitGroup({ cancelOnError: true });
    const task = wg.add('fails');
    const seen: { pending: number; failed: number; share: boolean }[] = [];
    let added: Task | undefined;
    wg.signal.addEventListener('abort', () => {
      const { pending, failed } = wg.stats();
      seen.push({ pending, failed, share: wg.share().tree.tree.growable });
      added = wg.add('from the listener');
    });
    expect(task.done(new Error('boom'))).toBe(true);
    expect(seen).toEqual([{ pending: 0, failed: 1, share: true }]);
    expect(wg.stats()).toEqual({ added: 2, done: 1, failed: 1, pending: 1 });
    expect(added?.done()).toBe(true);
  });

  it("a failure's own getter cannot move a private tree while cancelOnError records it: ERR_TREE_BUSY, and the failure is kept", async () => {
    // maxFailures 0: the failure is not kept in the log, so cancelling encodes it as the reason.
    const wg = new WaitGroup({ cancelOnError: true, maxFailures: 0 });
    wg.sub('fills the compact records');
    const codes: unknown[] = [];
    const error = new Error('with a getter');
    let reads = 0;
    Object.defineProperty(error, 'detail', {
      enumerable: true,
      get() {
        // Read once when the failure is staged, before the completion is journaled (anything goes
        // there); then again when cancelOnError encodes it as the reason, inside the completion.
        if (++reads === 1) return 'detail';
        for (const attempt of [() => wg.share(), () => wg.sub('one too many')]) {
          try {
            attempt();
            codes.push('none');
          } catch (thrown) {
            codes.push((thrown as WaitGroupError).code);
          }
        }
        return 'detail';
      },
    });
    const task = wg.add('fails');
    expect(task.done(error)).toBe(true);
    expect(reads).toBe(2);
    expect(codes).toEqual(['ERR_TREE_BUSY', 'ERR_TREE_BUSY']);
    expect(wg.cancelled).toBe(true);
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 1, pending: 0 });
    // After the completion: both work.
    expect(wg.sub('later').name).toBe('wait-group/later');
    expect(wg.share().tree.tree.growable).toBe(true);
    const failed = await failuresOf(wg.wait());
    expect(failed.omitted).toBe(1);
  });
});
