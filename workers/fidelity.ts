// Worker fixture for the error-fidelity table. Mode 'throw': fails one go() task per case and
// posts what it threw. Mode 'wait': waits for the group, then runs every case's check on what
// arrived from the main thread and posts the problems found.
import { parentPort, workerData } from 'node:worker_threads';
import { TaskGroupError, WaitGroup, registerErrorClass, type SharedWaitGroup } from '../src/index.js';
import { RegisteredError, cases, summarize } from './fidelity-cases.js';

interface Input {
  readonly mode: 'throw' | 'wait';
  readonly group: SharedWaitGroup;
  readonly summaries?: Record<string, unknown>;
}

const { mode, group, summaries = {} } = workerData as Input;
const port = parentPort;
if (port === null) throw new Error('fidelity.ts runs as a worker');
registerErrorClass(RegisteredError);
const wg = WaitGroup.from(group);

if (mode === 'throw') {
  const sent: Record<string, unknown> = {};
  for (const c of cases) {
    const value = c.make();
    sent[c.name] = summarize(value);
    wg.go(() => {
      throw value;
    }, c.name);
  }
  // The functions start (and fail) in microtasks: every failure is recorded once this returns.
  await Promise.resolve();
  port.postMessage({ sent });
} else {
  port.postMessage('waiting');
  const problems: Record<string, string[]> = {};
  try {
    await wg.wait();
    problems['wait'] = ['wait() resolved'];
  } catch (error) {
    if (!(error instanceof TaskGroupError)) throw error;
    error.errors.forEach((received, i) => {
      const label = error.origins[i]?.label ?? '';
      const c = cases.find((candidate) => candidate.name === label);
      problems[label] = c === undefined ? ['unknown case'] : c.check(received, summaries[label]);
    });
  }
  port.postMessage({ problems });
}
