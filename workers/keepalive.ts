// A worker whose only activity, once its top level has run, is `await wg.wait()` on a task that
// another thread completes later. It reports which resources keep its event loop alive before,
// during and after the wait, and whether the loop ever ran dry ('beforeExit') while it waited.
// It has no port listener, so nothing else keeps it alive: it exits on its own once the wait settles.
import { parentPort, workerData } from 'node:worker_threads';
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';

if (parentPort === null) throw new Error('keepalive.ts runs in a worker thread');
const port = parentPort;
const wg = WaitGroup.from((workerData as { wg: SharedWaitGroup }).wg);

let settled = false;
let dryWhileWaiting = false;
process.on('beforeExit', () => {
  if (!settled) dryWhileWaiting = true;
});

const before = process.getActiveResourcesInfo();
const waiting = wg.wait();
const during = process.getActiveResourcesInfo();
waiting.then(
  () => {
    settled = true;
    port.postMessage({ event: 'resolved', data: { pending: wg.stats().pending, dryWhileWaiting, after: process.getActiveResourcesInfo() } });
  },
  (error: unknown) => {
    settled = true;
    port.postMessage({ event: 'rejected', data: String(error) });
  },
);
port.postMessage({ event: 'waiting', data: { before, during } });
