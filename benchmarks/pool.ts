// Scenario 4: what tracking costs a piscina pool. 100 000 empty tasks submitted at once, each run as
// a group task (TrackedPool#run on the main thread, tracked() in the worker, the group in each
// task's payload), against a bare pool of the same options. TrackedPool requires atomics: 'async',
// so the baseline uses it too; piscina's default atomics: 'sync' is reported for context.
import { Piscina } from 'piscina';
import { WaitGroup } from '../src/index.js';
import { TrackedPool } from '../src/integrations/piscina.js';
import { alternate, progress, samplesOf, type Scenario } from './scenario.js';
import { clock } from './stats.js';

const TRACKED_MODULE = new URL('../workers/bench-pool.js', import.meta.url).href;
const BARE_MODULE = new URL('../workers/bench-pool-bare.js', import.meta.url).href;
const THREADS = 2;

function cpu(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * `tasks` tasks submitted at once, until the last settles: wall µs per task, and the process's CPU µs
 * per task (every thread: the main thread and the pool's workers). CPU time shows what tracking
 * costs even when other processes take the cores; wall time is what the goal is about.
 */
async function batch(tasks: number, run: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpuStart = cpu();
  const start = clock();
  await Promise.all(Array.from({ length: tasks }, run));
  return { wall: (clock() - start) / 1000 / tasks, cpu: (cpu() - cpuStart) / tasks };
}

/** A payload of the shape and size TrackedPool#run sends once every pool thread holds the group (see src/integrations/piscina.ts). */
function slotShaped(): object {
  return { kind: 'shared-waitgroup/piscina-slot', pool: 0x7fff_ffff_ffff, slot: 12_345, generation: 6, remaining: 1, label: 'piscina task', payload: null };
}

export const pool: Scenario = {
  id: 4,
  name: 'piscina',
  run: async (settings) => {
    const tasks = settings.quick ? 2_000 : 100_000;
    const rounds = samplesOf(settings, 7);
    const options = { minThreads: THREADS, maxThreads: THREADS };
    const trackedPool = new Piscina({ ...options, filename: TRACKED_MODULE, atomics: 'async' });
    const bareAsync = new Piscina({ ...options, filename: BARE_MODULE, atomics: 'async' });
    const bareSync = new Piscina({ ...options, filename: BARE_MODULE });
    // Every task is pending in the group while queued: the capacity must hold the whole batch.
    const group = new WaitGroup({ name: 'pool', capacity: Math.max(65_536, 2 * tasks) });
    const tracked = new TrackedPool(trackedPool, group);
    const ours: number[] = [];
    const bare: number[] = [];
    const sync: number[] = [];
    const shaped: number[] = [];
    const cpuOurs: number[] = [];
    const cpuBare: number[] = [];
    progress(`4: ${rounds} rounds of ${tasks} empty tasks on 3 pools of ${THREADS} threads (4 kinds of run)`);
    try {
      const runs = [
        (n: number) => batch(n, () => tracked.run(null)),
        (n: number) => batch(n, () => bareAsync.run(null)),
        (n: number) => batch(n, () => bareSync.run(null)),
        // No tracking at all: the bare pool, sent a payload of the shape a tracked task travels in.
        (n: number) => batch(n, () => bareAsync.run(slotShaped())),
      ];
      for (const run of runs) await run(Math.min(tasks, 5_000));
      const cpus = [cpuOurs, cpuBare, [], []];
      await alternate(
        rounds,
        [ours, bare, sync, shaped].map((into, i) => async () => {
          const cost = await runs[i]?.(tasks);
          into.push(cost?.wall ?? Number.NaN);
          cpus[i]?.push(cost?.cpu ?? Number.NaN);
        }),
      );
      if (group.stats().pending !== 0 || group.stats().failed !== 0) throw new Error('scenario 4: tracked tasks left pending or failed');
    } finally {
      await Promise.all([trackedPool.destroy(), bareAsync.destroy(), bareSync.destroy()]);
    }
    const rate = (costs: number[]): string => `${(1e6 / ([...costs].sort((a, b) => a - b)[Math.floor(costs.length / 2)] ?? Number.NaN) / 1000).toFixed(1)}k tasks/s`;
    const title = `piscina, ${tasks.toLocaleString('en')} empty tasks, ${THREADS} threads`;
    return [
      {
        id: '4a',
        title,
        ours: { label: "TrackedPool, atomics 'async'", unit: 'µs/task', samples: ours },
        baseline: { label: "bare pool, atomics 'async'", unit: 'µs/task', samples: bare },
        goal: { text: '<= 3% throughput lost (<= 1.031x)', max: 1 / 0.97 },
        note: `throughput ${rate(ours)} tracked vs ${rate(bare)} bare ('async')`,
      },
      {
        id: '4b',
        title: `context: ${title}, piscina's default atomics`,
        ours: { label: "TrackedPool, atomics 'async'", unit: 'µs/task', samples: ours },
        baseline: { label: "bare pool, atomics 'sync'", unit: 'µs/task', samples: sync },
        goal: { text: 'reported' },
        note: `bare pool with atomics 'sync': ${rate(sync)}`,
      },
      {
        id: '4c',
        title: `context: ${title}, CPU time of all threads`,
        ours: { label: 'TrackedPool', unit: 'µs CPU/task', samples: cpuOurs },
        baseline: { label: "bare pool, atomics 'async'", unit: 'µs CPU/task', samples: cpuBare },
        goal: { text: 'reported' },
        note: 'process.cpuUsage() over the batch: steadier than wall time when other processes hold the cores',
      },
      {
        id: '4d',
        title: `context: ${title}, the payload alone`,
        ours: { label: 'bare pool, tracked-task-shaped payload', unit: 'µs/task', samples: shaped },
        baseline: { label: "bare pool, atomics 'async'", unit: 'µs/task', samples: bare },
        goal: { text: 'reported' },
        note: 'no tracking: what sending an object of the shape of a tracked task (a kind, the pool, the slot, its generation, units, label) instead of null costs an empty task; a floor for row 4a',
      },
    ];
  },
};
