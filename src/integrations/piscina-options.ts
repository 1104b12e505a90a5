// Main-thread side of the piscina integration: the pool settings a TrackedPool needs, checked all
// at once, so that the first error names every setting to change.
import { WaitGroupError } from '../errors/errors.js';

/** The pool settings `TrackedPool` needs changed, with values that work. */
export interface PoolSettings {
  /** `'async'`: a worker runs its event loop between tasks (`'disabled'` works too). */
  readonly atomics?: 'async';
  /** `Infinity`: piscina keeps idle workers (`minThreads` equal to `maxThreads` works too). */
  readonly idleTimeout?: number;
}

/** What `TrackedPool` reads of a pool's options. */
export interface CheckedPoolOptions {
  readonly atomics: string | undefined;
  readonly minThreads: number;
  readonly maxThreads: number;
  readonly idleTimeout: number;
}

/**
 * `new TrackedPool()` over a pool whose settings would strand work a task leaves behind. `code` is
 * the first problem (`ERR_PISCINA_ATOMICS_SYNC`, else `ERR_PISCINA_IDLE_TIMEOUT`); `settings` lists
 * every setting to change, with a value that works, ready to spread into the pool's options.
 */
export class PoolOptionsError extends WaitGroupError {
  /** Every setting to change, with a value that works: `{ atomics: 'async', idleTimeout: Infinity }` at most. */
  readonly settings: PoolSettings;

  /**
   * @param code - the first problem found
   * @param message - every problem and its fix
   * @param settings - every setting to change
   */
  constructor(code: 'ERR_PISCINA_ATOMICS_SYNC' | 'ERR_PISCINA_IDLE_TIMEOUT', message: string, settings: PoolSettings) {
    super(code, message);
    this.settings = settings;
  }

  static {
    this.prototype.name = 'PoolOptionsError';
  }
}

/**
 * Checks every setting of a pool that `TrackedPool` depends on, and reports them all in one error.
 * @throws {PoolOptionsError} ERR_PISCINA_ATOMICS_SYNC when the pool uses `atomics: 'sync'` (and whatever else is wrong);
 *   ERR_PISCINA_IDLE_TIMEOUT when only its idle workers are removed
 */
export function checkPoolOptions({ atomics, minThreads, maxThreads, idleTimeout }: CheckedPoolOptions): void {
  const sync = atomics === 'sync';
  const reaps = maxThreads > minThreads && idleTimeout !== Infinity;
  if (!sync && !reaps) return;
  const problems: string[] = [];
  if (sync) {
    problems.push(
      "atomics: 'sync' (piscina's default) makes a worker sleep between tasks without running its event loop, so work a task leaves " +
        "behind (a setImmediate flush, a timer) would never complete: set atomics: 'async'",
    );
  }
  if (reaps) {
    problems.push(
      `the pool removes workers above minThreads (${minThreads}) after idleTimeout (${idleTimeout} ms) without a task, even while work a ` +
        'task left behind still runs in them, which would then fail with ERR_WORKER_EXITED: set idleTimeout: Infinity ' +
        `(or minThreads equal to maxThreads, ${maxThreads})`,
    );
  }
  const settings: PoolSettings = { ...(sync ? { atomics: 'async' } : {}), ...(reaps ? { idleTimeout: Infinity } : {}) };
  throw new PoolOptionsError(
    sync ? 'ERR_PISCINA_ATOMICS_SYNC' : 'ERR_PISCINA_IDLE_TIMEOUT',
    `TrackedPool cannot use this pool: ${problems.join('; and ')}. Create it with ${Object.keys(settings).map((key) => `${key}: ${key === 'atomics' ? "'async'" : 'Infinity'}`).join(', ')}`,
    settings,
  );
}
