// The error classes of the library and the argument checks that throw them.
import { inspect } from 'node:util';

/**
 * Stable codes of the `WaitGroupError`s this library throws; assert on these, never on messages.
 * (Four other classes have one code each: `InvalidArgumentTypeError` ERR_INVALID_ARG_TYPE,
 * `OutOfRangeError` ERR_OUT_OF_RANGE, `UnknownOptionError` ERR_UNKNOWN_OPTION, `TaskGroupError`
 * ERR_TASKS_FAILED.)
 *
 * - `ERR_CAPACITY_EXCEEDED`: `add()`, `go()` or `tryGo()` with `capacity` tasks pending in the tree
 * - `ERR_GROUP_LIMIT_EXCEEDED`: `sub()` when the tree already made `maxGroups` groups
 * - `ERR_PENDING_OVERFLOW`: a group's pending count would pass 2^31 - 1 units
 * - `ERR_INVALID_SHARED_VALUE`: `WaitGroup.from()` or `Task.from()` given a value `share()` did not make
 * - `ERR_LAYOUT_VERSION`: the same, given a value from a copy of the library with another `LAYOUT_VERSION`
 * - `ERR_LINK_CYCLE`: `link()` would make a group wait for itself
 * - `ERR_LINK_NOT_SHARED`: a wait in a thread whose copy of the group was shared before a `link()`
 * - `ERR_LINK_LIMIT`: `link()` on a group that already links to the most groups it can
 * - `ERR_WAIT_TIMEOUT`: a `WaitTimeoutError`
 * - `ERR_WORKER_EXITED`: a `WorkerExitedError`, a task failed because its thread exited holding it
 * - `ERR_PISCINA_ATOMICS_SYNC`: `new TrackedPool()` over a pool with piscina's default `atomics: 'sync'`
 * - `ERR_PISCINA_IDLE_TIMEOUT`: `new TrackedPool()` over a pool that removes idle workers above `minThreads`
 * - `ERR_POOL_CLOSED`: `TrackedPool#run()` once `shutdown()` has begun
 * - `ERR_NOT_TRACKED`: a `tracked()` function called with a payload `TrackedPool#run()` did not send
 * - `ERR_UNTRACKED_FUNCTION`: `TrackedPool#run()` answered by a task function not wrapped with `tracked()`
 * - `ERR_NOT_A_WORKER`: `exposeToParent()` called on the main thread
 * - `ERR_THREAD_LIMIT`: a thread's first use of a group tree that 31 live threads use already
 * - `ERR_COMLINK_MISMATCH`: a comlink call's failure sent by a thread whose comlink transfer handlers
 *   do not match this thread's (one side did not register them, or runs another version)
 * - `ERR_MAIN_THREAD_BLOCK`: `waitSync()` on the main thread without a finite `timeout` or `blockMainThread: true`
 * - `ERR_NOT_SPAWNED`: `spawned()` in a thread that `spawn()` did not start
 * - `ERR_TREE_BUSY`: `sub()` or `share()` called by a failure's own code (a getter run while
 *   `cancelOnError` records it) when the group's memory, private to its thread so far, would have to move
 */
export type WaitGroupErrorCode =
  | 'ERR_CAPACITY_EXCEEDED'
  | 'ERR_GROUP_LIMIT_EXCEEDED'
  | 'ERR_PENDING_OVERFLOW'
  | 'ERR_INVALID_SHARED_VALUE'
  | 'ERR_LAYOUT_VERSION'
  | 'ERR_LINK_CYCLE'
  | 'ERR_LINK_NOT_SHARED'
  | 'ERR_LINK_LIMIT'
  | 'ERR_WAIT_TIMEOUT'
  | 'ERR_WORKER_EXITED'
  | 'ERR_PISCINA_ATOMICS_SYNC'
  | 'ERR_PISCINA_IDLE_TIMEOUT'
  | 'ERR_POOL_CLOSED'
  | 'ERR_NOT_TRACKED'
  | 'ERR_UNTRACKED_FUNCTION'
  | 'ERR_NOT_A_WORKER'
  | 'ERR_THREAD_LIMIT'
  | 'ERR_COMLINK_MISMATCH'
  | 'ERR_MAIN_THREAD_BLOCK'
  | 'ERR_NOT_SPAWNED'
  | 'ERR_TREE_BUSY';

/**
 * Longest group name or task label kept where it crosses threads (a failure's origin, a group's
 * name in `share()`), in UTF-16 units; a longer one is cut, with a trailing '…'.
 */
export const MAX_NAME = 1024;

/** `text` cut to `max` UTF-16 units with a trailing '…', never between the halves of a surrogate pair. */
export function boundText(text: string, max = MAX_NAME): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** A printable rendering of any value, for messages. Never throws. */
export function describe(value: unknown): string {
  try {
    return inspect(value, { depth: 1, breakLength: Infinity, maxStringLength: 80, maxArrayLength: 5 });
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * An operation on a wait group that cannot proceed; `code` says why (see `WaitGroupErrorCode`).
 * `WaitTimeoutError` and `WorkerExitedError` are subclasses.
 */
export class WaitGroupError extends Error {
  /** A stable identifier of the failure, e.g. `ERR_CAPACITY_EXCEEDED`. */
  readonly code: WaitGroupErrorCode;

  /**
   * @param code - stable identifier of the failure
   * @param message - what was received and what was expected
   * @param options - standard error options (`cause`)
   */
  constructor(code: WaitGroupErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  static {
    this.prototype.name = 'WaitGroupError';
  }
}

/** An argument of the wrong type. Code `ERR_INVALID_ARG_TYPE`, as Node's own. */
export class InvalidArgumentTypeError extends TypeError {
  /** Always `ERR_INVALID_ARG_TYPE`. */
  readonly code = 'ERR_INVALID_ARG_TYPE';
  static {
    this.prototype.name = 'InvalidArgumentTypeError';
  }
}

/** A number outside the accepted range. Code `ERR_OUT_OF_RANGE`, as Node's own. */
export class OutOfRangeError extends RangeError {
  /** Always `ERR_OUT_OF_RANGE`. */
  readonly code = 'ERR_OUT_OF_RANGE';
  static {
    this.prototype.name = 'OutOfRangeError';
  }
}

/**
 * An options object with a key the function does not take (a misspelt `cancelOnEror`, say), which
 * would otherwise be ignored without a word. Code `ERR_UNKNOWN_OPTION`.
 */
export class UnknownOptionError extends TypeError {
  /** Always `ERR_UNKNOWN_OPTION`. */
  readonly code = 'ERR_UNKNOWN_OPTION';
  /** The key that is not an option. */
  readonly option: string;
  /** The options the function takes. */
  readonly accepted: readonly string[];

  /**
   * @param option - the unknown key
   * @param accepted - the options the function takes
   * @param where - the options argument, as named in the message (e.g. `wait() options`)
   */
  constructor(option: string, accepted: readonly string[], where: string) {
    const near = accepted.find((name) => name.toLowerCase() === option.toLowerCase() || distance(name, option) <= 2);
    super(`${describe(option)} is not one of the ${where}${near === undefined ? '' : ` (did you mean ${near}?)`}; they are: ${accepted.join(', ')}`);
    this.option = option;
    this.accepted = accepted;
  }

  static {
    this.prototype.name = 'UnknownOptionError';
  }
}

/** Levenshtein distance of two short strings. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/**
 * Checks that `options` (an object) has no own key outside `accepted`.
 * @param where - the options argument, as named in the message (e.g. `wait() options`)
 * @throws {UnknownOptionError} ERR_UNKNOWN_OPTION naming the first unknown key
 */
export function checkKnownOptions(options: object, accepted: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!accepted.includes(key)) throw new UnknownOptionError(key, accepted, where);
  }
}

/** A pending task as reported by `pendingTasks()` and `WaitTimeoutError`. */
export interface PendingTask {
  /** The label given to `add()` or `go()`, truncated to 75 UTF-16 units with a trailing '…'. */
  readonly label?: string;
  /** The group's name, its path from the root (`root/downloads`); its last 64 UTF-16 units in threads that never held the group. */
  readonly group: string;
  /** Thread that holds the task: the last one to create it or rebuild it with `Task.from()`. */
  readonly threadId: number;
  /** When the task was added, in ms since the epoch (`Date.now()`). */
  readonly since: number;
  /** Units still to be done. */
  readonly remaining: number;
}

/** What a wait was still waiting for when it timed out: bounded, however many tasks are pending. */
export interface PendingSummary {
  /** Tasks pending. */
  readonly count: number;
  /** The oldest of them (at most 10), oldest first. */
  readonly oldest: readonly PendingTask[];
  /** Pending tasks by the threadId of the thread holding them. */
  readonly byThread: ReadonlyMap<number, number>;
  /** Pending tasks by group name. */
  readonly byGroup: ReadonlyMap<string, number>;
  /**
   * Pending tasks by label, for the 100 labels with the most tasks (most first; tasks with no
   * label are not counted). Read from shared memory when first asked, not at the timeout: it costs
   * what `pendingTasks()` costs (labels are free text, often one per task, so counting them means
   * reading every one), and it counts what is pending then.
   */
  readonly byLabel: ReadonlyMap<string, number>;
}

/**
 * A wait that ran out of time. Code `ERR_WAIT_TIMEOUT`. `summary` says what it was still waiting
 * for (counts, and the oldest tasks), read when it timed out at a cost bounded by the tasks' number,
 * not their labels; `pending` lists every pending task, read from shared memory when first asked for.
 */
export class WaitTimeoutError extends WaitGroupError {
  /** What was pending when the timeout expired. */
  readonly summary: PendingSummary;
  #pending: readonly PendingTask[] | (() => readonly PendingTask[]);

  /**
   * @param timeout - the timeout that expired, in ms
   * @param summary - what was pending then
   * @param pending - every pending task, or how to list them when asked
   */
  constructor(timeout: number, summary: PendingSummary, pending: readonly PendingTask[] | (() => readonly PendingTask[])) {
    const now = Date.now();
    const shown = summary.oldest.map((t) => `${t.label ?? '(no label)'} in ${t.group} on thread ${t.threadId}, ${now - t.since} ms old`).join('; ');
    const more = summary.count > summary.oldest.length ? `; and ${summary.count - summary.oldest.length} more` : '';
    const threads = [...summary.byThread].map(([thread, count]) => `${count} on thread ${thread}`).join(', ');
    super('ERR_WAIT_TIMEOUT', `wait timed out after ${timeout} ms with ${summary.count} tasks pending (${threads}): ${shown}${more}`);
    this.summary = summary;
    this.#pending = pending;
  }

  /** Every pending task, oldest first: as listed when the timeout expired (for more than 10,000, when first read). */
  get pending(): readonly PendingTask[] {
    if (typeof this.#pending === 'function') this.#pending = this.#pending();
    return this.#pending;
  }

  static {
    this.prototype.name = 'WaitTimeoutError';
  }
}

/**
 * The failure of a task whose thread exited (crashed, was terminated, or ended) while holding it.
 * Code `ERR_WORKER_EXITED`.
 */
export class WorkerExitedError extends WaitGroupError {
  /** Id of the thread that exited. */
  readonly threadId: number;
  /** Its exit code, where known. */
  readonly exitCode: number | undefined;
  /** Units of the task that were still pending. */
  readonly units: number;
  /** The label of the task it held (for a `wrapWorker()` call, the method called, e.g. `'index()'`), if it had one. */
  readonly label: string | undefined;

  /**
   * @param threadId - the thread that exited
   * @param exitCode - its exit code, if known
   * @param label - the label of the task it held
   * @param units - units of the task still pending
   */
  constructor(threadId: number, exitCode: number | undefined, label: string | undefined, units: number) {
    const task = label === undefined ? 'a task' : `task ${describe(label)}`;
    super('ERR_WORKER_EXITED', `thread ${threadId} exited${exitCode === undefined ? '' : ` with code ${exitCode}`} while holding ${task} (${units} unit${units === 1 ? '' : 's'} pending)`);
    this.threadId = threadId;
    this.exitCode = exitCode;
    this.units = units;
    this.label = label;
  }

  static {
    this.prototype.name = 'WorkerExitedError';
  }
}

/** Where a failure was recorded. */
export interface FailureOrigin {
  /** Thread that recorded the failure. */
  readonly threadId: number;
  /** Name of the group the task belonged to. */
  readonly group: string;
  /** Label of the failed task, if it had one. */
  readonly label?: string;
}

/**
 * The outcome of a wait on a group where tasks failed: every failure in `.errors`, in the order they
 * were recorded, and the first as `.cause`. Code `ERR_TASKS_FAILED`. Its message names the first
 * failure (class, `code`, message cut to 300 characters, task label), so that one left uncaught
 * says in a log what failed.
 * @example
 * ```ts
 * try {
 *   await group.wait();
 * } catch (error) {
 *   if (!(error instanceof TaskGroupError)) throw error; // a timeout, or the signal's reason
 *   error.errors.forEach((failure, i) => console.error(error.origins[i], failure));
 *   if (error.omitted > 0) console.error(`and ${error.omitted} more`);
 * }
 * ```
 */
export class TaskGroupError extends AggregateError {
  /** Always `ERR_TASKS_FAILED`. */
  readonly code = 'ERR_TASKS_FAILED';
  /** Failures counted but not kept in full (past the group's `maxFailures` or byte budget). */
  readonly omitted: number;
  /** Where each entry of `.errors` came from, index for index. */
  readonly origins: readonly FailureOrigin[];

  /**
   * @param errors - the failures, oldest first
   * @param origins - where each failure was recorded
   * @param omitted - failures that were counted but not kept
   * @param group - the name of the group waited for
   */
  constructor(errors: readonly unknown[], origins: readonly FailureOrigin[], omitted: number, group: string) {
    const total = errors.length + omitted;
    const first = errors.length === 0 ? '' : `; the first: ${summarize(errors[0])}${origins[0]?.label === undefined ? '' : ` (task ${describe(origins[0].label)})`}`;
    super(errors, `${total} task${total === 1 ? '' : 's'} of group "${group}" failed${first}`, { cause: errors[0] });
    this.omitted = omitted;
    this.origins = origins;
  }

  static {
    this.prototype.name = 'TaskGroupError';
  }
}

/** Longest message of a failure quoted in a `TaskGroupError`'s message. */
const QUOTED_MESSAGE = 300;

/**
 * A failure in one line, for the message of the `TaskGroupError` it is the first of: its class
 * (name), `code` and message, cut to QUOTED_MESSAGE characters; any other value described. Never throws.
 */
function summarize(failure: unknown): string {
  try {
    if (!(failure instanceof Error)) return describe(failure).slice(0, QUOTED_MESSAGE);
    const code: unknown = (failure as { code?: unknown }).code;
    const message = failure.message.replace(/\s*\n\s*/g, ' ');
    const quoted = message.length > QUOTED_MESSAGE ? `${message.slice(0, QUOTED_MESSAGE)}…` : message;
    return `${failure.name}${typeof code === 'string' || typeof code === 'number' ? ` [${code}]` : ''}: ${quoted}`;
  } catch {
    return describe(failure).slice(0, QUOTED_MESSAGE);
  }
}

/** @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when `value` is neither a string nor undefined */
export function checkLabel(value: unknown, name = 'label'): asserts value is string | undefined {
  // The throw is out of line: add() calls this on every task, and V8 inlines small functions only.
  if (value !== undefined && typeof value !== 'string') notALabel(value, name);
}

function notALabel(value: unknown, name: string): never {
  throw new InvalidArgumentTypeError(`${name} must be a string or undefined; received ${describe(value)}`);
}

/**
 * Checks an integer argument.
 * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when `value` is not a number
 * @throws {OutOfRangeError} ERR_OUT_OF_RANGE when it is not an integer in [min, max]
 */
export function checkInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') {
    throw new InvalidArgumentTypeError(`${name} must be a number; received ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new OutOfRangeError(`${name} must be an integer from ${min} to ${max}; received ${describe(value)}`);
  }
}

/**
 * Checks a timeout in ms: a number >= 0, or Infinity, or undefined for none.
 * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when it is not a number
 * @throws {OutOfRangeError} ERR_OUT_OF_RANGE when it is negative or NaN
 */
export function checkTimeout(value: unknown): number {
  if (value === undefined) return Infinity;
  if (typeof value !== 'number') {
    throw new InvalidArgumentTypeError(`timeout must be a number of ms or undefined; received ${describe(value)}`);
  }
  if (Number.isNaN(value) || value < 0) {
    throw new OutOfRangeError(`timeout must be >= 0 ms (or Infinity); received ${describe(value)}`);
  }
  return value;
}

/**
 * Checks an options argument: an object, or undefined for the defaults.
 * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when `value` is anything else
 */
export function checkOptions(value: unknown, name = 'options'): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new InvalidArgumentTypeError(`${name} must be an object or undefined; received ${describe(value)}`);
  }
}

/** @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when `value` is not an AbortSignal or undefined */
export function checkSignal(value: unknown, name = 'signal'): asserts value is AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new InvalidArgumentTypeError(`${name} must be an AbortSignal or undefined; received ${describe(value)}`);
  }
}

/** @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when `value` is not a function */
export function checkFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') {
    throw new InvalidArgumentTypeError(`${name} must be a function; received ${describe(value)}`);
  }
}
