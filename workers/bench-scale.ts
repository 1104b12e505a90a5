// Benchmark worker for scenario 9 (benchmarks/scale.ts): attaches every tree it is given, so that
// it holds them as a thread of a large service would, and reports how long its event loop was
// busy between a 'start' and an 'end' message (Node's per-thread event loop utilization).
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';

export type ScaleCommand = { readonly op: 'start' } | { readonly op: 'end' };
export interface ScaleData {
  readonly groups: readonly SharedWaitGroup[];
}

const port = parentPort;
if (port === null) throw new Error('bench-scale runs as a worker');
// Held for the worker's life: the point is that this thread holds these groups.
const held = (workerData as ScaleData).groups.map((shared) => WaitGroup.from(shared));
let since = performance.eventLoopUtilization();
port.on('message', (command: ScaleCommand) => {
  if (command.op === 'start') {
    since = performance.eventLoopUtilization();
    port.postMessage({ op: 'started' });
    return;
  }
  const busy = performance.eventLoopUtilization(since).active;
  port.postMessage({ op: 'ended', busy, held: held.length });
});
port.postMessage({ op: 'ready' });
