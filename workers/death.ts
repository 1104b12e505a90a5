// Worker fixture for worker-death tests: takes tasks of a group, hands one over to the main
// thread, says 'ready', then dies by the cause it was given. Nothing after 'ready' completes a task.
import { parentPort, workerData } from 'node:worker_threads';
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';

/** How the worker ends after taking its tasks. */
export type Cause = 'throw' | 'exit' | 'blocked' | 'busy' | 'reject' | 'normal';

interface Input {
  readonly group: SharedWaitGroup;
  readonly cause: Cause;
  /** Word 0 is set by the main thread once it has our message: dying earlier could lose it. */
  readonly go: Int32Array;
}

const { group, cause, go } = workerData as Input;
const port = parentPort;
if (port === null) throw new Error('death.ts runs as a worker');
const wg = WaitGroup.from(group);
wg.add('held');
wg.add(3, 'three units');
wg.go(() => new Promise(() => undefined), 'never settles');
// Created here but rebuilt by the main thread, which becomes its owner: it must survive us.
const handedOver = wg.add('handed over').share();
port.postMessage({ ready: true, handedOver });
Atomics.wait(go, 0, 0, 20_000);

switch (cause) {
  case 'throw':
    throw new Error('uncaught in the worker');
  case 'exit':
    process.exit(7);
    break;
  case 'blocked':
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    break;
  case 'busy':
    for (;;) {
      if (wg.stats().added < 0) break;
    }
    break;
  case 'reject':
    void Promise.reject(new Error('unhandled in the worker'));
    break;
  case 'normal':
    // Returns with tasks held and nothing to keep the thread alive: a bug in a user's program.
    break;
}
