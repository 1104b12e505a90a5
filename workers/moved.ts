// A worker for the private-tree tests (test/private-tree.test.ts): groups whose memory moved while
// private to one thread, used from another.
//   mode 'finish': completes the tasks it is given (failing those at the indices in `fail`), adds
//     and fails one task in each sub-group it is given, then adds `hold` tasks to the root and keeps
//     them, and posts { completed }.
//   mode 'own': makes its own group and grows it while private (`tasks` pending tasks, `subs`
//     sub-groups, `failures` failed tasks), shares it, and posts { group, stats }; it keeps its
//     pending tasks.
// Either way it stays alive, holding what it kept, until the test terminates it.
import { parentPort, workerData } from 'node:worker_threads';
import { Task, WaitGroup, type SharedTask, type SharedWaitGroup } from '../src/index.js';

if (parentPort === null) throw new Error('moved.ts runs in a worker thread');
const port = parentPort;

interface Finish {
  readonly mode: 'finish';
  readonly group: SharedWaitGroup;
  readonly tasks: readonly SharedTask[];
  readonly fail: readonly number[];
  readonly subs: readonly SharedWaitGroup[];
  readonly hold: number;
}

interface Own {
  readonly mode: 'own';
  readonly tasks: number;
  readonly subs: number;
  readonly failures: number;
}

const data = workerData as Finish | Own;
const kept: Task[] = [];

if (data.mode === 'finish') {
  const failing = new Set(data.fail);
  let completed = 0;
  for (const [i, shared] of data.tasks.entries()) {
    if (Task.from(shared).done(failing.has(i) ? new RangeError(`task ${i}`) : undefined)) completed++;
  }
  for (const [i, shared] of data.subs.entries()) WaitGroup.from(shared).add(`late ${i}`).done(new TypeError(`sub ${i}`));
  const root = WaitGroup.from(data.group);
  for (let i = 0; i < data.hold; i++) kept.push(root.add(`held ${i}`));
  port.postMessage({ completed });
} else {
  const group = new WaitGroup({ name: 'worker-own' });
  for (let i = 0; i < data.tasks; i++) kept.push(group.add(`own ${i}`));
  for (let i = 0; i < data.subs; i++) kept.push(group.sub(`sub ${i}`).add(`in sub ${i}`));
  for (let i = 0; i < data.failures; i++) group.add(`failing ${i}`).done(new Error(`worker failure ${i}`));
  port.postMessage({ group: group.share(), stats: group.stats() });
}
setInterval(() => undefined, 1 << 30);
