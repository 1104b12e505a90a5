// The census of the slots (memory/census.ts): what a timeout's summary reads instead of the slots.
// Its layout keeps the entries of neighbouring slots on different cache lines; its entries follow
// each task from add() to its completion, its adoption by another thread and its owner's death.
import * as fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WaitGroup, type PendingSummary, type PendingTask, type Task } from '../src/index.js';
import * as L from '../src/memory/layout.js';
import { newMarks } from '../workers/sync.js';
import { rejectionOf, startAgent, terminateAll } from './helpers.js';

afterEach(terminateAll);

/** The summary the slots themselves give, from `pendingTasks()`. */
function expected(tasks: readonly PendingTask[]): { count: number; byThread: Map<number, number>; byGroup: Map<string, number> } {
  const byThread = new Map<number, number>();
  const byGroup = new Map<string, number>();
  for (const task of tasks) {
    byThread.set(task.threadId, (byThread.get(task.threadId) ?? 0) + 1);
    byGroup.set(task.group, (byGroup.get(task.group) ?? 0) + 1);
  }
  return { count: tasks.length, byThread, byGroup };
}

function agrees(summary: PendingSummary, tasks: readonly PendingTask[]): void {
  const want = expected(tasks);
  expect(summary.count).toBe(want.count);
  expect(new Map(summary.byThread)).toEqual(want.byThread);
  expect(new Map(summary.byGroup)).toEqual(want.byGroup);
  // The oldest: as many as there are up to 10, and none younger than a task left out.
  expect(summary.oldest).toHaveLength(Math.min(10, tasks.length));
  const cut = [...tasks].sort((a, b) => a.since - b.since)[summary.oldest.length - 1]?.since ?? Infinity;
  for (const task of summary.oldest) expect(task.since).toBeLessThanOrEqual(cut);
}

describe('census layout', () => {
  it('gives every slot of a block its own entry, the entries of 64 neighbouring slots on 64 different cache lines', () => {
    for (const block of [0, 1, 7]) {
      const entries = new Set<number>();
      for (let j = 0; j < L.BLOCK_SLOTS; j++) {
        const slot = block * L.BLOCK_SLOTS + j;
        const byte = L.censusByte(slot);
        expect(byte).toBeGreaterThanOrEqual(block * L.BLOCK_BYTES);
        expect(byte + L.CENSUS_BYTES).toBeLessThanOrEqual(block * L.BLOCK_BYTES + L.CENSUS_BLOCK_BYTES);
        const entry = (byte - block * L.BLOCK_BYTES) / L.CENSUS_BYTES;
        expect(L.censusSlot(block, entry)).toBe(slot);
        entries.add(entry);
      }
      expect(entries.size).toBe(L.BLOCK_SLOTS);
      for (let start = 0; start < L.BLOCK_SLOTS; start += 64) {
        const lines = new Set<number>();
        for (let j = start; j < start + 64; j++) lines.add(Math.floor(L.censusByte(block * L.BLOCK_SLOTS + j) / 64));
        expect(lines.size).toBe(64);
      }
    }
  });

  it('places slots after their block census, on whole cache lines, and sizes buffers both ways', () => {
    for (let slot = 0; slot < 3 * L.BLOCK_SLOTS; slot++) {
      const byte = L.slotByte(slot);
      expect(byte % 64).toBe(0);
      expect(byte % L.BLOCK_BYTES).toBeGreaterThanOrEqual(L.CENSUS_BLOCK_BYTES);
      if (slot > 0) expect(byte).toBeGreaterThanOrEqual(L.slotByte(slot - 1) + L.SLOT_BYTES);
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: L.MAX_CAPACITY }), (count) => {
        expect(L.slotsWithin(L.slotsBytes(count))).toBe(count);
        expect(L.slotsWithin(L.slotsBytes(count + 1) - 1)).toBe(count);
      }),
    );
  });
});

describe('census entries', () => {
  it('agree with the slots over any sequence of add(), done() and sub-groups, while private and once shared', () => {
    type Step = { kind: 'add'; group: number; units: number; label: boolean } | { kind: 'done'; task: number; units: number } | { kind: 'share' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), group: fc.nat(3), units: fc.integer({ min: 1, max: 3 }), label: fc.boolean() }),
      fc.record({ kind: fc.constant('done' as const), task: fc.nat(), units: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('share' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const root = new WaitGroup({ name: 'root', capacity: 600 });
        const groups = [root, root.sub('a'), root.sub('b')];
        const nested = groups[1]?.sub('c');
        if (nested !== undefined) groups.push(nested);
        const tasks: Task[] = [];
        for (const next of steps) {
          if (next.kind === 'add') tasks.push((groups[next.group] ?? root).add(next.units, next.label ? `t${tasks.length}` : undefined));
          else if (next.kind === 'share') root.share();
          else if (tasks.length > 0) {
            const task = tasks[next.task % tasks.length];
            if (task !== undefined && task.remaining > 0) task.done(Math.min(next.units, task.remaining));
          }
          for (const group of groups) agrees(group.pendingSummary(), group.pendingTasks());
        }
      }),
      { numRuns: 60 },
    );
  });

  it('counts by label, when first asked, the 100 labels with the most tasks; tasks with no label are not counted', () => {
    const wg = new WaitGroup({ name: 'labels', capacity: 12_000 });
    const byLabel = new Map<string, Task[]>();
    for (let i = 0; i < 150; i++) byLabel.set(`L${i}`, Array.from({ length: i + 1 }, () => wg.add(`L${i}`)));
    const unlabelled = Array.from({ length: 500 }, () => wg.add());
    const summary = wg.pendingSummary();
    expect(summary.count).toBe((150 * 151) / 2 + 500);
    // Read when first asked: L149's tasks are done by then.
    for (const task of byLabel.get('L149') ?? []) task.done();
    const counted = [...summary.byLabel];
    expect(counted).toHaveLength(100);
    expect(counted[0]).toEqual(['L148', 149]);
    expect(counted.at(-1)).toEqual(['L49', 50]);
    expect(summary.byLabel).toBe(summary.byLabel);
    for (const task of unlabelled) task.done();
  });

  it('covers more than one block', () => {
    const wg = new WaitGroup({ name: 'blocks', capacity: 3 * L.BLOCK_SLOTS });
    const tasks = Array.from({ length: 3 * L.BLOCK_SLOTS - 5 }, (_, i) => wg.add(`t${i}`));
    for (let i = 0; i < tasks.length; i += 3) tasks[i]?.done();
    agrees(wg.pendingSummary(), wg.pendingTasks());
  });

  it('name the thread that adopted a task, and are cleared when that thread dies and is swept', async () => {
    const wg = new WaitGroup({ name: 'adopted' });
    const mine = wg.add('kept by main');
    const handed = wg.add('handed over');
    const agent = startAgent(newMarks(), { wg: wg.share() });
    await agent.call('attach', { group: 'wg', path: ['wg'] });
    await agent.call('attachTask', { task: 't', value: handed.share(), path: [] });
    await agent.call('add', { group: 'wg', task: 'own', count: 2, label: 'the worker’s own' });
    agrees(wg.pendingSummary(), wg.pendingTasks());
    expect(new Map(wg.pendingSummary().byThread)).toEqual(
      new Map([
        [0, 1],
        [agent.threadId, 2],
      ]),
    );
    const failed = rejectionOf(wg.wait());
    await agent.worker.terminate();
    mine.done();
    await failed;
    expect(wg.pendingSummary().count).toBe(0);
    expect(wg.pendingTasks()).toEqual([]);
  });
});
