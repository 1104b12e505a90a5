// Runs on both sides of a thread boundary: a handle on one task's slot. Handles of the same task
// in several threads all complete units through compare-and-exchange on the slot, so each unit is
// done exactly once, whoever races. A task never shared has one handle, its creator's, which
// completes units with plain atomic arithmetic instead: nobody can race it.
import { WaitGroupError, describe } from './errors.js';
import { LAYOUT_VERSION, REMAINING_MASK } from './layout.js';
import { checkSharedTask, type SharedTask } from './share.js';
import { stateOf } from './slots.js';
import { WaitGroup } from './group.js';
import type { GroupHost } from './host.js';

function refuse(): never {
  throw new TypeError('Task is created by WaitGroup#add(), or rebuilt by Task.from()');
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
  readonly #host: GroupHost;
  readonly #slot: number;
  readonly #generation: number;
  /** Remaining units as this handle last saw them: exact while `#own`, else at least the true number. */
  #remaining: number;
  /** True while this is the only handle of the task: created by `add()` here and never shared. */
  #own: boolean;
  /** Once shared: the slot state this handle last saw, the expected value of its next compare-and-exchange. */
  #state: bigint;

  /**
   * Not for users (it throws for them): tasks come from `WaitGroup#add()` and `Task.from()`. Kept in
   * the declarations (hidden from the docs, not stripped) so that `new Task()` does not type-check.
   * @hidden
   */
  constructor(key: symbol, host: GroupHost, slot: number, generation: number, remaining: number, own: boolean, label: string | undefined) {
    if (key !== token) refuse();
    this.#host = host;
    this.#slot = slot;
    this.#generation = generation;
    this.#remaining = remaining;
    this.#own = own;
    this.#state = own ? 0n : stateOf(generation, remaining);
    this.label = label;
  }

  /** @internal */
  static create(host: GroupHost, slot: number, count: number, label: string | undefined): Task {
    return new Task(token, host, slot, host.slots.claimedGeneration, count, true, label);
  }

  /** Units still to be done, as seen in shared memory now; 0 once the task is complete. */
  get remaining(): number {
    if (this.#remaining === 0) return 0;
    const state = this.#host.slots.load(this.#slot);
    return Number(state >> 32n) === this.#generation ? Number(state & REMAINING_MASK) : 0;
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
    const taken = this.#own ? this.#takeOwn(units) : this.#takeShared(units);
    if (taken === 0) return false;
    this.#host.settle(taken, failed, error, this.label);
    return true;
  }

  #takeOwn(units: number): number {
    const taken = this.#host.slots.takeOwn(this.#slot, this.#remaining, units);
    this.#remaining -= taken;
    return taken;
  }

  #takeShared(units: number): number {
    const slots = this.#host.slots;
    const taken = slots.take(this.#slot, this.#state, this.#generation, this.#remaining, units);
    this.#state = slots.tookState;
    this.#remaining = slots.tookRemaining;
    return taken;
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
    const { slot, generation, remaining } = this.detach();
    return { kind: 'shared-waitgroup/task', version: LAYOUT_VERSION, group: this.#host.share(), slot, state: stateOf(generation, remaining), label: this.label };
  }

  /**
   * What another thread that already holds the group needs to rebuild this handle (`Task.attach()`);
   * like `share()`, lets other threads take units from now on.
   * @internal
   */
  detach(): { slot: number; generation: number; remaining: number } {
    // From now on another thread may take units too: this handle must compare-and-exchange as well.
    if (this.#own) this.#state = stateOf(this.#generation, this.#remaining);
    this.#own = false;
    return { slot: this.#slot, generation: this.#generation, remaining: this.#remaining };
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
    return Task.attach(WaitGroup.from(shared.group), shared.slot, Number(shared.state >> 32n), Number(shared.state & REMAINING_MASK), shared.label);
  }

  /**
   * `Task.from()` for a thread that already holds the task's group: rebuilds the handle from what
   * `detach()` returned, which the caller has checked to be integers.
   * @throws {WaitGroupError} ERR_INVALID_SHARED_VALUE when the slot was never handed out
   * @internal
   */
  static attach(group: WaitGroup, slot: number, generation: number, remaining: number, label: string | undefined): Task {
    const host = group.taskHost();
    const handedOut = host.slots.handedOut();
    if (slot >= handedOut) {
      throw new WaitGroupError('ERR_INVALID_SHARED_VALUE', `task slot ${describe(slot)} was never handed out: the group has used ${handedOut} of its ${host.capacity} slots`);
    }
    host.slots.adopt(slot, generation);
    return new Task(token, host, slot, generation, remaining, false, label);
  }
}
