// Starting a worker that joins a group, without the early-wait() pitfall. Main side: `spawn()`
// starts the worker with the group and a task of it, held until the worker is ready. Worker side:
// `spawned()` takes the group, and its `ready()` completes the held task once the worker has
// registered its work. Until then a wait() on the group cannot pass, even one started at once.
//
// The group and the held task travel in the worker's environment data (node:worker_threads
// setEnvironmentData), set only while the Worker is constructed: the worker's own `workerData`
// stays the caller's.
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, getEnvironmentData, setEnvironmentData, type WorkerOptions } from 'node:worker_threads';
import { InvalidArgumentTypeError, WaitGroupError, WorkerExitedError, checkLabel, checkOptions, describe } from '../errors/errors.js';
import { WaitGroup } from '../group/group.js';
import { checkSharedGroup, checkSharedTask, type SharedTask, type SharedWaitGroup } from '../memory/share.js';
import { Task } from '../group/task.js';

const KEY = 'shared-waitgroup/spawn';

/** What `spawn()` leaves in the new worker's environment data. */
interface Handoff {
  readonly group: SharedWaitGroup;
  readonly task: SharedTask;
}

/** Options of `spawn()`: Node's `Worker` options, and the label of the task held until the worker is ready. */
export interface SpawnOptions extends WorkerOptions {
  /** Label of the task held until the worker calls `ready()`. Default: `'spawn '` and the file's name. */
  readonly label?: string;
}

/** What `spawned()` gives a worker started by `spawn()`. */
export interface Spawned {
  /** The group `spawn()` was given, as this thread's object (`WaitGroup.from()`). */
  readonly group: WaitGroup;
  /**
   * Completes the task `spawn()` holds: call it once the worker has registered its work. With an
   * error (anything but `undefined` or `null`), the task fails with it.
   * @returns true the first time; false once the task is complete
   */
  readonly ready: (error?: unknown) => boolean;
}

/**
 * Starts a worker that joins `group`: the worker gets the group from `spawned()`, and a task of the
 * group (labelled `options.label`) is held until the worker calls `ready()`, so that a `wait()` on the
 * group, even one started right after `spawn()`, waits for the work the worker registers before
 * `ready()`. Should the worker exit before `ready()`, the held task fails with `WorkerExitedError`
 * (`ERR_WORKER_EXITED`). `workerData` and every other option reach the `Worker` as given.
 * @param group - the group the worker joins
 * @param filename - the worker's module, as `new Worker()` takes it
 * @param options - Node's `Worker` options, and `label`
 * @returns the started worker
 * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when group is not a WaitGroup, options not an object, label not a string
 * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED as `add()`; whatever `new Worker()` throws (then nothing is held)
 * @example
 * ```ts
 * // main.ts
 * import { WaitGroup, spawn } from 'shared-waitgroup';
 *
 * const group = new WaitGroup();
 * const worker = spawn(group, new URL('./worker.js', import.meta.url), { workerData: { files: ['a', 'b'] } });
 * await group.wait(); // cannot pass before the worker's ready(): it waits for the worker's tasks too
 * await worker.terminate();
 *
 * // worker.ts
 * import { workerData } from 'node:worker_threads';
 * import { spawned } from 'shared-waitgroup';
 *
 * const { group, ready } = spawned();
 * for (const file of (workerData as { files: string[] }).files) group.go(() => index(file), file);
 * ready();
 * ```
 */
export function spawn(group: WaitGroup, filename: string | URL, options: SpawnOptions = {}): Worker {
  if (!(group instanceof WaitGroup)) throw new InvalidArgumentTypeError(`group must be a WaitGroup; received ${describe(group)}`);
  checkOptions(options);
  const { label: given, ...workerOptions } = options;
  checkLabel(given, 'options.label');
  const label = given ?? `spawn ${nameOf(filename, options.eval === true)}`;
  const task = group.add(label);
  let worker: Worker;
  try {
    setEnvironmentData(KEY, { group: group.share(), task: task.share() } satisfies Handoff);
    worker = new Worker(filename, workerOptions);
  } catch (error) {
    // No worker: nothing to wait for, and the caller gets the error.
    task.done();
    throw error;
  } finally {
    // Only this worker gets it: not the next ones this thread creates.
    setEnvironmentData(KEY, undefined);
  }
  const id = worker.threadId;
  // A worker that never took the task (it failed while loading, say) cannot be swept for it.
  worker.once('exit', (exitCode: number) => {
    task.done(new WorkerExitedError(id, exitCode, label, 1));
  });
  return worker;
}

function nameOf(filename: string | URL, evaluated: boolean): string {
  if (evaluated) return 'eval';
  try {
    return basename(filename instanceof URL || filename.startsWith('file:') ? fileURLToPath(filename) : filename);
  } catch {
    return String(filename);
  }
}

let taken: Spawned | undefined;

/**
 * Worker side of `spawn()`: the group, and `ready()`, which completes the task `spawn()` holds until
 * this worker has registered its work. Calling it again returns the same. This worker then holds the
 * task: if it exits before `ready()`, the task fails with `ERR_WORKER_EXITED`.
 * @returns `{ group, ready }`
 * @throws {WaitGroupError} ERR_NOT_SPAWNED in a thread that `spawn()` did not start
 */
export function spawned(): Spawned {
  if (taken !== undefined) return taken;
  const handoff = getEnvironmentData(KEY) as Partial<Handoff> | undefined;
  if (handoff === undefined) {
    throw new WaitGroupError('ERR_NOT_SPAWNED', 'spawned() runs in a worker started by spawn(group, filename, options); this thread was not');
  }
  // Taken once: workers this one creates do not inherit it.
  setEnvironmentData(KEY, undefined);
  checkSharedGroup(handoff.group);
  checkSharedTask(handoff.task);
  const task = Task.from(handoff.task);
  const mine = { group: WaitGroup.from(handoff.group), ready: (error?: unknown) => task.done(error) };
  taken = mine;
  return mine;
}
