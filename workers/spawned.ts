// A worker started by spawn() in test/spawn.test.ts; workerData says what it does, and reaches it
// as the test gave it. Imported by the test too (types, marks), where it does nothing.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { spawned } from '../src/integrations/spawn.js';
import { block, set } from './sync.js';

export type SpawnedMode =
  /** Registers its work only once the test's wait has started (mark WAITING), then ready(); the work ends a turn later (mark DONE). */
  | 'late-work'
  /** Exits with code 3 before it takes the group. */
  | 'exit-early'
  /** Takes the group, never calls ready(), and ends. */
  | 'forget'
  /** ready() with an error. */
  | 'not-ready'
  /** Posts the workerData it received, then ready(). */
  | 'echo';

export interface SpawnedData {
  readonly mode: SpawnedMode;
  readonly marks: Int32Array;
}

/** Marks of `late-work`. */
export const WAITING = 0;
export const DONE = 1;

// The test imports this module for its types and marks: only a worker runs it.
const data = (isMainThread ? { mode: 'none' } : workerData) as SpawnedData | { readonly mode: 'none' };
switch (data.mode) {
  case 'late-work': {
    const { group, ready } = spawned();
    block(data.marks, WAITING, 1);
    const job = group.add('late job');
    ready();
    setImmediate(() => {
      set(data.marks, DONE);
      job.done();
    });
    break;
  }
  case 'exit-early':
    process.exit(3);
    break;
  case 'forget':
    spawned();
    break;
  case 'not-ready':
    spawned().ready(Object.assign(new Error('cannot start'), { code: 'E_START' }));
    break;
  case 'echo':
    parentPort?.postMessage(workerData);
    spawned().ready();
    break;
  case 'none':
    break;
}
