// Worker fixture that never imports shared-waitgroup: it starts unwatched-child.ts, which uses the
// group, and passes its answer on. Nobody sees that child exit.
import { Worker, parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
if (port === null) throw new Error('unwatched-parent.ts runs as a worker');
const child = new Worker(new URL('./unwatched-child.js', import.meta.url), { workerData: workerData as unknown });
child.on('message', (message: unknown) => {
  port.postMessage(message);
  void child.terminate();
});
