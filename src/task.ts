// Runs on both sides of a thread boundary: a handle on one task's slot. Handles of the same task
// in several threads all complete units through compare-and-exchange on the slot, so each unit is
// done exactly once, whoever races.
import { WaitGroupError, describe } from './errors.js';
import { LAYOUT_VERSION, REMAINING_MASK } from './layout.js';
import { checkSharedTask, type SharedTask } from './share.js';
import type { Slots } from './slots.js';
import { WaitGroup } from './group.js';

/** What a task needs from its group: hidden from users, present in every thread. */
export interface TaskHost {
  readonly slots: Slots;
  /** Records the failure (if any) and then completes `units` of the group, in that order. */
  settle(units: number, failed: boolean, error: unknown, label: string | undefined): void;
  share(): import('./share.js').SharedWaitGroup;
}

/** Lets group.ts construct tasks while `new Task()` stays closed to users. */
const token = Symbol('task');

/**
 * One unit of work (or `count` units) registered with a `WaitGroup` by `add()`. `done()` completes a
 * unit exactly once: calls after the last unit change nothing and return false, in any thread.
 */
export class Task {
  /** The label given to `add()`, if any. */
  readonly label: string | undefined;
  readonly #host: TaskHost;
  readonly #slot: number;
  readonly #generation: number;
  /** The state this handle last saw: the expected value of its next compare-and-exchange. */
  #state: bigint;
  /** Remaining units in `#state`, kept as a number so the common path decodes nothing. */
  #remaining: number;

  /**
   * Not for users (it throws for them): tasks come from `WaitGroup#add()` and `Task.from()`. Kept in
   * the declarations (hidden from the docs, not stripped) so that `new Task()` does not type-check.
   * @hidden
   */
  constructor(key: symbol, host: TaskHost, slot: number, state: bigint, generation: number, remaining: number, label: string | undefined) {
    if (key !== token) throw new TypeError('Task is created by WaitGroup#add(), or rebuilt by Task.from()');
    this.#host = host;
    this.#slot = slot;
    this.#state = state;
    this.#generation = generation;
    this.#remaining = remaining;
    this.label = label;
  }

  /** @internal */
  static create(host: TaskHost, slot: number, count: number, label: string | undefined): Task {
    return new Task(token, host, slot, host.slots.claimedState, host.slots.claimedGeneration, count, label);
  }

  /** Units still to be done, as seen in shared memory now; 0 once the task is complete. */
  get remaining(): number {
    const state = this.#host.slots.load(this.#slot);
    return state >> 32n === this.#state >> 32n ? Number(state & REMAINING_MASK) : 0;
  }

  /**
   * Completes one unit of the task.
   * @param error - `undefined` or `null` for success; any other value fails the unit with that value
   * @returns true if a unit was completed; false if the task was already complete (nothing changed)
   */
  done(error?: unknown): boolean {
    return this.settle(1, error !== undefined && error !== null, error);
  }

  /**
   * Completes `units` units (Infinity: all that remain), failed or not. Used by `go()`, where a
   * thrown `undefined` is still a failure.
   * @internal
   */
  settle(units: number, failed: boolean, error: unknown): boolean {
    const slots = this.#host.slots;
    const taken = slots.take(this.#slot, this.#state, this.#remaining, this.#generation, units);
    if (taken === 0) return false;
    this.#state = slots.tookState;
    this.#remaining = slots.tookRemaining;
    this.#host.settle(taken, failed, error, this.label);
    return true;
  }

  /**
   * Records in shared memory whether this `go()` task holds a `limit` slot of its group.
   * @internal
   */
  holdsLimit(held: boolean): void {
    this.#host.slots.markLimited(this.#slot, held);
  }

  /**
   * Same as `done()`, for `using`: the unit completes when the block exits, thrown or not.
   * @example
   * ```ts
   * {
   *   using task = group.add('flush');
   *   flushSync();
   * } // task.done() here
   * ```
   */
  [Symbol.dispose](): void {
    this.done();
  }

  /**
   * A structured-cloneable copy of this handle, for another thread's `Task.from()`.
   * @returns a plain value holding the group's shared memory and the task's slot
   */
  share(): SharedTask {
    return { kind: 'shared-waitgroup/task', version: LAYOUT_VERSION, group: this.#host.share(), slot: this.#slot, state: this.#state, label: this.label };
  }

  /**
   * Rebuilds a task shared by another thread. The calling thread becomes its owner: if it dies
   * holding the task, the task fails. A task already complete gives a handle whose `done()` returns false.
   * @param shared - a value made by `Task#share()`
   * @returns a handle on the same task; its `done()` completes the same units
   * @throws {WaitGroupError} ERR_INVALID_SHARED_VALUE, ERR_LAYOUT_VERSION when `shared` is not such a value
   */
  static from(shared: SharedTask): Task {
    checkSharedTask(shared);
    const host = WaitGroup.from(shared.group).taskHost();
    const handedOut = host.slots.handedOut();
    if (shared.slot >= handedOut) {
      throw new WaitGroupError('ERR_INVALID_SHARED_VALUE', `task slot ${describe(shared.slot)} was never handed out: the group has used ${handedOut} of its ${host.capacity} slots`);
    }
    host.slots.adopt(shared.slot, shared.state);
    return new Task(token, host, shared.slot, shared.state, Number(shared.state >> 32n), Number(shared.state & REMAINING_MASK), shared.label);
  }
}
