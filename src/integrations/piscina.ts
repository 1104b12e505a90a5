/**
 * The piscina integration. Main-thread side: `TrackedPool` runs pool tasks as tasks of a group and
 * shuts the pool down gracefully. Worker side: `tracked()` wraps the pool's task function so it gets
 * the group and its own task. Both sides import this module; it never loads piscina itself (piscina
 * is an optional peer dependency: you pass your pool in).
 * @module shared-waitgroup/piscina
 */
import { threadId } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { decodeFailure } from '../errors/envelope.js';
import { InvalidArgumentTypeError, WaitGroupError, WaitTimeoutError, checkLabel, describe, type PendingTask, type TaskGroupError } from '../errors/errors.js';
import { noteOrigin } from '../memory/failures.js';
import type { WaitGroup } from '../group/group.js';
import {
  cloneable,
  failureEnvelope,
  fullEnvelope,
  isFailure,
  isHandled,
  isNeedGroup,
  needGroup,
  slotEnvelope,
  taskOf,
  type FailureEnvelope,
  type NeedGroup,
} from './piscina-envelope.js';
import { checkPoolOptions } from './piscina-options.js';
import { Roster } from './piscina-roster.js';
import type { Task } from '../group/task.js';

export type { FailureEnvelope, NeedGroup } from './piscina-envelope.js';
export { PoolOptionsError, type PoolSettings } from './piscina-options.js';

/** What a tracked task function receives besides its payload. */
export interface PoolTaskContext {
  /** The group the pool task belongs to: `add()` or `go()` work that outlives the function here. */
  readonly group: WaitGroup;
  /** The pool task itself; completed when the function returns or throws, unless done before. */
  readonly task: Task;
  /** The group's signal: aborts when the group is cancelled. */
  readonly signal: AbortSignal;
}

/** piscina's own options of `run()`. */
type PiscinaRunOptions = NonNullable<Parameters<Piscina['run']>[1]>;
/** An abort signal as piscina takes it: an `AbortSignal`, or an emitter of 'abort'. */
type AnySignal = NonNullable<PiscinaRunOptions['signal']>;

/** Options of `TrackedPool#run`: piscina's run options, a label for the group task, and `handled`. */
export interface TrackedRunOptions extends PiscinaRunOptions {
  /** Label of the group task (`pendingTasks()`, failure origins). Default: the `name` option, else 'piscina task'. */
  readonly label?: string;
  /**
   * The caller handles a failure of this task: `run()` rejects with it as usual, but the group does
   * not record it (no `TaskGroupError` entry, no `cancelOnError`); the task completes as done.
   * A worker that dies holding the task still fails it with `ERR_WORKER_EXITED`. Default false.
   */
  readonly handled?: boolean;
}

/** Options of `TrackedPool#shutdown`. */
export interface ShutdownOptions {
  /** Most ms to wait for the group's tasks before forcing the pool down. Default: no deadline. */
  readonly deadline?: number;
  /** Cancel the group first (its signal reaches every worker). Default false. */
  readonly cancel?: boolean;
  /** The cancellation reason, with `cancel`. */
  readonly reason?: unknown;
}

/** What a shutdown met. */
export interface ShutdownReport {
  /** True when the deadline expired (tasks of the group pending, or a `run()` not settled) and the pool was destroyed. */
  readonly timedOut: boolean;
  /** The tasks still pending when the deadline expired: label, thread, age. */
  readonly pending: readonly PendingTask[];
  /** Every failure of the group, if any task failed (those forced down included). */
  readonly failure: TaskGroupError | undefined;
}

/**
 * A pool of any task and result type, as far as tracking needs it: a piscina `Piscina` instance.
 * @inline
 */
type AnyPool = Pick<Piscina, 'run' | 'close' | 'destroy' | 'options' | 'threads'>;

/**
 * A piscina pool whose tasks are tasks of a group: the group's `wait()` covers them while they are
 * queued and while they run, their failures are group failures, and `shutdown()` loses none of them.
 * Pair it with `tracked()` on the worker side.
 * @typeParam T - the payload `run()` sends
 * @typeParam R - what the task function returns
 * @example
 * ```ts
 * // main.ts
 * import { Piscina } from 'piscina';
 * import { WaitGroup } from 'shared-waitgroup';
 * import { TrackedPool } from 'shared-waitgroup/piscina';
 *
 * const group = new WaitGroup({ name: 'jobs' });
 * const pool = new TrackedPool<number, number>(
 *   new Piscina({ filename: new URL('./task.js', import.meta.url).href, atomics: 'async', idleTimeout: Infinity }),
 *   group,
 * );
 * const results = await Promise.all([1, 2, 3].map((n) => pool.run(n)));
 * await group.wait(); // also waits for work the tasks left behind
 * await pool.shutdown();
 *
 * // task.ts
 * import { tracked } from 'shared-waitgroup/piscina';
 * export default tracked((n: number) => n * 2);
 * ```
 */
export class TrackedPool<T = unknown, R = unknown> {
  /** The piscina pool, as given. */
  readonly pool: AnyPool;
  /** The group every `run()` adds its task to. */
  readonly group: WaitGroup;
  #closing = false;
  readonly #roster: Roster;
  /** Every thread of the pool held the group when last checked. */
  #held = false;
  /**
   * A worker did not hold the group since the last check (it started since, or forgot the group).
   * Such a worker answers a slot envelope by asking for the group, which is how the pool learns of
   * it; a 'workerCreate' listener would not help the tasks already queued for it.
   */
  #recheck = true;
  /** Calls of `pool.run()` not settled yet: shutdown() waits for them before it closes the pool. */
  #inFlight = 0;
  /** Resolve the waits of shutdown() calls (there may be several) once `#inFlight` falls to 0. */
  readonly #landed = new Set<() => void>();

  /**
   * Every setting is checked before any error is thrown: the error names all that need changing
   * (`PoolOptionsError#settings`, e.g. `{ atomics: 'async', idleTimeout: Infinity }` for a pool
   * with piscina's defaults), and its `code` is the first problem.
   * @param pool - a piscina pool created with `atomics: 'async'` (or `'disabled'`) that keeps its workers
   *   (`idleTimeout: Infinity`, or `minThreads` equal to `maxThreads`)
   * @param group - the group its tasks join
   * @throws {PoolOptionsError} ERR_PISCINA_ATOMICS_SYNC when the pool uses piscina's default `atomics: 'sync'`,
   *   under which a timer or immediate a task leaves behind never runs, so work it registers would never complete
   * @throws {PoolOptionsError} ERR_PISCINA_IDLE_TIMEOUT when (only) the pool removes idle workers above `minThreads`
   *   (`maxThreads > minThreads` and a finite `idleTimeout`), which would kill work a task left behind
   */
  constructor(pool: AnyPool, group: WaitGroup) {
    checkPoolOptions(pool.options);
    this.pool = pool;
    this.group = group;
    this.#roster = new Roster(Math.max(64, 2 * pool.options.maxThreads));
  }

  /**
   * Runs `payload` on the pool as a task of the group, registered now (while it is queued).
   *
   * A failure is a failure of the group (recorded, reported by its waits, cancelling a
   * `cancelOnError` group), and `run()` rejects with it, except in two cases:
   * - The caller aborts its own request through piscina's `signal` option: the task completes as
   *   cancelled, nothing is recorded, and `run()` rejects with the signal's `reason`. An abort
   *   before `run()` registers nothing. (piscina terminates the worker of a running task: work that
   *   any task left behind in that worker fails with `ERR_WORKER_EXITED`.)
   * - `handled: true`: `run()` rejects with the failure, and the group does not record it.
   *
   * `failureOrigin()` gives the origin (thread, group, label) of what `run()` rejects with, the
   * caller's own abort reason and primitive values excepted.
   * @param payload - what the worker's task function receives (structured-cloned by piscina)
   * @param options - piscina's run options (`name`, `signal`, `transferList`, ...), `label` and `handled`
   * @returns the task function's result; rejects with its failure rebuilt in full (class, code, cause)
   * @throws {WaitGroupError} ERR_POOL_CLOSED (as a rejection) once `shutdown()` has begun
   * @throws {WaitGroupError} ERR_UNTRACKED_FUNCTION (as a rejection, and a group failure unless `handled`) when the
   *   pool's task function is not wrapped with `tracked()`: it got the internal envelope instead of `payload`
   * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE (as a rejection) for a `label` that is not a string,
   *   a `handled` that is not a boolean
   */
  async run(payload: T, options: TrackedRunOptions = {}): Promise<R> {
    if (this.#closing) throw new WaitGroupError('ERR_POOL_CLOSED', 'the pool is shutting down and takes no new tasks');
    const label = options.label ?? options.name ?? 'piscina task';
    checkLabel(label);
    const handled = options.handled ?? false;
    if (typeof handled !== 'boolean') throw new InvalidArgumentTypeError(`options.handled must be a boolean or undefined; received ${describe(handled)}`);
    const signal = options.signal ?? undefined;
    if (signal !== undefined && isAborted(signal)) throw reasonOf(signal, new DOMException('This operation was aborted', 'AbortError'));
    // Copied without our own options only when there are some: a copy per task costs a pool of empty tasks.
    const runOptions = options.label === undefined && options.handled === undefined ? options : piscinaOptions(options);
    const task = this.group.add(label);
    // Ours runs before piscina's listener, which kills the worker of a running task: the task is
    // complete before its thread exits, so the exit sweep finds nothing to fail.
    const stopListening = signal === undefined ? undefined : onAbort(signal, () => task.done());
    let result: unknown;
    this.#inFlight++;
    try {
      // Objects in a transferList are gone after one send: such a task is sent once, in full.
      const slotOnly = runOptions.transferList === undefined && this.#threadsHoldGroup();
      const envelope = slotOnly ? slotEnvelope(task, this.#roster.shared.pool, payload, handled) : fullEnvelope(task, this.#roster.shared, payload, handled);
      result = await this.pool.run(envelope, runOptions);
      if (isNeedGroup(result)) {
        // A worker that started since the check (or forgot the group) got the slot only: send it all.
        this.#recheck = true;
        result = await this.pool.run(fullEnvelope(task, this.#roster.shared, payload, handled), runOptions);
      }
    } catch (error) {
      // The caller's abort: the listener completed the task (if it ran at all), as a cancellation.
      if (signal !== undefined && isAborted(signal)) {
        task.done();
        throw reasonOf(signal, error);
      }
      // Never started (pool destroyed, queue full) or its worker died: a failure either way, once.
      throw this.#fail(task, error, handled);
    } finally {
      stopListening?.();
      if (--this.#inFlight === 0) for (const landed of this.#landed) landed();
    }
    if (isFailure(result)) {
      // Recorded by the worker already (unless handled); the origin is the worker's.
      const failure = decodeFailure(result.failure);
      noteOrigin(failure.value, failure.origin);
      throw failure.value;
    }
    // A tracked() function completes its task before it returns: one still pending got no tracked().
    if (task.remaining !== 0) {
      throw this.#fail(
        task,
        new WaitGroupError(
          'ERR_UNTRACKED_FUNCTION',
          `the pool's task function returned ${describe(result)} without completing its group task: it is not wrapped with tracked(), ` +
            'so it received the internal envelope instead of its payload. Export it as tracked(fn) from shared-waitgroup/piscina',
        ),
        handled,
      );
    }
    return result as R;
  }

  /** Completes `task` with `error` (as done, when the caller handles it) and returns the error, with its origin noted. */
  #fail(task: Task, error: unknown, handled: boolean): unknown {
    task.settle(1, !handled, handled ? undefined : error);
    noteOrigin(error, task.label === undefined ? { threadId, group: this.group.name } : { threadId, group: this.group.name, label: task.label });
    return error;
  }

  #threadsHoldGroup(): boolean {
    if (this.#recheck || this.#roster.changed) {
      this.#recheck = false;
      this.#held = this.#roster.lists(this.pool.threads.map((worker) => worker.threadId));
    }
    return this.#held;
  }

  /**
   * Graceful shutdown: take no new tasks, cancel the group if asked, wait until the deadline for
   * every task of the group (queued pool tasks included) and then for every `run()` to settle (a
   * task function may go on after completing its task, and results travel after it), then close
   * the pool. When the deadline expires, report what is pending and destroy the pool, which fails
   * what it held.
   * @param options - `deadline` in ms, `cancel` the group first, and its `reason`
   * @returns what the shutdown met: whether the deadline expired, what was pending then, and the
   *   group's failure if any task failed; it never rejects for a task's failure
   */
  async shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    this.#closing = true;
    const deadline = options.deadline ?? Infinity;
    const started = performance.now();
    if (options.cancel === true) this.group.cancel(options.reason);
    let pending: readonly PendingTask[] = [];
    let timedOut = false;
    let outcome = await settle(this.group.wait({ timeout: deadline }));
    if (outcome instanceof WaitTimeoutError) {
      pending = outcome.pending;
      timedOut = true;
      await this.pool.destroy();
      outcome = await settle(this.group.wait());
    } else if (await this.#landing(deadline - (performance.now() - started))) {
      await this.pool.close();
    } else {
      timedOut = true;
      await this.pool.destroy();
    }
    return { timedOut, pending, failure: outcome as TaskGroupError | undefined };
  }

  /**
   * Waits up to `ms` for every `pool.run()` to settle. The group is done, but a task function may
   * still run after completing its task, or its result be on its way: piscina's close() (5.3)
   * can count one worker that becomes idle as all of them and destroy the others, failing their
   * runs, so close() comes after.
   * @returns false if some were still running after `ms`
   */
  async #landing(ms: number): Promise<boolean> {
    if (this.#inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    let landed: (() => void) | undefined;
    const settled = new Promise<boolean>((resolve) => {
      landed = () => resolve(true);
      this.#landed.add(landed);
      // Past Node's longest timer (about 24.8 days) a timer would fire at once: no timer, then.
      if (ms <= 0x7fffffff) timer = setTimeout(() => resolve(false), Math.max(0, ms));
    });
    try {
      return await settled;
    } finally {
      clearTimeout(timer);
      if (landed !== undefined) this.#landed.delete(landed);
    }
  }
}

async function settle(wait: Promise<void>): Promise<unknown> {
  try {
    await wait;
    return undefined;
  } catch (error) {
    return error;
  }
}

/** piscina's options alone, without `label` and `handled`. */
function piscinaOptions(options: TrackedRunOptions): PiscinaRunOptions {
  return Object.fromEntries(Object.entries(options).filter(([key]) => key !== 'label' && key !== 'handled'));
}

function isAborted(signal: AnySignal): boolean {
  return (signal as { aborted?: unknown }).aborted === true;
}

/** The signal's reason; `fallback` for an emitter of 'abort' that has none. */
function reasonOf(signal: AnySignal, fallback: unknown): unknown {
  const { reason } = signal as { reason?: unknown };
  return reason === undefined ? fallback : reason;
}

/**
 * Calls `listener` once when `signal` aborts, as piscina listens to either kind of signal.
 * @returns a function that removes the listener
 */
function onAbort(signal: AnySignal, listener: () => void): () => void {
  if ('addEventListener' in signal) {
    signal.addEventListener('abort', listener, { once: true });
    return () => {
      signal.removeEventListener('abort', listener);
    };
  }
  signal.once('abort', listener);
  return () => {
    signal.off('abort', listener);
  };
}

/**
 * Wraps a piscina task function (worker side) so it runs as the group task `TrackedPool#run`
 * registered: it gets the group, its own `Task` and the group's signal; its return completes the
 * task, its throw fails it with full fidelity (or, for `run(payload, { handled: true })`, completes
 * it and returns the failure to the caller only).
 *
 * A `TrackedPool` needs its pool's function wrapped: otherwise `run()` rejects with
 * `ERR_UNTRACKED_FUNCTION`. A wrapped function run by a plain pool rejects with `ERR_NOT_TRACKED`,
 * thrown in a form piscina carries with its `code`: across the pool, a plain object
 * `{ name, code, message, stack }` (piscina structured-clones rejections, and an Error would lose its code).
 * @param fn - the task function: the payload, then `{ group, task, signal }`
 * @returns the function to export from the pool's worker module
 * @throws {WaitGroupError} ERR_NOT_TRACKED (as a rejection) when called with a payload that `TrackedPool#run` did not send;
 *   ERR_INVALID_SHARED_VALUE for a damaged one
 * @example
 * ```ts
 * // task.ts, the pool's worker module
 * import { tracked } from 'shared-waitgroup/piscina';
 *
 * export default tracked(async (url: string, { group, signal }) => {
 *   const body = await (await fetch(url, { signal })).text();
 *   group.go(() => index(body), `index ${url}`); // the group's wait() waits for this too
 *   return body.length;
 * });
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T types the payload the user's function receives
export function tracked<T, R>(fn: (payload: T, context: PoolTaskContext) => R | Promise<R>): (envelope: unknown) => Promise<R | FailureEnvelope | NeedGroup> {
  return async (envelope: unknown) => {
    let found: ReturnType<typeof taskOf>;
    try {
      found = taskOf(envelope);
    } catch (error) {
      throw error instanceof WaitGroupError ? cloneable(error) : error;
    }
    if (found === undefined) return needGroup();
    const { task, group } = found;
    try {
      const result = await fn((envelope as { payload: T }).payload, { group, task, signal: group.signal });
      task.done();
      return result;
    } catch (error) {
      const handled = isHandled(envelope);
      task.settle(1, !handled, handled ? undefined : error);
      return failureEnvelope(error, group.name, task.label);
    }
  };
}
