// Runs on both sides of a thread boundary: a `go()` function run as a task of its group, in
// whichever thread called go(). A throw, a rejection, even of `undefined`, fails the task.
import type { Limiter } from './limit.js';
import type { Task } from './task.js';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Runs `fn` with `signal` and completes `task` with its outcome.
 * @param limiter - the group's limiter when `task` holds one of its running slots, else undefined
 */
export function runTask(fn: (signal: AbortSignal) => unknown, signal: AbortSignal, task: Task, limiter: Limiter | undefined): void {
  const finish = (failed: boolean, error: unknown): void => {
    // The completion records the failure (cancelling a group that cancels on error), then gives
    // the running slot back, then completes the unit: a queued function started after it sees
    // the group cancelled, and no wait() resolves while the slot is held.
    task.settle(1, failed, error);
    limiter?.drain();
  };
  let result: unknown;
  try {
    result = fn(signal);
  } catch (error) {
    finish(true, error);
    return;
  }
  if (isThenable(result)) {
    // Promise.resolve() calls a foreign then() inside a job, so one that throws fails the task.
    Promise.resolve(result).then(
      () => {
        finish(false, undefined);
      },
      (error: unknown) => {
        finish(true, error);
      },
    );
  } else {
    finish(false, undefined);
  }
}
