// Runs on both sides of a thread boundary: a group's record as the protocol sees it (views of its
// words), and the changes to its laned counters that every path shares (add, done, a failure,
// the sweep after a worker's death), in the order waiters need. See docs/protocol.md.
import {
  COUNT_UNIT,
  FLAG_CANCEL_ON_ERROR,
  GROUP_WORDS,
  H_ADDED_CELLS,
  H_FAILED,
  H_FAIL_WATCH,
  H_FLAGS,
  H_PENDING,
  LANES,
  PENDING_WAITED,
} from './layout.js';

/** One group's record in the tree buffer, as three views of the same GROUP_WORDS words. */
export interface GroupRecord {
  readonly id: number;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly f64: Float64Array;
}

/** The views of the record at byte `offset` of `buffer`. */
export function recordAt(buffer: SharedArrayBuffer, offset: number, id: number): GroupRecord {
  return {
    id,
    i32: new Int32Array(buffer, offset, GROUP_WORDS),
    i64: new BigInt64Array(buffer, offset, GROUP_WORDS / 2),
    f64: new Float64Array(buffer, offset, GROUP_WORDS / 2),
  };
}

/** Level `level` of a group chain (0: the group, 1: its parent, ...). */
export function levelOf(chain: readonly GroupRecord[], level: number): GroupRecord {
  const record = chain[level];
  if (record === undefined) throw new RangeError(`level ${level} is past the chain's root (depth ${chain.length - 1})`);
  return record;
}

/** The count of the laned counter at Int32 word `at` of a record. */
export function countOf(record: GroupRecord, at: number): number {
  return Number(Atomics.load(record.i64, at / 2) >> 32n);
}

/** The pending units of a record. */
export function pendingOf(record: GroupRecord): number {
  return countOf(record, H_PENDING);
}

/** Whether a pending word read before a lowering by `units` was the last of the count, the zero waiters sleep for. */
export function reachedZero(before: bigint, units: number): boolean {
  return before >> 32n === BigInt(units);
}

/**
 * Wakes the threads asleep on a pending word after the lowering that read `before` took it to
 * zero, if any flagged themselves. A waiter sets PENDING_WAITED before it sleeps on the value that
 * includes it, so either the lowering sees the flag, or the waiter's sleep sees the new count and
 * does not start. Skipping notify() when nobody waits saves most of the cost of a done().
 */
export function wakeIfWaited(record: GroupRecord, before: bigint): void {
  if ((before & PENDING_WAITED) === 0n) return;
  // Cleared before the notify: a thread that set the flag again just before the clear is either
  // not asleep yet (its expected value no longer matches) or is woken by the notify below, and
  // sets it again before it sleeps. Clearing keeps later completions from notifying for nobody.
  Atomics.and(record.i64, H_PENDING / 2, ~PENDING_WAITED);
  Atomics.notify(record.i64, H_PENDING / 2);
}

/**
 * Tells completions that this thread is about to sleep on the pending word, and failures that it
 * wants to rebuild them as they come (see H_FAIL_WATCH).
 * @returns the word to sleep on (the flag included), or undefined when the count is already zero
 */
export function flagWaiting(record: GroupRecord): bigint | undefined {
  // Atomic, so that it is ordered before the sleep that follows.
  if (Atomics.load(record.i32, H_FAIL_WATCH) === 0) Atomics.store(record.i32, H_FAIL_WATCH, 1);
  const before = Atomics.or(record.i64, H_PENDING / 2, PENDING_WAITED);
  return before >> 32n === 0n ? undefined : before | PENDING_WAITED;
}

/** Wakes the threads sleeping on a group's pending word that asked to rebuild failures as they come. */
export function wakeFailureWatchers(record: GroupRecord): void {
  // Their task is still pending, so they sleep again once they have rebuilt the failure.
  if (Atomics.load(record.i32, H_FAIL_WATCH) !== 0 && Atomics.exchange(record.i32, H_FAIL_WATCH, 0) !== 0) {
    Atomics.notify(record.i64, H_PENDING / 2);
  }
}

/** True when the group cancels itself on its first failure. */
export function cancelsOnError(record: GroupRecord): boolean {
  return (Atomics.load(record.i32, H_FLAGS) & FLAG_CANCEL_ON_ERROR) !== 0;
}

/** Float64 index of lane `lane`'s added cell in a record. */
export function cellOf(lane: number): number {
  return H_ADDED_CELLS / 2 + lane;
}

/** Units ever added to the group: the sum of its lanes' cells. */
export function addedOf(record: GroupRecord): number {
  let total = 0;
  for (let lane = 0; lane < LANES; lane++) total += record.f64[cellOf(lane)] ?? 0;
  return total;
}

/** The failures recorded in a group and its descendants. */
export function failedOf(record: GroupRecord): number {
  return countOf(record, H_FAILED);
}

/** A delta of `units` counts (negative to lower) that also flips the lane bit `bit` from `parity`. */
export function laneDelta(units: number, bit: bigint, parity: 0 | 1): bigint {
  const count = BigInt(units) * COUNT_UNIT;
  return parity === 0 ? count + bit : count - bit;
}
