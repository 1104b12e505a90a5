// Waiting for a group, asynchronously (Atomics.waitAsync) or by blocking (Atomics.wait).
// Both loops sleep on a pending-count word and re-check everything after every wake, so spurious
// or early wakes are harmless. Only a waiter that flagged the word (flagWaiting) before it slept
// is notified: when the count reaches zero, and when a failure is recorded, which the waiter
// rebuilds (prefetch) before it sleeps again, so that a wait's end does not rebuild them all.
import { expireClock } from '../platform/clock.js';
import { WaitTimeoutError, type PendingSummary, type PendingTask } from '../errors/errors.js';
import { flagWaiting, type GroupRecord } from '../memory/counters.js';
import { H_PENDING, H_WAITERS } from '../memory/layout.js';

/** A group record whose pending count was not zero when checked: the word to sleep on. */
export interface Blocker {
  readonly header: GroupRecord;
}

/** What a wait needs from a group. */
export interface Waitable {
  /** A pending word that is not zero yet, or undefined when the group and its links have nothing pending. */
  blocker(): Blocker | undefined;
  /**
   * Called when `blocker()` found nothing pending: the outcome, or RETRY when tasks were added
   * meanwhile so that nothing pending could not be confirmed.
   */
  outcome(): Error | undefined | typeof RETRY;
  /** The tasks still pending, for a timeout's report. */
  pendingTasks(): PendingTask[];
  /** What is pending, bounded: for a timeout's message. */
  pendingSummary(): PendingSummary;
  /** Rebuilds the failures recorded so far; cheap when there are none new. */
  prefetch(): void;
}

/** Returned by `outcome()` when the group changed while it was being checked. */
export const RETRY = Symbol('retry');

/** Pending tasks up to which a timeout lists them all at once; past it, when first asked. */
const LISTED_AT_ONCE = 10_000;

/** The error of a wait that ran out of time: a bounded summary, and the full list (now, or when asked for a large group). */
function timedOut(target: Waitable, timeout: number): WaitTimeoutError {
  const summary = target.pendingSummary();
  return new WaitTimeoutError(timeout, summary, summary.count <= LISTED_AT_ONCE ? target.pendingTasks() : () => target.pendingTasks());
}

/** Longest single timer Node accepts. */
const MAX_TIMER = 0x7fffffff;

/**
 * One interval per thread keeps it alive while any `wait()` sleeps in `Atomics.waitAsync` (which
 * does not): referenced while at least one does, unreferenced otherwise. Toggling a reference is
 * much cheaper than creating and clearing a timer around every sleep, which the wake path paid.
 */
let keepAlive: NodeJS.Timeout | undefined;
let sleeping = 0;

function holdAlive(): void {
  if (sleeping++ > 0) return;
  keepAlive ??= setInterval(() => undefined, MAX_TIMER);
  keepAlive.ref();
}

function letGo(): void {
  if (--sleeping === 0) keepAlive?.unref();
}

/**
 * Resolves when the group has nothing pending and no failure; rejects with the failure, a
 * `WaitTimeoutError`, or the signal's reason. Keeps the thread alive while it waits (a bare
 * Atomics.waitAsync does not).
 */
export async function waitAsync(target: Waitable, timeout: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  const deadline = performance.now() + timeout;
  let held = false;
  let blocker: Blocker | undefined;
  let abort: (() => void) | undefined;
  const aborted =
    signal &&
    new Promise<never>((_, reject) => {
      abort = () => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the user's reason, passed on as is
        reject(signal.reason);
      };
      signal.addEventListener('abort', abort, { once: true });
    });
  try {
    for (;;) {
      blocker = target.blocker();
      if (blocker === undefined) {
        const outcome = target.outcome();
        if (outcome === RETRY) continue;
        if (outcome !== undefined) throw outcome;
        return;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw timedOut(target, timeout);
      target.prefetch();
      if (!held) {
        holdAlive();
        held = true;
      }
      const { header } = blocker;
      Atomics.add(header.i32, H_WAITERS, 1);
      try {
        const value = flagWaiting(header);
        if (value === undefined) continue;
        const result = Atomics.waitAsync(header.i64, H_PENDING / 2, value, left === Infinity ? undefined : left);
        if (result.async) await (aborted ? Promise.race([result.value, aborted]) : result.value);
      } finally {
        Atomics.sub(header.i32, H_WAITERS, 1);
      }
    }
  } finally {
    if (held) letGo();
    if (abort) signal?.removeEventListener('abort', abort);
    // An abort leaves our waitAsync registered on the word: wake it so it lets go of the memory.
    // Other waiters on the word wake too, find nothing changed and sleep again.
    if (signal?.aborted && blocker) Atomics.notify(blocker.header.i64, H_PENDING / 2);
  }
}

/**
 * Blocks the calling thread until the group has nothing pending; throws the failure or a
 * `WaitTimeoutError`. Works while every other thread is blocked too: all it reads is shared memory.
 */
export function waitSync(target: Waitable, timeout: number): void {
  const deadline = performance.now() + timeout;
  for (;;) {
    const blocker = target.blocker();
    if (blocker === undefined) {
      const outcome = target.outcome();
      if (outcome === RETRY) continue;
      if (outcome !== undefined) throw outcome;
      return;
    }
    const left = deadline - performance.now();
    if (left <= 0) throw timedOut(target, timeout);
    target.prefetch();
    expireClock();
    Atomics.add(blocker.header.i32, H_WAITERS, 1);
    try {
      const value = flagWaiting(blocker.header);
      if (value !== undefined) Atomics.wait(blocker.header.i64, H_PENDING / 2, value, left);
    } finally {
      Atomics.sub(blocker.header.i32, H_WAITERS, 1);
    }
  }
}
