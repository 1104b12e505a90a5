// Worker fixture: takes the group, then starts a worker of its own (death.ts) that takes tasks of
// the same group and blocks. The main thread terminates this worker: its child dies with it, and
// no thread but this one ever saw the child start.
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';

const { group } = workerData as { group: SharedWaitGroup };
const port = parentPort;
if (port === null) throw new Error('parent-death.ts runs as a worker');
WaitGroup.from(group);
const go = new Int32Array(new SharedArrayBuffer(4));
const child = new Worker(new URL('./death.js', import.meta.url), { workerData: { group, cause: 'blocked', go } });
child.on('error', () => undefined);
child.on('message', (message: unknown) => {
  port.postMessage({ child: child.threadId, message });
});
