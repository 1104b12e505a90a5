// Runs on both sides of a thread boundary: a `go()` function run as a task of its group, in
// whichever thread called go(). A throw, a rejection, even of `undefined`, fails the task.
import type { Task } from './task.js';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Runs `fn` with `signal` and completes `task` with its outcome. The completion (GroupHost#finish)
 * does, in this order: records a failure, which cancels a group with `cancelOnError` in every
 * thread; gives the `limit` slot back, if `fn` holds one, so the next function to start, in any
 * thread, starts after the failure and sees the group cancelled; completes the unit, so no wait()
 * resolves while the slot is held.
 * @param released - called after the completion when `fn` held a running slot (the runner drains its queue)
 */
export function runTask(fn: (signal: AbortSignal) => unknown, signal: AbortSignal, task: Task, released: (() => void) | undefined): void {
  const finish = (failed: boolean, error: unknown): void => {
    task.settle(1, failed, error);
    released?.();
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
