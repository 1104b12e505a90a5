// The options of `new WaitGroup()` and of its waits, their checks and defaults, and the shape of
// `stats()`. The group's own module keeps only what it does with them.
import { isMainThread } from 'node:worker_threads';
import { InvalidArgumentTypeError, WaitGroupError, checkInteger, checkLabel, checkOptions, checkSignal, checkTimeout, describe } from './errors.js';
import * as L from './layout.js';
import type { TreeLimits } from './tree.js';

/** Options of `new WaitGroup()`. */
export interface WaitGroupOptions {
  /** Name used in messages and failure origins. Default `'wait-group'`. */
  readonly name?: string;
  /** Cancels the group when it aborts. */
  readonly signal?: AbortSignal;
  /** Most `go()` functions running at once, across all threads. Default: no limit. */
  readonly limit?: number;
  /** Cancel the group on its first failure, with that failure as the reason. Default false. */
  readonly cancelOnError?: boolean;
  /** Most tasks pending at once in the group and its sub-groups. Default 65 536 (4 MiB of shared memory at most, committed as used). */
  readonly capacity?: number;
  /** Most groups (this one and every sub-group ever made) in the tree. Default 65 536. */
  readonly maxGroups?: number;
  /** Failures kept in full; later ones are counted in `TaskGroupError#omitted`. Default 1000. */
  readonly maxFailures?: number;
  /** Bytes of serialized failures kept at most. Default 16 MiB. */
  readonly failureBytes?: number;
}

/** Options of `wait()`. */
export interface WaitOptions {
  /** Give up after this many ms with a `WaitTimeoutError`. Default: no timeout. */
  readonly timeout?: number;
  /** Give up when it aborts, with its reason. */
  readonly signal?: AbortSignal;
}

/** Options of `waitSync()`. */
export interface WaitSyncOptions {
  /** Give up after this many ms with a `WaitTimeoutError`. Default: no timeout (in a worker thread). */
  readonly timeout?: number;
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

/**
 * Checks the options of `new WaitGroup()` and fills in the defaults.
 * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE for an option of the wrong type
 * @throws {OutOfRangeError} ERR_OUT_OF_RANGE for `limit`, `capacity`, `maxGroups`, `maxFailures` or `failureBytes` out of range
 */
export function parseOptions(options: WaitGroupOptions): ParsedOptions {
  const raw: unknown = options;
  if (typeof raw !== 'object' || raw === null) {
    throw new InvalidArgumentTypeError(`options must be an object; received ${describe(options)}`);
  }
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

/**
 * Checks the options of `waitSync()`.
 * @returns the timeout in ms (Infinity for none)
 * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE for options that are not an object, a timeout
 *   that is not a number, a `blockMainThread` that is not a boolean
 * @throws {OutOfRangeError} ERR_OUT_OF_RANGE for a negative or NaN timeout
 * @throws {WaitGroupError} ERR_MAIN_THREAD_BLOCK on the main thread without a finite timeout or `blockMainThread: true`
 */
export function parseSyncWait(options: WaitSyncOptions): number {
  checkOptions(options);
  const timeout = checkTimeout(options.timeout);
  const block = boolOption(options.blockMainThread, 'options.blockMainThread');
  if (isMainThread && timeout === Infinity && !block) {
    throw new WaitGroupError(
      'ERR_MAIN_THREAD_BLOCK',
      'waitSync() without a timeout on the main thread stops its event loop until the group is done, and work that needs that loop ' +
        '(a message it would answer, the exit of a worker it created) would then never complete: use await wait(), give a finite ' +
        'timeout, or pass blockMainThread: true',
    );
  }
  return timeout;
}
