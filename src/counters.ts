// Runs on both sides of a thread boundary: the changes to a group record's counters that every
// path (add, done, a failure, the sweep after a worker's death) shares, in the order waiters need.
import type { FailureOrigin } from './errors.js';
import { recordFailure } from './failures.js';
import { FLAG_CANCEL_ON_ERROR, H_FAILED, H_FAIL_WATCH, H_FLAGS, H_PENDING, MAX_UNITS, PENDING_UNIT, PENDING_WAITED } from './layout.js';
import type { Tree } from './tree.js';

/** Raises a pending count unless that would pass MAX_UNITS. */
export function raisePending(record: Int32Array, units: number): boolean {
  const before = Atomics.add(record, H_PENDING, units * PENDING_UNIT) >>> 1;
  if (before <= MAX_UNITS - units) return true;
  // Past the limit (2^31 - 1 units pending): undo. The count wrapped for an instant; a done() in
  // that instant saw no zero, so the undo is the one that may reach zero and must notify.
  lowerPending(record, units);
  return false;
}

/** Lowers a pending count and wakes the waiters when it reaches zero, the transition they sleep for. */
export function lowerPending(record: Int32Array, units: number): void {
  // A waiter sets PENDING_WAITED before it sleeps on the value that includes it; so either this
  // step sees the flag, or the waiter's sleep sees the new count and does not start. Skipping
  // notify() when nobody waits saves most of the cost of a done().
  const before = Atomics.sub(record, H_PENDING, units * PENDING_UNIT);
  if (before >>> 1 === units && (before & PENDING_WAITED) !== 0) wakeAll(record);
}

function wakeAll(record: Int32Array): void {
  // Cleared before the notify: a thread that set the flag again just before the clear is either
  // not asleep yet (its expected value no longer matches) or is woken by the notify below, and
  // sets it again before it sleeps. Clearing keeps later completions from notifying for nobody.
  Atomics.and(record, H_PENDING, ~PENDING_WAITED);
  Atomics.notify(record, H_PENDING);
}

/** The pending units of a record. */
export function pendingOf(record: Int32Array): number {
  return Atomics.load(record, H_PENDING) >>> 1;
}

/**
 * Tells completions that this thread is about to sleep on the pending word, and failures that it
 * wants to rebuild them as they come (see H_FAIL_WATCH).
 * @returns the word to sleep on (the flag included), or undefined when the count is already zero
 */
export function flagWaiting(record: Int32Array): number | undefined {
  // Atomic, so that it is ordered before the sleep that follows.
  if (Atomics.load(record, H_FAIL_WATCH) === 0) Atomics.store(record, H_FAIL_WATCH, 1);
  const before = Atomics.or(record, H_PENDING, PENDING_WAITED);
  return before >>> 1 === 0 ? undefined : before | PENDING_WAITED;
}

/** Adds to a 64-bit counter kept as two Int32 words (low, then high). */
export function addCounter64(record: Int32Array, low: number, units: number): void {
  const before = Atomics.add(record, low, units) >>> 0;
  if (before + units > 0xffffffff) Atomics.add(record, low + 1, 1);
}

/** The records of group `id` and of its ancestors, nearest first. */
export function chainOf(tree: Tree, id: number): Int32Array[] {
  const chain: Int32Array[] = [];
  for (let at = id; at > 0 && chain.length <= tree.groups; at = tree.parentOf(at)) chain.push(tree.record(at));
  return chain;
}

/**
 * Records a failure of group `id` and counts it in `chain` (the group and its ancestors), before
 * any unit is completed, so a waiter woken by that completion finds it.
 * @param cancel - called for each group of the chain that cancels on error, with its index in `chain`
 *   and the failure's ordinal if the log kept it
 */
export function recordIn(
  tree: Tree,
  chain: readonly Int32Array[],
  id: number,
  value: unknown,
  origin: FailureOrigin,
  cancel: (index: number, kept: number | undefined) => void,
): void {
  const ordinal = recordFailure(tree, id, value, origin);
  const kept = ordinal < tree.log.maxFailures ? ordinal : undefined;
  chain.forEach((record, index) => {
    Atomics.add(record, H_FAILED, 1);
    if ((Atomics.load(record, H_FLAGS) & FLAG_CANCEL_ON_ERROR) !== 0) cancel(index, kept);
    // Wake whoever sleeps on the group (its unit is still pending, so they sleep again): they
    // rebuild the failure now, while the group runs, instead of every failure once it is done.
    if (Atomics.load(record, H_FAIL_WATCH) !== 0 && Atomics.exchange(record, H_FAIL_WATCH, 0) !== 0) Atomics.notify(record, H_PENDING);
  });
}
