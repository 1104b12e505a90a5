// Runs on both sides of a thread boundary: a handle on one task's slot. Handles of the same task
// in several threads all complete units through compare-and-exchange on the slot, so each unit is
// done exactly once, whoever races. A task never shared has one handle, its creator's, which
// completes units with plain atomic arithmetic instead: nobody can race it.
import { WaitGroupError, describe } from '../errors/errors.js';
import { LAYOUT_VERSION } from '../memory/layout.js';
import { checkSharedTask, type SharedTask, type SharedWaitGroup } from '../memory/share.js';
import { generationOf, remainingOf, stateOf } from '../memory/slots.js';
import * as takes from '../memory/take.js';
import type { WaitGroup } from './group.js';
import type { GroupHost } from '../memory/host.js';

// Imported bindings are live: V8 loads one from its module's cell, with a check that it is
// initialized, at every use, and cannot fold it into optimized code; it folds this module's own
// constants. So the hot paths read copies.
const { took } = takes;

function refuse(): never {
  throw new TypeError('Task is created by WaitGroup#add(), or rebuilt by Task.from()');
}

/**
 * `WaitGroup.from()`, given by group.ts when it loads: group.ts imports this module, so this one
 * does not import it back (no import cycle between the two).
 */
let groupFrom: ((shared: SharedWaitGroup) => WaitGroup) | undefined;

/** @internal Called once by group.ts. */
export function provideGroupFrom(from: (shared: SharedWaitGroup) => WaitGroup): void {
  groupFrom = from;
}

/**
 * What a completion's callbacks leave to run once it has returned: the aborts of this thread's
 * `signal`s when the completion cancelled groups (cancelOnError). Abort listeners are the user's
 * code, which must not run inside an operation that holds the journal and the tree's views.
 */
const due: (() => void)[] = [];

/**
 * Runs `then` once the completion in progress has returned (Task#settle, or the failure of a queued
 * `go()` function).
 * @internal
 */
export function afterSettle(then: () => void): void {
  due.push(then);
}

/**
 * Runs what completions left to run (afterSettle), in order, including what those runs leave.
 * @internal
 */
export function runAfterSettle(): void {
  for (let next = due.shift(); next !== undefined; next = due.shift()) next();
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
  /** True while this `go()` task holds one of its group's `limit` slots (given back by its completion). */
  #limited = false;

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
    return generationOf(state) === this.#generation ? remainingOf(state) : 0;
  }

  /**
   * Completes one unit of the task.
   * @param error - `undefined` or `null` for success; any other value fails the unit with that value
   * @returns true if a unit was completed; false if the task was already complete (nothing changed)
   */
  done(error?: unknown): boolean {
    // The common case first, in few bytes of code so that V8 inlines it: a success with no
    // `limit` slot to give back, on a task only this handle holds or through a shared handle.
    if (error === undefined && !this.#limited) {
      const remaining = this.#remaining;
      if (remaining === 0) return false;
      if (this.#own) {
        this.#host.doneOne(this.#slot, this.#generation, remaining);
        this.#remaining = remaining - 1;
        return true;
      }
      const taken = this.#host.doneSharedOne(this.#slot, this.#generation);
      this.#remaining = took.remaining;
      return taken > 0;
    }
    return this.settle(1, error !== undefined && error !== null, error);
  }

  /**
   * Completes `units` units (Infinity: all that remain), failed or not. Used by `go()`, where a
   * thrown `undefined` is still a failure.
   * @internal
   */
  settle(units: number, failed: boolean, error: unknown): boolean {
    if (this.#remaining === 0) return false;
    const host = this.#host;
    if (this.#own) {
      const taken = host.doneOwn(this.#slot, this.#generation, this.#remaining, units, failed, error, this.label, this.#limited);
      this.#remaining -= taken;
      this.#limited &&= this.#remaining > 0;
      if (due.length !== 0) runAfterSettle();
      return taken > 0;
    }
    const taken = host.doneShared(this.#slot, this.#generation, units, failed, error, this.label, this.#limited);
    this.#remaining = took.remaining;
    this.#limited &&= this.#remaining > 0;
    if (due.length !== 0) runAfterSettle();
    return taken > 0;
  }

  /**
   * Takes one of the group's `limit` slots for this `go()` task, if one is free; its completion
   * gives it back (before the task completes), and so does the sweep if this thread dies.
   * @internal
   */
  acquireLimit(): boolean {
    this.#limited = this.#host.acquireRunning(this.#slot);
    return this.#limited;
  }

  /**
   * Undoes the `add()` that made this task, which nobody has seen yet (`tryGo()` found no free
   * `limit` slot): as if it had never been added.
   * @internal
   */
  unadd(): void {
    this.#host.undoAdd(this.#host.depth, this.#slot, this.#remaining, true);
    this.#remaining = 0;
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
    if (groupFrom === undefined) throw new TypeError('shared-waitgroup: Task.from() before the group module loaded');
    return Task.attach(groupFrom(shared.group), shared.slot, generationOf(shared.state), remainingOf(shared.state), shared.label);
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
    // A complete task (add(0) included, which never took a slot) touches no slot: only a handle
    // with units left must name one that exists.
    if (remaining > 0 && slot >= handedOut) {
      throw new WaitGroupError('ERR_INVALID_SHARED_VALUE', `task slot ${describe(slot)} was never handed out: the group has used ${handedOut} of its ${host.capacity} slots`);
    }
    // A handle that saw the task complete never takes a unit: it must not adopt the slot, whose
    // next occupant may have the same generation (a task never shared keeps it).
    if (remaining > 0) host.slots.adopt(slot, generation);
    return new Task(token, host, slot, generation, remaining, false, label);
  }
}
