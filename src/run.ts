// Runs on both sides of a thread boundary: a `go()` function run as a task of its group, in
// whichever thread called go(). A throw, a rejection, even of `undefined`, fails the task.
import type { Task } from './task.js';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Runs `fn` with `signal` and completes `task` with its outcome, in this order:
 * 1. a failure is recorded (`fail`), which cancels a group with `cancelOnError`, in every thread;
 * 2. the `limit` slot, if `fn` holds one, is given back (`release`), so the next function to start,
 *    in any thread, starts after the failure and sees the group cancelled;
 * 3. the task's unit completes, so no wait() resolves while the slot is held.
 * @param release - gives the group's running slot back, when `fn` holds one (the task is marked
 *   `holdsLimit(true)` already); undefined without a limit
 * @param fail - records a failure of the task's group with the task's label
 */
export function runTask(
  fn: (signal: AbortSignal) => unknown,
  signal: AbortSignal,
  task: Task,
  release: (() => void) | undefined,
  fail: (error: unknown) => void,
): void {
  const finish = (failed: boolean, error: unknown): void => {
    if (failed) fail(error);
    if (release !== undefined) {
      task.holdsLimit(false);
      release();
    }
    // The failure is recorded already: the unit completes as a plain one. A go() task's handle is
    // never shared, so nobody else can have taken its unit and this settle cannot come too late.
    task.settle(1, false, undefined);
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
