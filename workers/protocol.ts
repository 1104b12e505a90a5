// The messages between a thread test and the agent worker (agent.ts), and the plain form in which
// thrown values travel back: structured clone keeps neither `code` nor the library's classes, so
// the worker describes what it caught (its classes by instanceof, its code, errors, origins...).
import {
  TaskGroupError,
  WaitGroupError,
  WaitTimeoutError,
  type FailureOrigin,
  type PendingTask,
  type SharedTask,
  type SharedWaitGroup,
  type WaitGroupStats,
} from '../src/index.js';
import type { Counters } from './sync.js';

/** A path into a structured value: keys and array indexes. */
export type Path = readonly (string | number)[];

/** An error for the worker to make (and throw, or pass to `done()`), so its stack is the worker's. */
export interface ErrorSpec {
  readonly ctor: 'Error' | 'TypeError' | 'RangeError' | 'SyntaxError';
  readonly message: string;
}

/** A cancellation reason for the worker to make. */
export type ReasonSpec = { readonly error: ErrorSpec } | { readonly text: string };

/** What a function started by `go()` in the worker does. `error` absent: it throws `undefined`. */
export type Behavior =
  | { readonly kind: 'ok' }
  | { readonly kind: 'throw'; readonly error?: ErrorSpec }
  | { readonly kind: 'reject'; readonly error?: ErrorSpec }
  /** Bumps mark `started`, then stays running until mark `hold` is set. */
  | { readonly kind: 'hold'; readonly started: number; readonly hold: number };

/** Marks that a function bumps when it starts: one if its group reads as cancelled, the other if not. */
export interface Seen {
  readonly cancelled: number;
  readonly live: number;
}

/** An Error as the worker saw it. */
export interface ErrorReport {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: unknown;
  /** The classes it is an instance of, among those of `CLASSES`. */
  readonly is: readonly string[];
  readonly errors: readonly Reported[] | undefined;
  readonly origins: readonly FailureOrigin[] | undefined;
  readonly omitted: number | undefined;
  readonly pending: readonly PendingTask[] | undefined;
}

/** A thrown value or a reason: an Error described, or any other (cloneable) value as is. */
export type Reported = { readonly error: ErrorReport } | { readonly value: unknown };

/** What a wait in the worker saw when it returned: the group's pending count and the marks. */
export interface Woke {
  readonly pending: number;
  readonly marks: readonly number[];
}

/** Every operation of the agent: its arguments and its result. */
export interface Ops {
  /** The worker's threadId: a round trip through the worker's event loop. */
  ping: { args: Record<string, never>; result: number };
  /** Names the group found at `path` in `value` (in workerData.data when `value` is absent). */
  attach: { args: { group: string; value?: unknown; path: Path }; result: string };
  /** Names the task found at `path` in `value`, rebuilt with Task.from(). */
  attachTask: { args: { task: string; value: unknown; path: Path }; result: number };
  add: { args: { group: string; task: string; count?: number; label?: string }; result: SharedTask };
  share: { args: { group: string }; result: SharedWaitGroup };
  /** `group.link(other)`. */
  link: { args: { group: string; other: string }; result: null };
  /** Makes a sub-group of `group` in the worker and names it `child`. */
  sub: { args: { group: string; child: string; label?: string }; result: SharedWaitGroup };
  /** Adds `count` one-unit tasks labelled `label`, kept together under the name `task`; returns how
   * many were added before `add()` threw (the rest), and what it threw. */
  addMany: { args: { group: string; task: string; count: number; label: string }; result: { added: number; thrown: Reported | undefined } };
  /** Completes every task kept under the name `task` by addMany. */
  doneMany: { args: { task: string }; result: number };
  /** Calls `done()` `times` times (default 1) and returns each result. */
  done: { args: { task: string; error?: ErrorSpec; times?: number }; result: { results: boolean[]; stack: string | undefined } };
  go: { args: { group: string; label?: string; behavior: Behavior }; result: { stack: string | undefined } };
  tryGo: { args: { group: string; label?: string; behavior: Behavior }; result: boolean };
  /** Adds and completes `units` units in every way (add/done, add(n), go, async go), holding the last one,
   * labelled `label`, until mark `hold` is set; emits event 'holding' when only that one is left. */
  work: { args: { group: string; units: number; label: string; hold: number }; result: { added: number; last: boolean } };
  /** `wait()`; bumps mark `after` when it settles, either way. */
  wait: { args: { group: string; timeout?: number; after?: number; cancelWhenDone?: boolean }; result: Woke };
  /** Emits event 'blocking', then `waitSync()`; bumps mark `after` when it returns or throws. */
  waitSync: { args: { group: string; timeout?: number; after?: number; cancelWhenDone?: boolean }; result: Woke };
  stats: { args: { group: string }; result: WaitGroupStats };
  pendingTasks: { args: { group: string }; result: PendingTask[] };
  cancel: { args: { group: string; reason?: ReasonSpec }; result: null };
  cancelled: { args: { group: string }; result: boolean };
  /** Emits event 'listening' once it listens to the group's signal; returns when it aborts. */
  abortReason: { args: { group: string }; result: { already: boolean; reason: Reported } };
  /** Loops without yielding until `cancelled`, setting mark `started` after 1000 iterations; returns the iterations. */
  spin: { args: { group: string; started: number }; result: number };
  /** Bumps mark `ready`, blocks until mark `start` is set, then calls `done()` `calls` times,
   * reading stats() after each; returns how many returned true and the lowest pending seen. */
  race: { args: { group: string; task: string; ready: number; start: number; calls: number; fail?: boolean }; result: { trues: number; minPending: number } };
  /** Blocks until at least `waiters` threads sleep on the group's pending count, then for each
   * task bumps mark `count` and calls `done()`. */
  doneWhenWaiting: { args: { group: string; waiters: number; tasks: readonly string[]; count: number }; result: boolean[] };
  /** Starts `fns` functions with `go()` that count themselves in `counters` (sync.ts countedRun). */
  limited: { args: { group: string; fns: number; counters: Counters }; result: null };
  /** Once mark `when` is set, `tryGo()` of a function that bumps mark `seen.cancelled` or
   * `seen.live`, as `cancelled` reads when it starts, and sets mark `done` once it has run; or, when
   * tryGo() returns false (its result), `go()` of such a function, and sets `done`. */
  tryGoWhen: { args: { group: string; label: string; when: number; done: number; seen: Seen }; result: boolean };
}

export type OpName = keyof Ops;

/** workerData of the agent. */
export interface AgentData {
  readonly marks: Int32Array;
  readonly data?: unknown;
}

export interface Request {
  readonly id: number;
  readonly op: OpName;
  readonly args: unknown;
}

export type FromWorker =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly thrown: Reported }
  | { readonly event: string; readonly data?: unknown };

const CLASSES: readonly (readonly [string, abstract new (...args: never[]) => unknown])[] = [
  ['TaskGroupError', TaskGroupError],
  ['WaitTimeoutError', WaitTimeoutError],
  ['WaitGroupError', WaitGroupError],
  ['AggregateError', AggregateError],
  ['DOMException', DOMException],
  ['RangeError', RangeError],
  ['TypeError', TypeError],
  ['SyntaxError', SyntaxError],
  ['Error', Error],
];

/** Describes a thrown value or reason for the trip back to the test. */
export function report(value: unknown): Reported {
  if (!(value instanceof Error)) return { value };
  const code: unknown = (value as { code?: unknown }).code;
  return {
    error: {
      name: value.name,
      message: value.message,
      stack: value.stack,
      code,
      is: CLASSES.filter(([, Class]) => value instanceof Class).map(([name]) => name),
      errors: value instanceof AggregateError ? (value.errors as unknown[]).map(report) : undefined,
      origins: value instanceof TaskGroupError ? [...value.origins] : undefined,
      omitted: value instanceof TaskGroupError ? value.omitted : undefined,
      pending: value instanceof WaitTimeoutError ? [...value.pending] : undefined,
    },
  };
}

const CONSTRUCTORS = { Error, TypeError, RangeError, SyntaxError };

export function makeError(spec: ErrorSpec): Error {
  return new CONSTRUCTORS[spec.ctor](spec.message);
}

export function makeReason(spec: ReasonSpec): unknown {
  return 'text' in spec ? spec.text : makeError(spec.error);
}
