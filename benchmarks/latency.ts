// Scenario 3: wake latency, from the moment a worker starts the last done() to the moment the
// waiter runs again: the main thread resuming after `await wg.wait()`, or another worker returning
// from `wg.waitSync()`. Against the raw Atomics.notify hand-off and a postMessage hand-off. Both
// ends read the process-wide monotonic clock (hrtime), so one-way times are exact.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { WaitGroup } from '../src/index.js';
import { ARMED, WAITING, WOKE, type HandOff, type LatencyData, type LatencyJob } from '../workers/bench-protocol.js';
import { newMarks, reach, set } from '../workers/sync.js';
import { alternate, progress, samplesOf, type Scenario } from './scenario.js';
import { summarize, type Row } from './stats.js';

const HOWS: readonly HandOff[] = ['ours', 'raw', 'message'];

/** One completer and its waiter, sharing marks, times and a message channel. */
class Pair {
  readonly marks = newMarks(4);
  readonly times: BigInt64Array;
  readonly workers: Worker[] = [];
  readonly #ports: MessagePort[] = [];
  /** The main thread's end of the message hand-off, when the main thread is the waiter. */
  readonly mainPort: MessagePort | undefined;
  base = 0;

  constructor(n: number, waiterInWorker: boolean) {
    this.times = new BigInt64Array(new SharedArrayBuffer(16 * n));
    const { port1, port2 } = new MessageChannel();
    this.#ports.push(port1, port2);
    this.workers.push(this.#start(port1));
    if (waiterInWorker) this.workers.push(this.#start(port2));
    this.mainPort = waiterInWorker ? undefined : port2;
  }

  #start(port: MessagePort): Worker {
    const data: LatencyData = { marks: this.marks, times: this.times, port };
    return new Worker(new URL('../workers/bench-latency.js', import.meta.url), { workerData: data, transferList: [port] });
  }

  /** Posts `job` to worker `index` and resolves when it reports the job finished. */
  run(index: number, job: LatencyJob): Promise<void> {
    const worker = this.workers[index];
    if (worker === undefined) return Promise.reject(new Error(`no worker ${index}`));
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      worker.once('error', onError);
      worker.once('message', () => {
        worker.off('error', onError);
        resolve();
      });
      worker.postMessage(job);
    });
  }

  /** One-way latencies of the last `n` hand-offs, in µs. */
  latencies(n: number): number[] {
    return Array.from({ length: n }, (_, i) => Number((this.times[2 * i + 1] ?? 0n) - (this.times[2 * i] ?? 0n)) / 1000);
  }

  async stop(): Promise<void> {
    for (const port of this.#ports) port.close();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/** The main thread's side of a hand-off: sleep on it, note the time it resumed. */
async function waitOnMain(pair: Pair, job: LatencyJob, wg: WaitGroup): Promise<void> {
  const port = pair.mainPort;
  for (let i = 0; i < job.n; i++) {
    const k = job.base + i + 1;
    await reach(pair.marks, ARMED, k);
    if (job.how === 'ours') {
      const waited = wg.wait();
      set(pair.marks, WAITING, k);
      await waited;
    } else if (job.how === 'raw') {
      const result = Atomics.waitAsync(job.word, 0, 1);
      set(pair.marks, WAITING, k);
      if (result.async) await result.value;
    } else {
      const message = new Promise((resolve) => port?.once('message', resolve));
      set(pair.marks, WAITING, k);
      await message;
    }
    pair.times[2 * i + 1] = process.hrtime.bigint();
    set(pair.marks, WOKE, k);
  }
}

export const latency: Scenario = {
  id: 3,
  name: 'wake',
  run: async (settings) => {
    const n = settings.quick ? 20 : 200;
    const rounds = samplesOf(settings, 5);
    const onMain = new Map<HandOff, number[]>(HOWS.map((how) => [how, []]));
    const inWorker = new Map<HandOff, number[]>(HOWS.map((how) => [how, []]));
    // The median of each round, per series: rounds pair up, hand-offs do not.
    const roundsOnMain = new Map<HandOff, number[]>(HOWS.map((how) => [how, []]));
    const roundsInWorker = new Map<HandOff, number[]>(HOWS.map((how) => [how, []]));
    const mainPair = new Pair(n, false);
    const workerPair = new Pair(n, true);
    progress(`3: ${rounds} rounds of ${n} hand-offs each, 3 ways, to the main thread and to a worker`);
    try {
      const wg = new WaitGroup({ name: 'latency' });
      const word = new Int32Array(new SharedArrayBuffer(4));
      const job = (pair: Pair, role: LatencyJob['role'], how: HandOff): LatencyJob => ({ role, how, base: pair.base, n, group: wg.share(), word });
      const toMain = async (how: HandOff, into: number[]): Promise<void> => {
        const completer = job(mainPair, 'completer', how);
        await Promise.all([mainPair.run(0, completer), waitOnMain(mainPair, completer, wg)]);
        mainPair.base += n;
        into.push(...mainPair.latencies(n));
      };
      const toWorker = async (how: HandOff, into: number[]): Promise<void> => {
        await Promise.all([workerPair.run(0, job(workerPair, 'completer', how)), workerPair.run(1, job(workerPair, 'waiter', how))]);
        workerPair.base += n;
        into.push(...workerPair.latencies(n));
      };
      for (const how of HOWS) {
        await toMain(how, []);
        await toWorker(how, []);
      }
      await alternate(
        rounds,
        HOWS.map((how) => async () => {
          const main: number[] = [];
          const worker: number[] = [];
          await toMain(how, main);
          await toWorker(how, worker);
          onMain.get(how)?.push(...main);
          inWorker.get(how)?.push(...worker);
          roundsOnMain.get(how)?.push(summarize(main).median);
          roundsInWorker.get(how)?.push(summarize(worker).median);
        }),
      );
    } finally {
      await Promise.all([mainPair.stop(), workerPair.stop()]);
    }
    const series = (map: Map<HandOff, number[]>, how: HandOff, label: string): Row['ours'] => ({ label, unit: 'µs', samples: map.get(how) ?? [] });
    const waitTitle = 'wake: last done() in a worker -> await wait() resumes on main';
    const syncTitle = 'wake: last done() in a worker -> waitSync() returns in another worker';
    const pairs = (map: Map<HandOff, number[]>, how: HandOff): number[] => {
      const base = map.get(how) ?? [];
      return (map.get('ours') ?? []).map((median, round) => median / (base[round] ?? Number.NaN));
    };
    return [
      { id: '3a', title: waitTitle, ours: series(onMain, 'ours', 'wait()'), baseline: series(onMain, 'raw', 'notify->waitAsync'), pairs: pairs(roundsOnMain, 'raw'), goal: { text: '<= 1.25x', max: 1.25 } },
      { id: '3b', title: waitTitle, ours: series(onMain, 'ours', 'wait()'), baseline: series(onMain, 'message', 'postMessage'), pairs: pairs(roundsOnMain, 'message'), goal: { text: '< 1x', max: 1 } },
      { id: '3c', title: syncTitle, ours: series(inWorker, 'ours', 'waitSync()'), baseline: series(inWorker, 'raw', 'notify->Atomics.wait'), pairs: pairs(roundsInWorker, 'raw'), goal: { text: '<= 1.25x', max: 1.25 } },
      { id: '3d', title: syncTitle, ours: series(inWorker, 'ours', 'waitSync()'), baseline: series(inWorker, 'message', 'postMessage'), pairs: pairs(roundsInWorker, 'message'), goal: { text: '< 1x', max: 1 } },
    ];
  },
};
