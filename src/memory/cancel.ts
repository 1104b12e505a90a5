// Runs on both sides of a thread boundary: a group's cancellation flag and reason live in its
// header, so `cancelled` is a single shared-memory read in any thread, and each thread that asked
// for `signal` watches the flag with Atomics.waitAsync (which never keeps a thread alive).
import { threadId } from 'node:worker_threads';
import { decodeFailure, encodeFailure } from '../errors/envelope.js';
import { describe } from '../errors/errors.js';
import type { GroupRecord } from './counters.js';
import type { FailureLog } from './failure-log.js';
import type { Lane } from './registry.js';
import {
  CANCEL_DONE,
  CANCEL_NONE,
  E_REASON_KIND,
  E_REASON_LENGTH,
  E_REASON_REF,
  cancelWriting,
  H_CANCEL,
  H_REASON_KIND,
  H_REASON_LENGTH,
  H_REASON_REF,
  REASON_FAILURE,
  REASON_MAX_BYTES,
  REASON_NONE,
  REASON_STORED,
} from './layout.js';

/** The reason a group cancelled without one gives, as `AbortController.abort()` does. */
export function defaultReason(group: string): DOMException {
  return new DOMException(`wait group "${group}" was cancelled`, 'AbortError');
}

/**
 * Marks the group cancelled, once: the first caller in any thread wins and stores its reason.
 * @param log - where a reason that is not a failure is stored, in the tree's failure-data budget
 * @param failure - ordinal of the failure that is the reason (cancelOnError), if it was kept in the log
 * @returns true if this call cancelled the group, false if it was already cancelled
 */
export function markCancelled(header: Int32Array, log: FailureLog, lane: Lane, group: string, reason: unknown, failure: number | undefined): boolean {
  if (Atomics.load(header, H_CANCEL) !== CANCEL_NONE) return false;
  return claimCancel(header, lane, failure, storeReason(log, group, reason, failure));
}

/**
 * `markCancelled()` for a group of a tree that may be private (tree.ts): the record's views are
 * read after the reason is encoded, since encoding runs the reason's own code (getters), which may
 * move a private tree to new memory.
 */
export function cancelRecord(record: GroupRecord, log: FailureLog, lane: Lane, group: string, reason: unknown, failure: number | undefined): boolean {
  if (Atomics.load(record.i32, H_CANCEL) !== CANCEL_NONE) return false;
  const stored = storeReason(log, group, reason, failure);
  return claimCancel(record.i32, lane, failure, stored);
}

/**
 * Stores a cancellation reason that is not a failure in the log's data area. Before the flag is
 * claimed, so other threads never wait on our serializer (a lost race wastes the bytes, which is
 * rare and bounded by the log's budget).
 */
function storeReason(log: FailureLog, group: string, reason: unknown, failure: number | undefined): { offset: number; length: number } | undefined {
  if (failure !== undefined || reason === undefined) return undefined;
  let bytes = encodeFailure(reason, { threadId, group });
  if (bytes.length > REASON_MAX_BYTES) {
    bytes = encodeFailure(`[cancellation reason too large to share] ${describe(reason).slice(0, 200)}`, { threadId, group });
  }
  return log.store(bytes);
}

function claimCancel(header: Int32Array, lane: Lane, failure: number | undefined, stored: { offset: number; length: number } | undefined): boolean {
  // The reason's fields go to our journal first: a sweeper that finds the cancel word still naming
  // us (we died writing them to the header) copies them from there (finishCancel).
  const journal = lane.journal;
  journal[E_REASON_KIND] = failure !== undefined ? REASON_FAILURE : stored !== undefined ? REASON_STORED : REASON_NONE;
  journal[E_REASON_REF] = failure ?? stored?.offset ?? 0;
  journal[E_REASON_LENGTH] = stored?.length ?? 0;
  // Claim first so two cancellers never interleave their reason fields. The claim names this
  // thread, so that if it dies before CANCEL_DONE a sweeper finishes the cancellation.
  if (Atomics.compareExchange(header, H_CANCEL, CANCEL_NONE, cancelWriting(lane.index)) !== CANCEL_NONE) return false;
  copyReason(journal, header);
  // Published after the reason: a thread that sees CANCEL_DONE can read the reason written above.
  Atomics.store(header, H_CANCEL, CANCEL_DONE);
  Atomics.notify(header, H_CANCEL);
  return true;
}

/**
 * The reason stored by `markCancelled`, rebuilt in the calling thread.
 * @param failureAt - rebuilds a failure of the tree's log by ordinal
 */
export function readReason(header: Int32Array, log: FailureLog, group: string, failureAt: (ordinal: number) => unknown): unknown {
  switch (header[H_REASON_KIND]) {
    case REASON_FAILURE:
      return failureAt(header[H_REASON_REF] ?? 0);
    case REASON_STORED:
      return decodeFailure(log.read(header[H_REASON_REF] ?? 0, header[H_REASON_LENGTH] ?? 0)).value;
    default:
      return defaultReason(group);
  }
}

const wakeOnCollect = new FinalizationRegistry<GroupRecord>((record) => {
  // Settles this thread's pending watcher of a collected group, so it stops holding the memory.
  // Watchers of live groups in other threads wake too, see the flag unchanged and wait again.
  Atomics.notify(record.i32, H_CANCEL);
});

/**
 * Calls `onCancel` in this thread once the group is cancelled by any thread, for as long as `owner` lives.
 * @param record - the group's record; its views are read at each wake (a private tree may move)
 * @param owner - the group object; once it is collected the watch ends
 */
export function watchCancel(record: GroupRecord, owner: object, onCancel: () => void): void {
  const ref = new WeakRef(owner);
  wakeOnCollect.register(owner, record);
  const arm = (): void => {
    const header = record.i32;
    const state = Atomics.load(header, H_CANCEL);
    if (state === CANCEL_DONE) {
      onCancel();
      return;
    }
    if (ref.deref() === undefined) return;
    // Waiting on the value just read closes the gap between the load and the wait: a cancel in
    // between makes waitAsync return 'not-equal' at once instead of sleeping through it.
    const result = Atomics.waitAsync(header, H_CANCEL, state);
    if (result.async) void result.value.then(arm);
    else queueMicrotask(arm);
  };
  arm();
}

/** True when the header says the group is cancelled (or a canceller is storing its reason). */
export function isCancelled(header: Int32Array): boolean {
  return Atomics.load(header, H_CANCEL) !== CANCEL_NONE;
}

/**
 * Waits, briefly spinning, for a canceller that has claimed the flag to finish writing its reason
 * (a canceller that died meanwhile is finished by the sweep after its death).
 */
export function settleCancel(header: Int32Array): void {
  for (let state = Atomics.load(header, H_CANCEL); state < 0; state = Atomics.load(header, H_CANCEL)) Atomics.wait(header, H_CANCEL, state, 1);
}

/** Copies a canceller's journaled reason fields into the group's header. */
function copyReason(journal: Int32Array, header: Int32Array): void {
  header[H_REASON_KIND] = journal[E_REASON_KIND] ?? REASON_NONE;
  header[H_REASON_REF] = journal[E_REASON_REF] ?? 0;
  header[H_REASON_LENGTH] = journal[E_REASON_LENGTH] ?? 0;
}

/**
 * Finishes a cancellation that dead thread `lane` claimed and did not complete: with the reason it
 * had journaled before its claim. Of a group already cancelled, wakes its watchers: the thread that
 * cancelled it may have been this one, dead before its notify.
 */
export function finishCancel(header: Int32Array, lane: Lane): void {
  const writing = cancelWriting(lane.index);
  const state = Atomics.load(header, H_CANCEL);
  // The dead thread may have stored CANCEL_DONE and died before its notify, leaving the group's
  // watchers asleep (the explorer found this; v3-cancel). A wake too many costs a watcher a re-check.
  if (state === CANCEL_DONE) {
    Atomics.notify(header, H_CANCEL);
    return;
  }
  if (state !== writing) return;
  copyReason(lane.journal, header);
  if (Atomics.compareExchange(header, H_CANCEL, writing, CANCEL_DONE) === writing) Atomics.notify(header, H_CANCEL);
}
