// Worker fixture: holds group A itself and starts a worker of its own (death.ts) that takes
// tasks of group B, a tree this thread never attaches. When that worker dies, this thread sees
// the exit; only its notice on A's private channel lets the main thread, which holds B, sweep B.
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';

const { a, b } = workerData as { a: SharedWaitGroup; b: SharedWaitGroup };
const port = parentPort;
if (port === null) throw new Error('nested-death.ts runs as a worker');
WaitGroup.from(a);
const go = new Int32Array(new SharedArrayBuffer(4));
const child = new Worker(new URL('./death.js', import.meta.url), { workerData: { group: b, cause: 'throw', go } });
child.on('error', () => undefined);
child.on('message', (message: unknown) => {
  port.postMessage({ child: child.threadId, message });
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
});
child.on('exit', () => {
  port.postMessage('child exited');
});
