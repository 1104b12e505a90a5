// Worker fixture: takes the group it is given and says whether this library warned that nobody
// watches its exit (the warning is emitted on the next tick: it is awaited before answering).
import process from 'node:process';
import { parentPort, workerData } from 'node:worker_threads';
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';

const port = parentPort;
if (port === null) throw new Error('unwatched-child.ts runs as a worker');
const codes: string[] = [];
process.on('warning', (warning: Error & { code?: string }) => {
  if (warning.code !== undefined) codes.push(warning.code);
});
WaitGroup.from((workerData as { group: SharedWaitGroup }).group);
setImmediate(() => {
  port.postMessage({ warnings: codes });
});
