/**
 * The piscina integration. Main-thread side: `TrackedPool` runs pool tasks as tasks of a group and
 * shuts the pool down gracefully. Worker side: `tracked()` wraps the pool's task function so it gets
 * the group and its own task. Both sides import this module; it never loads piscina itself (piscina
 * is an optional peer dependency: you pass your pool in).
 * @module shared-waitgroup/piscina
 */
import type { Piscina } from 'piscina';
import { decodeFailure } from './envelope.js';
import { WaitGroupError, WaitTimeoutError, checkLabel, type PendingTask, type TaskGroupError } from './errors.js';
import type { WaitGroup } from './group.js';
import { failureEnvelope, fullEnvelope, isFailure, isNeedGroup, needGroup, slotEnvelope, taskOf, type FailureEnvelope, type NeedGroup } from './piscina-envelope.js';
import { Roster } from './piscina-roster.js';
import type { Task } from './task.js';

export type { FailureEnvelope, NeedGroup } from './piscina-envelope.js';

/** What a tracked task function receives besides its payload. */
export interface PoolTaskContext {
  /** The group the pool task belongs to: `add()` or `go()` work that outlives the function here. */
  readonly group: WaitGroup;
  /** The pool task itself; completed when the function returns or throws, unless done before. */
  readonly task: Task;
  /** The group's signal: aborts when the group is cancelled. */
  readonly signal: AbortSignal;
}

/** Options of `TrackedPool#run`: piscina's run options and a label for the group task. */
export interface TrackedRunOptions extends NonNullable<Parameters<Piscina['run']>[1]> {
  /** Label of the group task (`pendingTasks()`, failure origins). Default: the `name` option, else 'piscina task'. */
  readonly label?: string;
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
  /** True when the deadline expired and the pool was destroyed. */
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

  /**
   * @param pool - a piscina pool created with `atomics: 'async'` or `'disabled'`
   * @param group - the group its tasks join
   * @throws {WaitGroupError} ERR_PISCINA_ATOMICS_SYNC when the pool uses piscina's default `atomics: 'sync'`,
   *   under which a timer or immediate a task leaves behind never runs, so work it registers would never complete
   * @throws {WaitGroupError} ERR_PISCINA_IDLE_TIMEOUT when the pool removes idle workers above `minThreads`
   *   (`maxThreads > minThreads` and a finite `idleTimeout`), which would kill work a task left behind
   */
  constructor(pool: AnyPool, group: WaitGroup) {
    if (pool.options.atomics === 'sync') {
      throw new WaitGroupError(
        'ERR_PISCINA_ATOMICS_SYNC',
        "the pool uses atomics: 'sync', under which a worker sleeps between tasks without running its event loop: " +
          "work a task leaves behind (a setImmediate flush, a timer) would never complete. Create the pool with atomics: 'async'",
      );
    }
    const { minThreads, maxThreads, idleTimeout } = pool.options;
    if (maxThreads > minThreads && idleTimeout !== Infinity) {
      throw new WaitGroupError(
        'ERR_PISCINA_IDLE_TIMEOUT',
        `the pool removes workers above minThreads (${minThreads}) after idleTimeout (${idleTimeout} ms) without a task, even ` +
          'while work a task left behind still runs in them, which would then fail with ERR_WORKER_EXITED. ' +
          'Create the pool with idleTimeout: Infinity, or minThreads equal to maxThreads',
      );
    }
    this.pool = pool;
    this.group = group;
    this.#roster = new Roster(Math.max(64, 2 * maxThreads));
  }

  /**
   * Runs `payload` on the pool as a task of the group, registered now (while it is queued).
   * @param payload - what the worker's task function receives (structured-cloned by piscina)
   * @param options - piscina's run options (`name`, `signal`, `transferList`, ...) and `label`
   * @returns the task function's result; rejects with its failure rebuilt in full (class, code, cause)
   * @throws {WaitGroupError} ERR_POOL_CLOSED (as a rejection) once `shutdown()` has begun
   */
  async run(payload: T, options: TrackedRunOptions = {}): Promise<R> {
    if (this.#closing) throw new WaitGroupError('ERR_POOL_CLOSED', 'the pool is shutting down and takes no new tasks');
    const label = options.label ?? options.name ?? 'piscina task';
    checkLabel(label);
    // Copied without `label` only when there is one: a copy per task costs a pool of empty tasks.
    const runOptions = options.label === undefined ? options : withoutLabel(options);
    const task = this.group.add(label);
    let result: unknown;
    try {
      // Objects in a transferList are gone after one send: such a task is sent once, in full.
      const slotOnly = runOptions.transferList === undefined && this.#threadsHoldGroup();
      result = await this.pool.run(slotOnly ? slotEnvelope(task, this.#roster.shared.pool, payload) : fullEnvelope(task, this.#roster.shared, payload), runOptions);
      if (isNeedGroup(result)) {
        // A worker that started since the check (or forgot the group) got the slot only: send it all.
        this.#recheck = true;
        result = await this.pool.run(fullEnvelope(task, this.#roster.shared, payload), runOptions);
      }
    } catch (error) {
      // Never started (aborted, pool destroyed) or its worker died: a failure either way, once.
      task.done(error);
      throw error;
    }
    if (isFailure(result)) throw decodeFailure(result.failure).value;
    // The worker side completed it; this only covers a task function that was not wrapped.
    task.done();
    return result as R;
  }

  #threadsHoldGroup(): boolean {
    if (this.#recheck || this.#roster.changed) {
      this.#recheck = false;
      this.#held = this.#roster.lists(this.pool.threads.map((worker) => worker.threadId));
    }
    return this.#held;
  }

  /**
   * Graceful shutdown: take no new tasks, cancel the group if asked, wait for every task of the group
   * (queued pool tasks included) until the deadline, then close the pool. When the deadline expires,
   * report what is pending and destroy the pool, which fails what it held.
   * @param options - `deadline` in ms, `cancel` the group first, and its `reason`
   * @returns what the shutdown met: whether the deadline expired, what was pending then, and the
   *   group's failure if any task failed; it never rejects for a task's failure
   */
  async shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    this.#closing = true;
    if (options.cancel === true) this.group.cancel(options.reason);
    let pending: readonly PendingTask[] = [];
    let outcome = await settle(this.group.wait({ timeout: options.deadline ?? Infinity }));
    if (outcome instanceof WaitTimeoutError) {
      pending = outcome.pending;
      await this.pool.destroy();
      outcome = await settle(this.group.wait());
    } else {
      await this.pool.close();
    }
    return { timedOut: pending.length > 0, pending, failure: outcome as TaskGroupError | undefined };
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

function withoutLabel(options: TrackedRunOptions): NonNullable<Parameters<Piscina['run']>[1]> {
  return Object.fromEntries(Object.entries(options).filter(([key]) => key !== 'label'));
}

/**
 * Wraps a piscina task function (worker side) so it runs as the group task `TrackedPool#run`
 * registered: it gets the group, its own `Task` and the group's signal; its return completes the
 * task, its throw fails it with full fidelity.
 * @param fn - the task function: the payload, then `{ group, task, signal }`
 * @returns the function to export from the pool's worker module. Besides your function's result, it
 * resolves to one of two envelopes that `TrackedPool#run` reads: a failure, or a request for the group.
 * @throws {WaitGroupError} ERR_NOT_TRACKED (as a rejection) when called with a payload that `TrackedPool#run` did not send
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
    const found = taskOf(envelope);
    if (found === undefined) return needGroup();
    const { task, group } = found;
    try {
      const result = await fn((envelope as { payload: T }).payload, { group, task, signal: group.signal });
      task.done();
      return result;
    } catch (error) {
      task.settle(1, true, error);
      return failureEnvelope(error, group.name);
    }
  };
}
