// Runs on both sides of a thread boundary: a group's record as the protocol sees it (views of its
// words), and the changes to its laned counters that every path shares (add, done, a failure,
// the sweep after a worker's death), in the order waiters need. See docs/protocol.md.
import * as layout from './layout.js';

// Imported bindings are live: V8 loads one from its module's cell, with a check that it is
// initialized, at every use, and cannot fold it into optimized code; it folds this module's own
// constants. So the hot paths read copies.
const { FLAG_CANCEL_ON_ERROR, GROUP_WORDS, H_ADDED_CELLS, H_FAILED, H_FAIL_WATCH, H_FLAGS, H_NAME16, H_NAME_LEN, H_PENDING, H_RUNNING, HI32, NAME_UNITS, LANES, LO32, MAX_UNITS, PENDING_WAITED } = layout;

/** One group's record in the tree buffer, as views of the same GROUP_WORDS words. */
export interface GroupRecord {
  readonly id: number;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly f64: Float64Array;
  readonly u16: Uint16Array;
  /**
   * This thread's lane bits in the record's laned counters as this thread left them (bit 0:
   * H_PENDING, bit 1: H_FAILED, bit 2: H_RUNNING), or -1 before it first needs one. Records are
   * this thread's own objects, one per group (Tree#record caches them: a second object for the
   * same record would keep a second copy that the first one's steps do not flip), and only a
   * lane's thread flips its bits while it lives, so this copy is exact: a step need not read the
   * word it is about to change (see myParity()).
   */
  mine: number;
}

/** The views of the record at byte `offset` of `buffer`. */
export function recordAt(buffer: SharedArrayBuffer, offset: number, id: number): GroupRecord {
  return {
    id,
    i32: new Int32Array(buffer, offset, GROUP_WORDS),
    i64: new BigInt64Array(buffer, offset, GROUP_WORDS / 2),
    f64: new Float64Array(buffer, offset, GROUP_WORDS / 2),
    u16: new Uint16Array(buffer, offset, GROUP_WORDS * 2),
    mine: -1,
  };
}

/**
 * This thread's lane bit (`bit`: its Lane#bit) in the laned counter at Int32 word `at` (H_PENDING,
 * H_FAILED or H_RUNNING) of `record`, before its next step there: what it journals with the step.
 * From the record's thread-local copy (GroupRecord#mine), read from shared memory only the first
 * time. Reading the word itself right before the atomic step would fetch its cache line twice
 * when other threads are changing it (shared for the read, then exclusive for the step). Every
 * step this thread makes there must then call stepped().
 */
export function myParity(record: GroupRecord, bit: number, at: number): 0 | 1 {
  // Small, so that V8 inlines it into the hot paths; the first reading is out of line.
  const mine = record.mine < 0 ? readMine(record, bit) : record.mine;
  return (mine >> ((at - H_PENDING) >> 1)) & 1 ? 1 : 0;
}

/** Fills GroupRecord#mine from shared memory: this thread's first step in the record. */
function readMine(record: GroupRecord, bit: number): number {
  const i32 = record.i32;
  return (record.mine = ((i32[H_PENDING + LO32] ?? 0) & bit ? 1 : 0) | ((i32[H_FAILED + LO32] ?? 0) & bit ? 2 : 0) | ((i32[H_RUNNING + LO32] ?? 0) & bit ? 4 : 0));
}

/** Notes in the thread-local copy that this thread's step at word `at` of `record` happened: its lane bit flipped. */
export function stepped(record: GroupRecord, at: number): void {
  record.mine ^= 1 << ((at - H_PENDING) >> 1);
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

/** Writes a group's name into its record (before the record is published). */
export function writeName(record: GroupRecord, name: string): void {
  const kept = name.length <= NAME_UNITS ? name : `…${name.slice(name.length - NAME_UNITS + 1)}`;
  for (let i = 0; i < kept.length; i++) record.u16[H_NAME16 + i] = kept.charCodeAt(i);
  record.i32[H_NAME_LEN] = kept.length;
}

/** The name kept in a group's record. */
export function nameOf(record: GroupRecord): string {
  const length = Math.min(Math.max(record.i32[H_NAME_LEN] ?? 0, 0), NAME_UNITS);
  return String.fromCharCode(...record.u16.subarray(H_NAME16, H_NAME16 + length));
}

/** The pending units of a record. */
export function pendingOf(record: GroupRecord): number {
  return countOf(record, H_PENDING);
}

/**
 * Whether the count of the laned counter at Int32 word `at` passes MAX_UNITS, read right after
 * this thread's raise of it. A plain read of the high half: the raise's own result would be a
 * BigInt, whose allocation costs more than the rest of an add(). A raise by another thread that
 * passed the limit at the same time is seen too; then both undo theirs, as when one raise reads
 * the other's in its result.
 */
export function overLimit(record: GroupRecord, at: number): boolean {
  return ((record.i32[at + HI32] ?? 0) >>> 0) > MAX_UNITS;
}

/**
 * Wakes the threads asleep on a pending word if the count is zero now, read right after this
 * thread lowered it, and a waiter flagged itself (PENDING_WAITED). A waiter sets the flag before
 * it sleeps on the value that includes it; a lowering that reads zero after its step then sees the
 * flag and notifies, or the waiter's sleep sees the changed value and does not start. A lowering
 * that reads a count raised again by an add just after it leaves the flag set: the lowering that
 * ends the new work notifies instead (no waiter is due to wake while work is pending). Skipping
 * notify() when nobody waits saves most of the cost of a done().
 */
export function wakeAtZero(record: GroupRecord): void {
  if (atZero(record)) wakeWaiters(record);
}

/** wakeAtZero()'s test, apart so that a hot path inlines it and calls wakeWaiters() only when due. */
export function atZero(record: GroupRecord): boolean {
  const i32 = record.i32;
  return (i32[H_PENDING + HI32] ?? 0) === 0 && ((i32[H_PENDING + LO32] ?? 0) & 1) !== 0;
}

/** wakeAtZero() once its test passed: clears PENDING_WAITED and wakes the sleepers. */
export function wakeWaiters(record: GroupRecord): void {
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

/**
 * Float64 index of lane `lane`'s added cell in a record. The cells fill four cache lines of eight,
 * lanes dealt round them (lanes 0-3 each start a line, 4-7 come second, ...), so that threads
 * adding to one group at once each write a line of their own: with lanes side by side, every add
 * of three threads took the same line from the others (benchmark 8).
 */
export function cellOf(lane: number): number {
  return H_ADDED_CELLS / 2 + (lane & 3) * 8 + (lane >> 2);
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
