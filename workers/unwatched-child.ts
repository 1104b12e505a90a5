// Worker fixture: takes the group it is given and says whether this library warned that nobody
// watches its exit. It answers when it knows: on the warning, or once its creator is known (then
// no warning comes).
import process from 'node:process';
import { parentPort, workerData } from 'node:worker_threads';
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';
import { whenCreatorKnown } from '../src/platform/lineage.js';

const port = parentPort;
if (port === null) throw new Error('unwatched-child.ts runs as a worker');
// The library's checks never keep a thread alive: this does, until the answer is sent.
const alive = setInterval(() => undefined, 1 << 30);
const answer = (warnings: string[]): void => {
  port.postMessage({ warnings });
  clearInterval(alive);
};
process.on('warning', (warning: Error & { code?: string }) => {
  if (warning.code !== undefined) answer([warning.code]);
});
WaitGroup.from((workerData as { group: SharedWaitGroup }).group);
whenCreatorKnown(() => {
  answer([]);
});
