// A worker (benchmark 10b, test/aggregator.test.ts): a thread that uses the library for a group of its own and
// nothing else, then waits to be terminated. Its exit is the "unrelated exit" the row measures.
import { parentPort } from 'node:worker_threads';
import { WaitGroup } from '../src/index.js';

const own = new WaitGroup({ name: 'bystander' });
// Never done: the worker is terminated holding it, in a group no other thread knows.
export const task = own.add('its own work');
// Listening keeps the thread alive until it is terminated.
parentPort?.on('message', () => undefined);
parentPort?.postMessage({ op: 'ready', pending: own.stats().pending });
