// The options of `new WaitGroup()` and of its waits, their checks and defaults, and the shape of
// `stats()`. The group's own module keeps only what it does with them.
import { isMainThread } from 'node:worker_threads';
import { InvalidArgumentTypeError, WaitGroupError, checkInteger, checkKnownOptions, checkLabel, checkOptions, checkSignal, checkTimeout, describe } from '../errors/errors.js';
import * as L from '../memory/layout.js';
import type { TreeLimits } from '../memory/tree.js';

/**
 * Options of `new WaitGroup()`. Any other key throws `UnknownOptionError` (ERR_UNKNOWN_OPTION); a
 * value of the wrong type `InvalidArgumentTypeError`, a number out of its range `OutOfRangeError`.
 */
export interface WaitGroupOptions {
  /** Name used in messages and failure origins: any string. Default `'wait-group'`. */
  readonly name?: string;
  /** Cancels the group when it aborts. */
  readonly signal?: AbortSignal;
  /**
   * Most `go()` functions running at once, across all threads: an integer from 1 to 2^31 - 1.
   * Default (or `undefined`): no limit. 0 is out of range: it would mean that no function ever runs
   * (errgroup's `SetLimit(0)` makes every `Go` block for good), not "no limit".
   *
   * A function that finds `limit` functions running waits in its thread's queue, in order, and
   * starts when a slot frees in any thread. Only the head of each thread's queue holds a task (one
   * unit and one of the tree's `capacity` slots): it keeps every wait waiting for the whole queue and
   * `pendingTasks()` lists it; the functions behind it cost thread-local memory only, and count in
   * `stats()` once they reach the head.
   */
  readonly limit?: number;
  /** Cancel the group on its first failure, with that failure as the reason. Default false. */
  readonly cancelOnError?: boolean;
  /** Most tasks pending at once in the group and its sub-groups: 1 to 1 048 576. Default 65 536 (64 bytes of shared memory each, committed as used). */
  readonly capacity?: number;
  /** Most groups (this one and every sub-group ever made) in the tree: 1 to 2^24. Default 65 536. */
  readonly maxGroups?: number;
  /** Failures kept in full: 0 to 2^20; later ones are counted in `TaskGroupError#omitted`. Default 1000. */
  readonly maxFailures?: number;
  /** Bytes of serialized failures kept at most: 0 to 2^30. Default 16 MiB. */
  readonly failureBytes?: number;
}

/** Options of `wait()`. Any other key rejects with `UnknownOptionError` (ERR_UNKNOWN_OPTION). */
export interface WaitOptions {
  /** Give up after this many ms (a number >= 0, or Infinity) with a `WaitTimeoutError`. Default: no timeout. */
  readonly timeout?: number;
  /** Give up when it aborts, with its reason. */
  readonly signal?: AbortSignal;
  /**
   * Cancel the group when this wait ends because nothing is pending: when it resolves, or rejects
   * with the group's `TaskGroupError`; before the caller sees either. errgroup's `Wait` cancels the
   * group's context so. A wait that gives up (timeout, `signal`) does not cancel. Default false.
   */
  readonly cancelWhenDone?: boolean;
}

/** Options of `waitSync()`. Any other key throws `UnknownOptionError` (ERR_UNKNOWN_OPTION). */
export interface WaitSyncOptions {
  /** Give up after this many ms (a number >= 0, or Infinity) with a `WaitTimeoutError`. Default: no timeout (in a worker thread). */
  readonly timeout?: number;
  /** As `WaitOptions.cancelWhenDone`: cancel the group when the wait returns, or throws `TaskGroupError`. */
  readonly cancelWhenDone?: boolean;
  /**
   * On the main thread, block without a finite `timeout` anyway. Default false: the main thread must
   * give a finite `timeout` or this, since its event loop stops while it blocks, and work that needs
   * it (a message it would answer, the exit of a worker it created) would never complete. Ignored in
   * worker threads.
   */
  readonly blockMainThread?: boolean;
}

/** Counters of a group, in units, sub-groups included (linked groups are not). */
export interface WaitGroupStats {
  /** Units ever added. */
  readonly added: number;
  /** Units completed, successfully or not: `added - pending`. */
  readonly done: number;
  /** Failures recorded (the units they completed count in `done`). */
  readonly failed: number;
  /** Units not yet done; `wait()` resolves at 0 (and no failure, and no link pending). */
  readonly pending: number;
}

/** The checked options: the tree's sizes, and the root group's limit and flags. */
export interface ParsedOptions {
  readonly tree: TreeLimits;
  readonly limit: number;
  readonly flags: number;
}

function boolOption(value: unknown, name: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new InvalidArgumentTypeError(`${name} must be a boolean or undefined; received ${describe(value)}`);
  }
  return value ?? false;
}

function intOption(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  checkInteger(value, name, min, max);
  return value;
}

/** The keys of `WaitGroupOptions`, in the order the docs list them. */
const GROUP_OPTIONS: readonly string[] = ['name', 'signal', 'limit', 'cancelOnError', 'capacity', 'maxGroups', 'maxFailures', 'failureBytes'];
const WAIT_OPTIONS: readonly string[] = ['timeout', 'signal', 'cancelWhenDone'];
const WAIT_SYNC_OPTIONS: readonly string[] = ['timeout', 'cancelWhenDone', 'blockMainThread'];

/**
 * Checks the options of `new WaitGroup()` and fills in the defaults.
 * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE for an option of the wrong type
 * @throws {UnknownOptionError} ERR_UNKNOWN_OPTION for a key that is not an option
 * @throws {OutOfRangeError} ERR_OUT_OF_RANGE for `limit`, `capacity`, `maxGroups`, `maxFailures` or `failureBytes` out of range
 */
export function parseOptions(options: WaitGroupOptions): ParsedOptions {
  const raw: unknown = options;
  if (typeof raw !== 'object' || raw === null) {
    throw new InvalidArgumentTypeError(`options must be an object; received ${describe(options)}`);
  }
  checkKnownOptions(options, GROUP_OPTIONS, 'options of new WaitGroup()');
  checkLabel(options.name, 'options.name');
  checkSignal(options.signal, 'options.signal');
  const limit = intOption(options.limit, 'options.limit', 1, L.MAX_UNITS, 0);
  const flags = boolOption(options.cancelOnError, 'options.cancelOnError') ? L.FLAG_CANCEL_ON_ERROR : 0;
  const tree = {
    capacity: intOption(options.capacity, 'options.capacity', 1, L.MAX_CAPACITY, L.DEFAULT_CAPACITY),
    maxGroups: intOption(options.maxGroups, 'options.maxGroups', 1, L.MAX_GROUPS, L.DEFAULT_MAX_GROUPS),
    maxFailures: intOption(options.maxFailures, 'options.maxFailures', 0, L.MAX_FAILURES, L.DEFAULT_MAX_FAILURES),
    failureBytes: intOption(options.failureBytes, 'options.failureBytes', 0, L.MAX_FAILURE_BYTES, L.DEFAULT_FAILURE_BYTES),
  };
  return { tree, limit, flags };
}

/** The checked options of a wait. */
export interface ParsedWaitOptions {
  /** In ms; Infinity for none. */
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
  readonly cancelWhenDone: boolean;
}

/**
 * Checks the options of `wait()` (`sync` false) or `waitSync()` (`sync` true).
 * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE for options that are not an object, or an option of the wrong type
 * @throws {UnknownOptionError} ERR_UNKNOWN_OPTION for a key that is not an option
 * @throws {OutOfRangeError} ERR_OUT_OF_RANGE for a negative or NaN timeout
 * @throws {WaitGroupError} ERR_MAIN_THREAD_BLOCK for `waitSync()` on the main thread without a finite timeout or `blockMainThread: true`
 */
export function parseWaitOptions(options: WaitOptions | WaitSyncOptions, sync: boolean): ParsedWaitOptions {
  checkOptions(options);
  checkKnownOptions(options, sync ? WAIT_SYNC_OPTIONS : WAIT_OPTIONS, sync ? 'options of waitSync()' : 'options of wait()');
  const timeout = checkTimeout(options.timeout);
  const signal = 'signal' in options ? options.signal : undefined;
  checkSignal(signal, 'options.signal');
  const cancelWhenDone = boolOption(options.cancelWhenDone, 'options.cancelWhenDone');
  if (sync && isMainThread && timeout === Infinity && !boolOption((options as WaitSyncOptions).blockMainThread, 'options.blockMainThread')) {
    throw new WaitGroupError(
      'ERR_MAIN_THREAD_BLOCK',
      'waitSync() without a timeout on the main thread stops its event loop until the group is done, and work that needs that loop ' +
        '(a message it would answer, the exit of a worker it created) would then never complete: use await wait(), give a finite ' +
        'timeout, or pass blockMainThread: true',
    );
  }
  return { timeout, signal, cancelWhenDone };
}
