// Worker fixture of test/property.test.ts: runs a list of operations on a shared group and its own
// sub-groups, as soon as the start mark is set, and reports what each done() returned, the tasks it
// left pending (shared, for the main thread to adopt) and the sub-groups it made.
import { parentPort, workerData } from 'node:worker_threads';
import { WaitGroup, type SharedTask, type SharedWaitGroup, type Task } from '../src/index.js';

/** `g` picks a group of this thread (root first, then its sub-groups in creation order) modulo their number. */
export type WorkerOp =
  | { readonly k: 'add'; readonly g: number; readonly count: number }
  | { readonly k: 'done'; readonly t: number; readonly fail: boolean }
  | { readonly k: 'go'; readonly g: number; readonly fail: boolean }
  | { readonly k: 'sub'; readonly g: number }
  | { readonly k: 'cancel'; readonly g: number };

export interface PropertyWorkerData {
  readonly wg: SharedWaitGroup;
  readonly ops: readonly WorkerOp[];
  /** Failures are `new Error(`${tag}:${n}`)`, n counting from 0 in this thread. */
  readonly tag: string;
  /**
   * Word 0: the start gate, set by the main thread once every worker is ready. Word 1: the end gate,
   * set once the main thread has adopted the tasks left pending (a thread that exits holding tasks fails them).
   */
  readonly marks: Int32Array;
}

export interface PropertyWorkerResult {
  /** The return value of every done() executed, in order. */
  readonly returns: boolean[];
  /** The tasks left with units pending. */
  readonly leftovers: SharedTask[];
  /** The sub-groups made, in creation order. */
  readonly subs: SharedWaitGroup[];
}

const GUARD_MS = 15_000;

async function run({ wg, ops, tag, marks }: PropertyWorkerData): Promise<PropertyWorkerResult> {
  // All workers start their operations together, so that they race on the shared counters.
  if (Atomics.wait(marks, 0, 0, GUARD_MS) === 'timed-out') throw new Error('start gate never opened');
  const groups = [WaitGroup.from(wg)];
  const tasks: Task[] = [];
  const returns: boolean[] = [];
  let failures = 0;
  const failure = (): Error => new Error(`${tag}:${failures++}`);
  const pick = (g: number): WaitGroup => {
    const found = groups[g % groups.length];
    if (found === undefined) throw new Error('no groups');
    return found;
  };
  for (const op of ops) {
    switch (op.k) {
      case 'add':
        tasks.push(pick(op.g).add(op.count, `${tag} task ${tasks.length}`));
        break;
      case 'done': {
        const task = tasks[op.t % Math.max(1, tasks.length)];
        if (task !== undefined) returns.push(task.done(op.fail ? failure() : undefined));
        break;
      }
      case 'go':
        pick(op.g).go(() => {
          if (op.fail) throw failure();
        });
        // The function starts in a microtask: let it run before the next operation, as the model does.
        await Promise.resolve();
        break;
      case 'sub':
        groups.push(pick(op.g).sub(`${tag} sub ${groups.length}`));
        break;
      case 'cancel':
        pick(op.g).cancel();
        break;
    }
  }
  return {
    returns,
    leftovers: tasks.filter((task) => task.remaining > 0).map((task) => task.share()),
    subs: groups.slice(1).map((group) => group.share()),
  };
}

if (parentPort !== null) {
  const port = parentPort;
  port.postMessage({ event: 'ready' });
  const data = workerData as PropertyWorkerData;
  port.postMessage({ event: 'result', data: await run(data) });
  Atomics.wait(data.marks, 1, 0, GUARD_MS);
}
