// A thread journals its lane bit before each laned step (docs/protocol.md) from its own copy of its
// bits (GroupRecord#mine, counters.ts myParity()), not from the shared word. The copy is exact
// only if every step of this thread notes itself (stepped()): a step that did not would journal a
// wrong bit, and a sweeper would undo or redo the wrong thing after a death. These tests make every
// kind of laned step in one thread and compare the copy with shared memory after each.
import { describe, expect, it } from 'vitest';
import { Task, WaitGroup } from '../src/index.js';
import * as L from '../src/memory/layout.js';
import { Tree } from '../src/memory/tree.js';

/** The copy this thread keeps of its lane bits in group `id`, and the bits in shared memory. */
function bits(tree: Tree, id: number): { copy: number; memory: number } {
  const record = tree.record(id);
  const bit = tree.lane.bit;
  const at = (word: number): number => ((record.i32[word + L.LO32] ?? 0) & bit ? 1 : 0);
  return { copy: record.mine, memory: at(L.H_PENDING) | (at(L.H_FAILED) << 1) | (at(L.H_RUNNING) << 2) };
}

function expectExact(tree: Tree, ...ids: number[]): void {
  for (const id of ids) {
    const { copy, memory } = bits(tree, id);
    // -1: this thread has made no step in the group yet, and reads the word at its first.
    if (copy !== -1) expect(copy, `group ${id}`).toBe(memory);
  }
}

function idOf(group: WaitGroup): number {
  return group.share().group;
}

describe("this thread's copy of its lane bits", () => {
  it('follows add() and done() of own, counted and shared tasks, in a root and a sub-group', () => {
    const root = new WaitGroup({ name: 'bits' });
    const sub = root.sub('sub');
    const tree = Tree.attach(root.share().tree);
    const ids = [idOf(root), idOf(sub)];
    root.add().done();
    expectExact(tree, ...ids);
    const three = root.add(3, 'three');
    three.done();
    expectExact(tree, ...ids);
    sub.add().done();
    const subTask = sub.add(2);
    subTask.done();
    expectExact(tree, ...ids);
    subTask.done();
    const shared = Task.from(three.share());
    shared.done();
    expectExact(tree, ...ids);
    three.done();
    expect(shared.done()).toBe(false);
    expectExact(tree, ...ids);
    const subShared = sub.add(2, 'sub shared');
    Task.from(subShared.share()).done();
    subShared.done();
    expectExact(tree, ...ids);
    expect(root.stats().pending).toBe(0);
  });

  it('follows failures, their counts up the chain, and an add undone on overflow', async () => {
    const root = new WaitGroup({ name: 'bits' });
    const sub = root.sub('sub');
    const tree = Tree.attach(root.share().tree);
    const ids = [idOf(root), idOf(sub)];
    sub.add('fails').done(new Error('one'));
    expectExact(tree, ...ids);
    const failing = root.add(2, 'fails shared');
    Task.from(failing.share()).done(new Error('two'));
    failing.done(new Error('three'));
    expectExact(tree, ...ids);
    const big = root.add(L.MAX_UNITS);
    expect(() => sub.add(1)).toThrow(expect.objectContaining({ code: 'ERR_PENDING_OVERFLOW' }));
    expectExact(tree, ...ids);
    big.settle(Infinity, false, undefined);
    expectExact(tree, ...ids);
    await expect(root.wait()).rejects.toThrow();
  });

  it('follows go() under a limit: a running slot taken, given back, and a tryGo() undone', async () => {
    const root = new WaitGroup({ name: 'bits', limit: 1 });
    const tree = Tree.attach(root.share().tree);
    const id = idOf(root);
    let release = (): void => undefined;
    root.go(() => new Promise<void>((resolve) => (release = resolve)));
    await Promise.resolve();
    expectExact(tree, id);
    // The slot is taken: tryGo() adds, finds no running slot, and undoes its add.
    expect(root.tryGo(() => undefined)).toBe(false);
    expectExact(tree, id);
    release();
    await root.wait();
    expectExact(tree, id);
    root.go(() => {
      throw new Error('fails under the limit');
    });
    await expect(root.wait()).rejects.toThrow();
    expectExact(tree, id);
  });
});
