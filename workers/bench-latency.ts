// Benchmark worker for wake latency (benchmarks/latency.ts drives it). As the completer it arms a
// hand-off, waits until the waiter says it is about to sleep, gives it time to get there, notes
// the time and completes; as the waiter it sleeps until the hand-off completes and notes the time
// it resumed. Marks order the steps, so one hand-off never overlaps the next.
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { WaitGroup, type Task } from '../src/index.js';
import { ARMED, SETTLE_NS, WAITING, WOKE, spin, type LatencyData, type LatencyJob } from './bench-protocol.js';
import { block, set } from './sync.js';

const { marks, times, port } = workerData as LatencyData;

function nextMessage(from: MessagePort): Promise<unknown> {
  return new Promise((resolve) => from.once('message', resolve));
}

function complete(job: LatencyJob): void {
  const group = WaitGroup.from(job.group);
  const word = job.word;
  for (let i = 0; i < job.n; i++) {
    const k = job.base + i + 1;
    let task: Task | undefined;
    if (job.how === 'ours') task = group.add('latency');
    else if (job.how === 'raw') Atomics.store(word, 0, 1);
    set(marks, ARMED, k);
    block(marks, WAITING, k);
    spin(SETTLE_NS);
    times[2 * i] = process.hrtime.bigint();
    if (task !== undefined) {
      task.done();
    } else if (job.how === 'raw') {
      Atomics.store(word, 0, 0);
      Atomics.notify(word, 0);
    } else {
      port.postMessage(i);
    }
    block(marks, WOKE, k);
  }
}

async function wait(job: LatencyJob): Promise<void> {
  const group = WaitGroup.from(job.group);
  const word = job.word;
  for (let i = 0; i < job.n; i++) {
    const k = job.base + i + 1;
    block(marks, ARMED, k);
    if (job.how === 'ours') {
      set(marks, WAITING, k);
      group.waitSync();
    } else if (job.how === 'raw') {
      set(marks, WAITING, k);
      Atomics.wait(word, 0, 1);
    } else {
      const message = nextMessage(port);
      set(marks, WAITING, k);
      await message;
    }
    times[2 * i + 1] = process.hrtime.bigint();
    set(marks, WOKE, k);
  }
}

parentPort?.on('message', (job: LatencyJob) => {
  void (async () => {
    if (job.role === 'completer') complete(job);
    else await wait(job);
    parentPort?.postMessage('finished');
  })();
});
