// Runs on both sides of a thread boundary: the shared words of a group's `limit` that the go()
// runner reads and sleeps on: the limit, the count of `go()` functions running in all threads
// (H_RUNNING, a laned counter) and the threads asleep until one finishes (H_LIMIT_WAITERS). A
// running slot is taken through the task (Task#acquireLimit, journaled) and given back by its
// completion (GroupHost#finish); the queue of functions waiting for a slot is thread-local (go.ts).
import type { GroupRecord } from './counters.js';
import { H_LIMIT, H_LIMIT_WAITERS, H_RUNNING } from './layout.js';

/** The most `go()` functions of the group that may run at once in all threads; 0 for no limit. */
export function limitOf(record: GroupRecord): number {
  return Atomics.load(record.i32, H_LIMIT);
}

/**
 * Sleeps, without blocking the thread (nor keeping it alive), until a running slot of the group may
 * have been released in any thread.
 * @returns a promise that resolves on such a release (or spuriously), or undefined when a slot is
 *   free already (`acquireLimit()` may still lose it to another thread: call this again)
 */
export function untilReleased(record: GroupRecord, limit: number): Promise<void> | undefined {
  // Counted before the read: a release after our count reads it and notifies; one before our read
  // shows in the value we read, and we do not sleep.
  Atomics.add(record.i32, H_LIMIT_WAITERS, 1);
  const running = Atomics.load(record.i64, H_RUNNING / 2);
  // Sleep on the exact word (lane bits included): any release changes it, and the wait returns at once.
  const result = Number(running >> 32n) < limit ? undefined : Atomics.waitAsync(record.i64, H_RUNNING / 2, running);
  if (result?.async !== true) {
    Atomics.sub(record.i32, H_LIMIT_WAITERS, 1);
    return undefined;
  }
  return result.value.then(() => {
    Atomics.sub(record.i32, H_LIMIT_WAITERS, 1);
  });
}
