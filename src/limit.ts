// Runs on both sides of a thread boundary: the shared words of a group's `limit`, the count of
// `go()` functions running in all threads (H_RUNNING) and of threads asleep until one finishes
// (H_LIMIT_WAITERS). Every access to them goes through the functions of this module; the queue of
// functions waiting for a slot is thread-local (go.ts).
import { H_LIMIT, H_LIMIT_WAITERS, H_RUNNING } from './layout.js';

/** The most `go()` functions of the group that may run at once in all threads; 0 for no limit. */
export function limitOf(header: Int32Array): number {
  return Atomics.load(header, H_LIMIT);
}

/**
 * Takes a running slot of the group if fewer than `limit` functions run. The caller marks its task
 * (`task.holdsLimit(true)`) right after, so that the sweep after its thread's death gives it back.
 * @returns true if a slot was taken
 */
export function acquireRunning(header: Int32Array, limit: number): boolean {
  for (;;) {
    const running = Atomics.load(header, H_RUNNING);
    if (running >= limit) return false;
    // A CAS, not an add: two threads seeing the last free slot must not both take it.
    if (Atomics.compareExchange(header, H_RUNNING, running, running + 1) === running) return true;
  }
}

/**
 * Gives a running slot back and wakes the threads asleep in `untilReleased()`. The caller unmarks
 * its task (`task.holdsLimit(false)`) right before.
 * @param asleepHere - 1 if the calling thread itself is asleep in `untilReleased()` on this group
 *   (it drains its own queue after this call, so it needs no wake), else 0
 */
export function releaseRunning(header: Int32Array, asleepHere: 0 | 1): void {
  Atomics.sub(header, H_RUNNING, 1);
  // A sleeper counts itself in H_LIMIT_WAITERS before it reads H_RUNNING: either this read sees it
  // and wakes it, or its read sees our decrement and it does not sleep.
  if (Atomics.load(header, H_LIMIT_WAITERS) > asleepHere) Atomics.notify(header, H_RUNNING);
}

/**
 * Sleeps, without blocking the thread (nor keeping it alive), until a running slot of the group may
 * have been released in any thread.
 * @returns a promise that resolves on such a release (or spuriously), or undefined when a slot is
 *   free already (`acquireRunning()` may still lose it to another thread: call this again)
 */
export function untilReleased(header: Int32Array, limit: number): Promise<void> | undefined {
  Atomics.add(header, H_LIMIT_WAITERS, 1);
  const running = Atomics.load(header, H_RUNNING);
  // Sleep on the value that is full: a release after this read makes the wait return at once.
  const result = running < limit ? undefined : Atomics.waitAsync(header, H_RUNNING, running);
  if (result?.async !== true) {
    Atomics.sub(header, H_LIMIT_WAITERS, 1);
    return undefined;
  }
  return result.value.then(() => {
    Atomics.sub(header, H_LIMIT_WAITERS, 1);
  });
}
