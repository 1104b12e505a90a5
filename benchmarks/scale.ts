// Scenario 10: groups at scale (issue #11). 10a: a wait that times out on a group of 1,000,000
// pending tasks, against the same on 1,000 (the timeout error's summary must be bounded in time
// and memory). 10b: an unrelated worker exits while 3 threads hold 400 shared trees and one tree of
// 1,000,000 pending tasks; each thread's busy time in the exit's wake, against the same window
// with no exit.
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { WaitGroup, WaitTimeoutError, type Task } from '../src/index.js';
import { alternate, gc, progress, samplesOf, type Scenario } from './scenario.js';
import type { Row } from './stats.js';
import type { ScaleCommand, ScaleData } from '../workers/bench-scale.js';

function timeoutCost(group: WaitGroup): number {
  const start = performance.now();
  try {
    group.waitSync({ timeout: 0 });
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    return performance.now() - start;
  }
  throw new Error('scenario 10a: the wait did not time out');
}

/** Timeouts of each group, unmeasured, before the measured rounds of 10a. */
const WARM_UP = 4;

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

function reply<T>(worker: Worker, op: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { op: string } & T): void => {
      if (message.op !== op) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve(message);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

/** Lets exit events, notices and sweeps run out in every thread: a few event loop turns, then a pause. */
async function quiet(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
}

export const scale: Scenario = {
  id: 10,
  name: 'scale',
  run: async (settings) => {
    const big = settings.quick ? 20_000 : 1_000_000;
    const trees = settings.quick ? 40 : 400;
    const rounds = samplesOf(settings, 7);
    progress(`10: a timeout on ${big} pending tasks (${rounds} rounds); an unrelated exit beside ${trees} trees in 3 threads`);

    const large = new WaitGroup({ name: 'large', capacity: big + 64 });
    const held: Task[] = [];
    for (let i = 0; i < big; i++) held.push(large.add(i % 2 === 0 ? `request ${i % 100}` : undefined));
    const small = new WaitGroup({ name: 'small' });
    const few: Task[] = [];
    for (let i = 0; i < 1_000; i++) few.push(small.add(`request ${i % 100}`));
    const onLarge: number[] = [];
    const onSmall: number[] = [];
    const heapGrowth: number[] = [];
    // The rows are of a process that has timed out before: the first timeouts run the scan before
    // V8 has optimized it. The very first is reported beside them.
    const cold = timeoutCost(large);
    for (let i = 0; i < WARM_UP; i++) {
      timeoutCost(large);
      timeoutCost(small);
      await Promise.resolve();
    }
    await alternate(rounds, [
      async () => {
        gc();
        // Let V8's background sweeping of the collection just forced finish first: on 2 cores it
        // would run beside the scan and be measured with it.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const before = process.memoryUsage().heapUsed;
        onLarge.push(timeoutCost(large));
        heapGrowth.push(process.memoryUsage().heapUsed - before);
        await Promise.resolve();
      },
      async () => {
        onSmall.push(timeoutCost(small));
        await Promise.resolve();
      },
    ]);

    const groups = Array.from({ length: trees }, (_, i) => new WaitGroup({ name: `tree ${i}` }));
    for (const group of groups) group.add('held');
    const shared = [large, ...groups].map((group) => group.share());
    const data: ScaleData = { groups: shared };
    const threads = [0, 1].map(() => new Worker(new URL('../workers/bench-scale.js', import.meta.url), { workerData: data }));
    const busy = { exit: [] as number[], none: [] as number[] };
    const mainBusy = { exit: [] as number[], none: [] as number[] };
    try {
      await Promise.all(threads.map((worker) => reply(worker, 'ready')));
      const windowOf = async (into: number[], intoMain: number[], exit: boolean): Promise<void> => {
        const bystander = new Worker(new URL('../workers/bystander.js', import.meta.url));
        await reply(bystander, 'ready');
        await quiet();
        await Promise.all(threads.map((worker) => { const started = reply(worker, 'started'); worker.postMessage({ op: 'start' } satisfies ScaleCommand); return started; }));
        const since = performance.eventLoopUtilization();
        if (exit) {
          const exited = new Promise((resolve) => bystander.once('exit', resolve));
          await bystander.terminate();
          await exited;
        }
        await quiet();
        intoMain.push(performance.eventLoopUtilization(since).active);
        const ended = await Promise.all(threads.map((worker) => { const done = reply<{ busy: number }>(worker, 'ended'); worker.postMessage({ op: 'end' } satisfies ScaleCommand); return done; }));
        into.push(Math.max(...ended.map((message) => message.busy)));
        if (!exit) await bystander.terminate();
        await quiet();
      };
      await alternate(rounds, [() => windowOf(busy.exit, mainBusy.exit, true), () => windowOf(busy.none, mainBusy.none, false)]);
    } finally {
      await Promise.all(threads.map((worker) => worker.terminate()));
    }
    for (const task of held) task.done();
    for (const task of few) task.done();
    for (const group of groups) group.add(0);

    const extra = median(busy.exit) - median(busy.none);
    const rows: Row[] = [
      {
        id: '10a',
        title: `a wait times out: WaitTimeoutError on ${big.toLocaleString('en')} pending tasks`,
        ours: { label: `${big.toLocaleString('en')} pending`, unit: 'ms', samples: onLarge },
        baseline: { label: '1,000 pending', unit: 'ms', samples: onSmall },
        goal: {
          text: '< 10 ms, bounded memory',
          check: {
            ok: median(onLarge) < 10,
            why: `median ${median(onLarge).toFixed(1)} ms after ${WARM_UP + 1} timeouts unmeasured (the first one in the process: ${cold.toFixed(1)} ms); heap growth while building it ${(median(heapGrowth) / 1024).toFixed(0)} KiB`,
          },
        },
      },
      {
        id: '10b',
        title: `an unrelated worker exits; busy time of each worker holding ${trees} trees and one of ${big.toLocaleString('en')} pending`,
        ours: { label: 'exit', unit: 'ms', samples: busy.exit },
        baseline: { label: 'no exit', unit: 'ms', samples: busy.none },
        goal: {
          text: '< 1 ms of work per thread',
          check: {
            ok: extra < 1,
            why: `the busiest worker: ${extra.toFixed(2)} ms more than without an exit; the main thread (the exited worker's creator, which announces it): ${(median(mainBusy.exit) - median(mainBusy.none)).toFixed(2)} ms more`,
          },
        },
      },
    ];
    return rows;
  },
};
