// The v3 protocol's fixes that a single test can show (docs/protocol.md): a sub-group's link to its
// ancestor, failures of one group not held up by another group's unpublished one, retired
// generations, and workers that die with the worker that created them. Deaths inside operations
// are in storm.test.ts; interleavings in the explorer's tests.
import { afterEach, describe, expect, it } from 'vitest';
import { Task, TaskGroupError, WaitGroup, WorkerExitedError, type SharedTask } from '../src/index.js';
import * as L from '../src/memory/layout.js';
import { codeOf } from './outcomes.js';
import { Tree } from '../src/memory/tree.js';
import { rejectionOf, startFixture, terminateAll } from './helpers.js';

afterEach(terminateAll);


describe('protocol v3', () => {
  it('refuses a link between a group and its own sub-group, either way, instead of overflowing the stack in share()', () => {
    const root = new WaitGroup({ name: 'root' });
    const sub = root.sub('kid');
    const deep = sub.sub('grandkid');
    expect(codeOf(() => root.link(sub))).toBe('ERR_LINK_CYCLE');
    expect(codeOf(() => root.link(deep))).toBe('ERR_LINK_CYCLE');
    expect(codeOf(() => deep.link(root))).toBe('ERR_LINK_CYCLE');
    expect(root.share().links).toEqual([]);
    expect(WaitGroup.from(deep.share())).toBe(deep);
  });

  it("reports a group's failure while another group's failure of the same tree is still being written", async () => {
    const root = new WaitGroup({ name: 'root' });
    const a = root.sub('a');
    const b = root.sub('b');
    const tree = Tree.attach(root.share().tree);
    // Group b's failure: its entry is claimed and written, and not yet published (its writer may
    // be in the middle of its completion, or dead).
    const staged = tree.log.stage(b.share().group, new Uint8Array([1]), () => new Uint8Array(), tree.lane.index);
    expect(staged).toBe(0);
    a.add('fails').done(new Error('a failed'));
    const error = await rejectionOf(a.wait());
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(['a failed']);
    expect((error as TaskGroupError).omitted).toBe(0);
    tree.log.discard(staged, tree.lane.index);
  });

  it('retires a slot whose generations are used up: a stale handle never matches its next task', () => {
    const wg = new WaitGroup({ name: 'wrap', capacity: 2 });
    const first = wg.add('first');
    const shared = first.share();
    const slot = shared.slot;
    const words = new BigUint64Array(wg.share().tree.slots);
    // Jump the slot to its last generation, as 2^28 shared tasks would have.
    const last = L.GENERATIONS - 1;
    words[(L.slotByte(slot) >> 3) + L.S_STATE64] = (BigInt(last) << L.GENERATION_SHIFT) | 1n;
    const ownerWord = (L.slotByte(slot) >> 3) + L.S_OWNER64;
    words[ownerWord] = (BigInt(last) << 32n) | ((words[ownerWord] ?? 0n) & 0xffffffffn);
    const rebuilt = Task.from({ ...shared, state: (BigInt(last) << L.GENERATION_SHIFT) | 1n });
    expect(rebuilt.done()).toBe(true);
    expect(Number((words[ownerWord] ?? 0n) & 0xffffffffn)).toBe(L.OWNER_RETIRED);
    // The last take keeps the last generation rather than wrapping to 0: a tagged state of
    // generation 0 with no units left would be take.ts's NOT_WRITTEN for lane 30 (tag 31).
    expect(Number((words[(L.slotByte(slot) >> 3) + L.S_STATE64] ?? 0n) >> L.GENERATION_SHIFT)).toBe(last);
    // The next tasks never take the retired slot, and the stale handle of the first task takes nothing.
    const next = [wg.add('a')];
    expect(codeOf(() => wg.add('b'))).toBe('ERR_CAPACITY_EXCEEDED');
    expect(Task.from(shared).done()).toBe(false);
    expect(wg.stats().pending).toBe(1);
    for (const task of next) task.done();
  });

  it("fails the tasks of a worker that died with the worker that created it (Node terminates a worker's workers)", async () => {
    const wg = new WaitGroup({ name: 'nested' });
    const parent = startFixture('parent-death', { group: wg.share() });
    const { message } = await new Promise<{ message: { handedOver: SharedTask } }>((resolve) => parent.once('message', resolve));
    const handedOver = Task.from(message.handedOver);
    expect(wg.stats().pending).toBe(6);
    await parent.terminate();
    // The child's own tasks ('held', 'three units', the go() that never settles) fail; the one it
    // handed over is ours now.
    expect(wg.stats().pending).toBe(1);
    handedOver.done();
    const error = await rejectionOf(wg.wait({ timeout: 20_000 }));
    expect(error).toBeInstanceOf(TaskGroupError);
    const failures = (error as TaskGroupError).errors;
    expect(failures).toHaveLength(3);
    for (const failure of failures) expect(failure).toBeInstanceOf(WorkerExitedError);
  });
});
