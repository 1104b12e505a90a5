// Values that did not come from share() as it made them: each fails at from() with a coded error,
// never later, never by hanging, never with an uncoded RangeError (issue #11, item 5). Sharing a
// group gives a thread full power over it; these are mistakes and damage, not attacks.
import { describe, expect, it } from 'vitest';
import { Task, TaskGroupError, WaitGroup, WaitTimeoutError, type SharedTask, type SharedWaitGroup } from '../src/index.js';
import { MAX_NAME } from '../src/errors/errors.js';
import { Tree } from '../src/memory/tree.js';
import * as L from '../src/memory/layout.js';
import { codeOf } from './outcomes.js';


/** A copy of a growable buffer: the same bytes, in other memory. */
function copy(buffer: SharedArrayBuffer): SharedArrayBuffer {
  const twin = new SharedArrayBuffer(buffer.byteLength, { maxByteLength: buffer.maxByteLength });
  new Uint8Array(twin).set(new Uint8Array(buffer));
  return twin;
}

describe('forged shared values', () => {
  it('refuses a group whose parent or links refer back to it', () => {
    const wg = new WaitGroup({ name: 'cyclic' });
    const parentCycle: { -readonly [K in keyof SharedWaitGroup]: SharedWaitGroup[K] } = { ...wg.share() };
    parentCycle.parent = parentCycle;
    expect(codeOf(() => WaitGroup.from(parentCycle))).toBe('ERR_INVALID_SHARED_VALUE');
    const linkCycle: { -readonly [K in keyof SharedWaitGroup]: SharedWaitGroup[K] } = { ...wg.share() };
    linkCycle.links = [linkCycle];
    expect(codeOf(() => WaitGroup.from(linkCycle))).toBe('ERR_INVALID_SHARED_VALUE');
  });

  it('refuses a task state of 2^64 or more', () => {
    const wg = new WaitGroup();
    const shared = wg.add().share();
    expect(codeOf(() => Task.from({ ...shared, state: 1n << 64n }))).toBe('ERR_INVALID_SHARED_VALUE');
    expect(codeOf(() => Task.from({ ...shared, state: (1n << 70n) | shared.state }))).toBe('ERR_INVALID_SHARED_VALUE');
    const fine: SharedTask = shared;
    expect(Task.from(fine).done()).toBe(true);
  });

  it('refuses a copy of a tree that carries the identity of a tree this thread holds', () => {
    const wg = new WaitGroup({ name: 'real' });
    wg.add('held');
    const shared = wg.share();
    const copied = { ...shared, tree: { tree: copy(shared.tree.tree), slots: copy(shared.tree.slots), log: copy(shared.tree.log) } };
    expect(codeOf(() => WaitGroup.from(copied))).toBe('ERR_INVALID_SHARED_VALUE');
    expect(WaitGroup.from(wg.share())).toBe(wg);
  });

  it('refuses tree headers whose sizes are out of range, before making any view from them', () => {
    const wg = new WaitGroup({ name: 'header' });
    const shared = wg.share();
    for (const [word, value] of [
      [L.T_CAPACITY, -1],
      [L.T_CAPACITY, 0x7fffffff],
      [L.T_MAX_FAILURES, -5],
      [L.T_MAX_GROUPS, 1 << 30],
      [L.T_LOG_MAX, -1],
    ] as const) {
      const tree = copy(shared.tree.tree);
      const words = new Int32Array(tree);
      words[word] = value;
      // Another identity, so that the copy is not compared with the tree this thread holds.
      words[L.T_ID_LO] = (words[L.T_ID_LO] ?? 0) ^ 1;
      const forged = { ...shared, tree: { tree, slots: copy(shared.tree.slots), log: copy(shared.tree.log) } };
      expect(codeOf(() => WaitGroup.from(forged))).toBe('ERR_INVALID_SHARED_VALUE');
    }
  });

  it('refuses a group record with a negative limit', () => {
    const wg = new WaitGroup({ name: 'limit', limit: 2 });
    const shared = wg.share();
    const words = new Int32Array(shared.tree.tree);
    const limitWord = L.GROUPS_BASE + (shared.group - 1) * L.GROUP_WORDS + L.H_LIMIT;
    words[limitWord] = -1;
    expect(codeOf(() => WaitGroup.from(shared))).toBe('ERR_INVALID_SHARED_VALUE');
    words[limitWord] = 2;
    expect(WaitGroup.from(shared)).toBe(wg);
  });

  it('refuses maxGroups past its range with ERR_OUT_OF_RANGE, not an uncoded RangeError', () => {
    expect(codeOf(() => new WaitGroup({ maxGroups: 1 << 24 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => new WaitGroup({ maxGroups: L.MAX_GROUPS + 1 }))).toBe('ERR_OUT_OF_RANGE');
  });
});

describe('bounds on what crosses threads', () => {
  it('keeps a failure whose task label is 2,000,000 characters long, its label cut to MAX_NAME', async () => {
    const wg = new WaitGroup({ name: 'long labels' });
    wg.add('x'.repeat(2_000_000)).done(new Error('kept'));
    const error = (await wg.wait().catch((reason: unknown) => reason)) as TaskGroupError;
    expect(error).toBeInstanceOf(TaskGroupError);
    expect(error.omitted).toBe(0);
    expect(error.errors).toHaveLength(1);
    // What other threads read: the envelope in the log, with the label cut.
    const entry = Tree.attach(wg.share().tree).log.entry(0);
    expect(entry?.bytes?.length).toBeLessThan(4 * MAX_NAME + 4096);
  });

  it('shares 64 nested sub-groups with 10,000-character labels in well under a megabyte', () => {
    let group = new WaitGroup({ name: 'n'.repeat(10_000) });
    for (let depth = 0; depth < L.MAX_DEPTH; depth++) group = group.sub('s'.repeat(10_000));
    expect(group.name.length).toBeLessThanOrEqual(MAX_NAME);
    // Everything but the shared memory, which is the same whatever the names.
    const size = JSON.stringify(group.share(), (key, value: unknown) => (key === 'tree' ? undefined : value)).length;
    expect(size).toBeLessThan(200_000);
    expect(codeOf(() => group.sub('one too deep'))).toBe('ERR_GROUP_LIMIT_EXCEEDED');
  });
});

describe('diagnostics that tell the whole story (issue #12, item 8)', () => {
  it('keeps labels of 64 characters and names each pending task\'s group by its path, in any thread', () => {
    const root = new WaitGroup({ name: 'root' });
    const downloads = root.sub('downloads');
    const label = 'fetch https://example.test/a/rather/long/path/to/a/resource.json';
    expect(label.length).toBeGreaterThanOrEqual(64);
    downloads.add(label);
    const [task] = root.pendingTasks();
    expect(task).toMatchObject({ label, group: 'root/downloads', remaining: 1 });
    // A thread that never held the sub-group reads its name from the group's record.
    const tree = Tree.attach(root.share().tree);
    tree.names.delete(downloads.share().group);
    expect(root.pendingTasks()[0]?.group).toBe('root/downloads');
    const deep = downloads.sub('x'.repeat(100));
    deep.add();
    tree.names.delete(deep.share().group);
    const name = root.pendingTasks().find((pending) => pending.group !== 'root/downloads')?.group ?? '';
    expect(name).toHaveLength(L.NAME_UNITS);
    expect(name.endsWith('x'.repeat(20))).toBe(true);
  });
});

describe('large groups (issue #11, item 3)', () => {
  it('times out on 100,000 pending tasks with a bounded summary, and lists them all only when asked', async () => {
    const wg = new WaitGroup({ name: 'large', capacity: 100_000 });
    const kid = wg.sub('kid');
    const tasks = Array.from({ length: 100_000 }, (_, i) => (i % 2 === 0 ? wg : kid).add(`t${i}`));
    const error = (await wg.wait({ timeout: 0 }).catch((reason: unknown) => reason)) as WaitTimeoutError;
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error.code).toBe('ERR_WAIT_TIMEOUT');
    expect(error.summary.count).toBe(100_000);
    expect(error.summary.oldest).toHaveLength(10);
    expect(error.summary.oldest[0]?.label).toBe('t0');
    expect([...error.summary.byThread]).toEqual([[0, 100_000]]);
    expect(Object.fromEntries(error.summary.byGroup)).toEqual({ large: 50_000, 'large/kid': 50_000 });
    expect([...error.summary.byLabel.values()]).toEqual(Array.from({ length: 100 }, () => 1));
    expect(error.message.length).toBeLessThan(2_000);
    expect(error.pending).toHaveLength(100_000);
    for (const task of tasks) task.done();
    await wg.wait();
  });
});
