// Worker fixture for the failure load test. As 'worker': each round, once released, completes
// `tasks` tasks of the group, failing every `every`-th one, then counts itself finished.
// As 'waiter': each round, once released, blocks in waitSync() and reports what it learnt.
import { parentPort, workerData } from 'node:worker_threads';
import { TaskGroupError, WaitGroup, type SharedWaitGroup } from '../src/index.js';
import { FINISHED, RELEASED } from './load-marks.js';
import { block, bump } from './sync.js';

interface Input {
  readonly role: 'worker' | 'waiter';
  readonly group: SharedWaitGroup;
  readonly marks: Int32Array;
  readonly index: number;
  readonly rounds: number;
  readonly tasks: number;
  readonly every: number;
}

const { role, group, marks, index, rounds, tasks, every } = workerData as Input;
const wg = WaitGroup.from(group);

for (let round = 1; round <= rounds; round++) {
  block(marks, RELEASED, round);
  if (role === 'worker') {
    for (let i = 0; i < tasks; i++) wg.add().done(i % every === 0 ? new Error(`round ${round} worker ${index} task ${i}`) : undefined);
    bump(marks, FINISHED);
  } else {
    try {
      wg.waitSync({ timeout: 20_000 });
      parentPort?.postMessage({ round, failures: 0, messages: [] });
    } catch (error) {
      if (!(error instanceof TaskGroupError)) throw error;
      const messages = error.errors.map((e) => (e instanceof Error ? e.message : String(e)));
      parentPort?.postMessage({ round, failures: error.errors.length + error.omitted, messages });
    }
  }
}
