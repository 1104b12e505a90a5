// What the benchmark workers and the main thread that drives them share: the marks' words, the
// jobs, and the error failing tasks throw. Both sides import this module; it has no side effects.
import type { MessagePort } from 'node:worker_threads';
import type { SharedTask, SharedWaitGroup } from '../src/index.js';

/** Words of the marks array. */
export const READY = 0;
export const GO = 1;
export const FINISHED = 2;

export interface BenchAgentData {
  readonly marks: Int32Array;
  /** Where `post` and `post-error` jobs send their messages. */
  readonly port: MessagePort;
}

export type BenchJob =
  /** `n` done() on a task of n units that the main thread added. */
  | { readonly op: 'done'; readonly task: SharedTask; readonly n: number }
  /** `n` add().done() pairs on the group. */
  | { readonly op: 'add-done'; readonly group: SharedWaitGroup; readonly n: number }
  /** `n` messages, one per completion. */
  | { readonly op: 'post'; readonly n: number }
  /** `n` decrements of a counter, notifying only the one that reaches zero. */
  | { readonly op: 'count-down'; readonly counter: Int32Array; readonly n: number }
  /** `n` Atomics.add + Atomics.sub pairs on one word. */
  | { readonly op: 'add-sub'; readonly counter: Int32Array; readonly n: number }
  /** `n` tasks added and failed with a new error each. */
  | { readonly op: 'fail'; readonly group: SharedWaitGroup; readonly n: number }
  /** `n` new errors, each posted as it is. */
  | { readonly op: 'post-error'; readonly n: number };

export interface BenchMessage {
  readonly round: number;
  readonly job: BenchJob;
}

/** The error every failing task throws: a built-in class with a code and a cause. */
export function benchError(i: number): Error {
  return Object.assign(new RangeError(`task ${i} failed`, { cause: new TypeError('root cause') }), { code: 'E_BENCH' });
}


/** Words of the latency marks: the task is armed, the waiter is about to sleep, the waiter woke. */
export const ARMED = 0;
export const WAITING = 1;
export const WOKE = 2;

/** How a hand-off is made: our group, a raw Atomics word, or a message. */
export type HandOff = 'ours' | 'raw' | 'message';

export interface LatencyData {
  readonly marks: Int32Array;
  /** For hand-off i: [2i] when the completer starts (ns, hrtime), [2i + 1] when the waiter resumes. */
  readonly times: BigInt64Array;
  /** The other end of the message hand-off. */
  readonly port: MessagePort;
}

export interface LatencyJob {
  readonly role: 'completer' | 'waiter';
  readonly how: HandOff;
  /** Marks count hand-offs over the worker's life: this job's hand-offs are base + 1 to base + n. */
  readonly base: number;
  readonly n: number;
  readonly group: SharedWaitGroup;
  /** The raw word: 1 while the hand-off is armed, 0 once completed. */
  readonly word: Int32Array;
}

/** How long the completer lets the waiter get to sleep once it said it is about to (ns). */
export const SETTLE_NS = 100_000;

/** Busy-waits `ns` nanoseconds: lets a thread that was just told to sleep get to sleep. */
export function spin(ns: number): void {
  const until = process.hrtime.bigint() + BigInt(ns);
  while (process.hrtime.bigint() < until) {
    // spinning on purpose
  }
}
