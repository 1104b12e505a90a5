// Scenario 7: memory. A million add()/done() cycles must leave nothing behind, neither in the heap
// nor in shared memory; a million pending tasks cost a known number of bytes each. Heap figures are
// taken after full garbage collections. Node's `arrayBuffers` figure leaves growable
// SharedArrayBuffers out, so shared memory is counted from the group's own buffers.
import { WaitGroup, type Task } from '../src/index.js';
import { gc, progress, samplesOf, type Scenario } from './scenario.js';
import type { Row } from './stats.js';

const MB = 1024 * 1024;
/** Most heap growth that counts as none: collection noise, independent of the number of cycles. */
const NO_GROWTH = 128 * 1024;

interface Reading {
  readonly heap: number;
  readonly rss: number;
}

/** Memory after a full collection, now: what the loop just run still holds, its queued jobs included. */
function read(): Reading {
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

/** Memory after full collections between turns of the event loop, once queued jobs and finalizers ran. */
async function settled(): Promise<Reading> {
  for (let turn = 0; turn < 3; turn++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return read();
}

/** Bytes committed to a group tree's shared memory (its three growable buffers). */
function sharedBytes(wg: WaitGroup): number {
  const { tree, slots, log } = wg.share().tree;
  return tree.byteLength + slots.byteLength + log.byteLength;
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

export const memory: Scenario = {
  id: 7,
  name: 'memory',
  run: async (settings) => {
    const cycles = settings.quick ? 20_000 : 1_000_000;
    const pendingCount = settings.quick ? 20_000 : 1_000_000;
    const rounds = samplesOf(settings, 3);
    const heap = { before: [] as number[], after: [] as number[], settled: [] as number[] };
    const rss = { before: [] as number[], after: [] as number[] };
    const sharedGrowth: number[] = [];
    progress(`7: ${rounds} x ${cycles} add/done cycles, then ${rounds} x a group with ${pendingCount} pending tasks`);

    const wg = new WaitGroup({ name: 'cycles' });
    for (let i = 0; i < 100_000; i++) wg.add().done();
    for (let round = 0; round < rounds; round++) {
      const start = await settled();
      const shared = sharedBytes(wg);
      for (let i = 0; i < cycles; i++) wg.add().done();
      const end = read();
      sharedGrowth.push(sharedBytes(wg) - shared);
      const later = await settled();
      heap.before.push(start.heap / MB);
      heap.after.push(end.heap / MB);
      heap.settled.push(later.heap / MB);
      rss.before.push(start.rss / MB);
      rss.after.push(later.rss / MB);
    }
    const growth = median(heap.after.map((value, i) => (value - (heap.before[i] ?? 0)) * MB));
    const settledGrowth = median(heap.settled.map((value, i) => (value - (heap.before[i] ?? 0)) * MB));

    const loaded = { total: [] as number[], rss: [] as number[] };
    const empty = { total: [] as number[], rss: [] as number[] };
    const perTask = { heap: [] as number[], shared: [] as number[], rss: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const start = await settled();
      const big = new WaitGroup({ name: 'pending', capacity: Math.max(pendingCount + 64, 65_536) });
      const emptyShared = sharedBytes(big);
      const held: Task[] = [];
      for (let i = 0; i < pendingCount; i++) held.push(big.add());
      const end = await settled();
      const shared = sharedBytes(big);
      empty.total.push((start.heap + emptyShared) / MB);
      loaded.total.push((end.heap + shared) / MB);
      empty.rss.push(start.rss / MB);
      loaded.rss.push(end.rss / MB);
      perTask.heap.push((end.heap - start.heap) / pendingCount);
      perTask.shared.push((shared - emptyShared) / pendingCount);
      perTask.rss.push((end.rss - start.rss) / pendingCount);
      for (const task of held) task.done();
      held.length = 0;
    }
    const cyclesTitle = `after ${cycles.toLocaleString('en')} add/done cycles`;
    const pendingTitle = `with ${pendingCount.toLocaleString('en')} tasks pending (handles held)`;
    const rows: Row[] = [
      {
        id: '7a',
        title: `heap ${cyclesTitle}, read at once`,
        ours: { label: 'after', unit: 'MB', samples: heap.after },
        baseline: { label: 'before', unit: 'MB', samples: heap.before },
        goal: {
          text: `no growth (< ${NO_GROWTH / 1024} KiB)`,
          check: {
            ok: growth < NO_GROWTH && sharedGrowth.every((bytes) => bytes === 0),
            why: `heap growth ${(growth / 1024).toFixed(0)} KiB at once (${(growth / cycles).toFixed(3)} B/cycle), ${(settledGrowth / 1024).toFixed(0)} KiB once the event loop turned; shared memory growth ${sharedGrowth.join('/')} B`,
          },
        },
      },
      {
        id: '7b',
        title: `RSS ${cyclesTitle}`,
        ours: { label: 'after', unit: 'MB', samples: rss.after },
        baseline: { label: 'before', unit: 'MB', samples: rss.before },
        goal: { text: 'reported' },
        note: 'RSS also moves with V8 heap sizing and JIT code; 7a is the verdict',
      },
      {
        id: '7c',
        title: `heap + shared memory ${pendingTitle}`,
        ours: { label: 'loaded', unit: 'MB', samples: loaded.total },
        baseline: { label: 'empty group', unit: 'MB', samples: empty.total },
        goal: { text: 'bytes/task reported' },
        note: `per pending task: ${median(perTask.heap).toFixed(0)} B of heap (its Task handle) + ${median(perTask.shared).toFixed(0)} B of shared memory (its slot); ${median(perTask.rss).toFixed(0)} B of RSS`,
      },
      {
        id: '7d',
        title: `RSS ${pendingTitle}`,
        ours: { label: 'loaded', unit: 'MB', samples: loaded.rss },
        baseline: { label: 'empty group', unit: 'MB', samples: empty.rss },
        goal: { text: 'reported' },
      },
    ];
    return rows;
  },
};
