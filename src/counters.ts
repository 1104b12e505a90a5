// Runs on both sides of a thread boundary: the changes to a group record's counters that every
// path (add, done, a failure, the sweep after a worker's death) shares, in the order waiters need.
import type { FailureOrigin } from './errors.js';
import { recordFailure } from './failures.js';
import {
  ADDED_CELLS,
  ADDED_CELL_WORDS,
  FLAG_CANCEL_ON_ERROR,
  H_ADDED_CELLS,
  H_ADDED_HI,
  H_ADDED_LO,
  H_FAILED,
  H_FAIL_WATCH,
  H_FLAGS,
  H_PENDING,
  MAX_UNITS,
  PENDING_UNIT,
  PENDING_WAITED,
} from './layout.js';
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

/** A cell's owner word while a sweep moves its count: neither free nor any thread's. */
const FOLDING = -1;

/**
 * Takes a cell of `record` (see H_ADDED_CELLS) for thread `thread`'s count of added units.
 * @returns the word of the cell's low count, or -1 when every cell is taken
 */
export function claimAddedCell(record: Int32Array, thread: number): number {
  // This thread's own, if an earlier object of the group in this thread (since collected) took one.
  for (let cell = 0; cell < ADDED_CELLS; cell++) {
    const owner = H_ADDED_CELLS + cell * ADDED_CELL_WORDS;
    if (Atomics.load(record, owner) === thread + 1) return owner + 1;
  }
  for (let cell = 0; cell < ADDED_CELLS; cell++) {
    const owner = H_ADDED_CELLS + cell * ADDED_CELL_WORDS;
    // A freed cell's count was moved to H_ADDED_LO/HI and zeroed before its owner word was.
    if (Atomics.compareExchange(record, owner, 0, thread + 1) === 0) return owner + 1;
  }
  return -1;
}

/**
 * Counts `units` added by this thread in its cell, whose low count is at word `low`: plain
 * writes, since no other thread writes the cell while its owner lives (the sweep after its death
 * is the only other writer). Readers in other threads see them once this thread's next atomic
 * operation has (on the processors Node runs on, at once).
 */
export function addInCell(record: Int32Array, low: number, units: number): void {
  const sum = ((record[low] ?? 0) >>> 0) + units;
  if (sum > 0xffffffff) record[low + 1] = ((record[low + 1] ?? 0) + 1) | 0;
  record[low] = sum | 0;
}

/** Low words of the 64-bit counts whose sum is a group's `added`: the shared count, then the cells. */
const ADDED_COUNTS = [H_ADDED_LO, ...Array.from({ length: ADDED_CELLS }, (_, cell) => H_ADDED_CELLS + cell * ADDED_CELL_WORDS + 1)];

/** Units ever added to the group of `record`: the shared count and every cell, read consistently. */
export function addedOf(record: Int32Array): number {
  for (;;) {
    let total = 0;
    let torn = false;
    for (const low of ADDED_COUNTS) {
      const hi = Atomics.load(record, low + 1);
      const lo = Atomics.load(record, low);
      // A count whose high word moved while it was read may pair an old high with a new low.
      torn ||= Atomics.load(record, low + 1) !== hi;
      total += hi * 2 ** 32 + (lo >>> 0);
    }
    if (!torn) return total;
  }
}

/**
 * Moves the count of dead thread `thread`'s cell in `record` to the shared count and frees the
 * cell for another thread. The count is in both places for an instant, never in neither.
 */
export function foldAddedCell(record: Int32Array, thread: number): void {
  for (let cell = 0; cell < ADDED_CELLS; cell++) {
    const owner = H_ADDED_CELLS + cell * ADDED_CELL_WORDS;
    // Several threads may sweep up after the same death: only the one that marks the cell moves it.
    if (Atomics.compareExchange(record, owner, thread + 1, FOLDING) !== thread + 1) continue;
    const lo = Atomics.load(record, owner + 1) >>> 0;
    const hi = Atomics.load(record, owner + 2);
    addCounter64(record, H_ADDED_LO, lo);
    if (hi !== 0) Atomics.add(record, H_ADDED_HI, hi);
    Atomics.store(record, owner + 1, 0);
    Atomics.store(record, owner + 2, 0);
    Atomics.store(record, owner, 0);
  }
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
