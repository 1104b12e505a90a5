// A worker that leaves work pending in two groups (one of its own, one shared by the test), listens
// to both groups' signals, and returns without waiting: nothing it did should keep it alive.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';

if (parentPort === null) throw new Error('idle.ts runs in a worker thread');
const own = new WaitGroup({ name: 'own' });
const shared = WaitGroup.from((workerData as { wg: SharedWaitGroup }).wg);
own.add('left behind');
shared.add('left in shared');
for (const wg of [own, shared]) wg.signal.addEventListener('abort', () => undefined);
parentPort.postMessage({ event: 'left', data: { threadId, own: own.stats(), shared: shared.stats(), cancelled: own.signal.aborted || shared.signal.aborted } });
