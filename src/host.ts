// Runs on both sides of a thread boundary: the counting half of one thread's handle on a group,
// which `add()` and every task's `done()` go through. It claims a slot per task and moves the
// pending counts of the group and of its ancestors. A class with methods rather than an object of
// closures, so that V8 can inline the whole of `add()` and `done()` into their callers: that is
// most of what separates a pair from the raw atomics it is made of (benchmark 1a).
import { WaitGroupError, describe } from './errors.js';
import { threadId } from 'node:worker_threads';
import { addCounter64, addInCell, claimAddedCell, lowerPending, raisePending } from './counters.js';
import { H_ADDED_LO, MAX_UNITS } from './layout.js';
import type { SharedWaitGroup } from './share.js';
import type { Slots } from './slots.js';

/**
 * `#cell` before this thread's first add to the group. After it: the cell's word, or -1 when every
 * cell was taken then; such a thread keeps counting in the shared count (cells freed later serve
 * threads that start adding later).
 */
const NOT_TRIED = -2;

/** What a group gives its host: the parts of it that tasks need. */
export interface HostOptions {
  readonly slots: Slots;
  /** The tree's capacity in tasks, for the error message when it is reached. */
  readonly capacity: number;
  /** The group's id in its tree, written into each task's slot. */
  readonly id: number;
  /** Records of the group and its ancestors, nearest first, with their names. */
  readonly chain: readonly { readonly record: Int32Array; readonly name: string }[];
  /** Records a failure of the group (before its units complete). */
  readonly fail: (error: unknown, label: string | undefined) => void;
  readonly share: () => SharedWaitGroup;
}

/** One thread's counting handle on a group: what `WaitGroup#add()` and `Task#done()` call. */
export class GroupHost {
  readonly slots: Slots;
  readonly capacity: number;
  readonly #id: number;
  /** Every add and done counts in the group's record and in its ancestors' (none for a root). */
  readonly #record: Int32Array;
  readonly #ancestors: readonly Int32Array[];
  readonly #options: HostOptions;
  /** Word of this thread's cell for counting added units in the group's record; see H_ADDED_CELLS. */
  #cell = NOT_TRIED;

  constructor(options: HostOptions) {
    const [own, ...ancestors] = options.chain.map((group) => group.record);
    if (own === undefined) throw new TypeError('a group host needs the group\'s own record');
    this.slots = options.slots;
    this.capacity = options.capacity;
    this.#id = options.id;
    this.#record = own;
    this.#ancestors = ancestors;
    this.#options = options;
  }

  /**
   * Claims a slot for a task of `count` units and counts them as pending.
   * @returns the slot's index; its generation is in `slots.claimedGeneration`
   * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED, ERR_PENDING_OVERFLOW, with nothing changed
   */
  add(count: number, label: string | undefined): number {
    const slot = this.slots.claim(count, this.#id, label);
    if (slot < 0) this.#full(label);
    // Pending counts rise before `added`: a concurrent stats() may then see done lag, never lead.
    // The usual root group has no ancestors: no loop (nor the try-block of a for-of) to inline.
    if (!raisePending(this.#record, count)) this.#overflow(0, slot, count);
    if (this.#ancestors.length > 0) this.#addToAncestors(slot, count);
    if (this.#cell >= 0) addInCell(this.#record, this.#cell, count);
    else this.#countShared(count);
    return slot;
  }

  /** Counts added units without a cell of this thread's (yet): takes one, or counts atomically. */
  #countShared(count: number): void {
    if (this.#cell === NOT_TRIED) this.#cell = claimAddedCell(this.#record, threadId);
    if (this.#cell >= 0) addInCell(this.#record, this.#cell, count);
    else addCounter64(this.#record, H_ADDED_LO, count);
  }

  #addToAncestors(slot: number, count: number): void {
    let raised = 1;
    for (const record of this.#ancestors) {
      if (!raisePending(record, count)) this.#overflow(raised, slot, count);
      raised++;
    }
    for (const record of this.#ancestors) addCounter64(record, H_ADDED_LO, count);
  }

  /** Records the failure (if any) and then completes `units` of the group, in that order. */
  settle(units: number, failed: boolean, error: unknown, label: string | undefined): void {
    if (failed) this.#options.fail(error, label);
    // After the failure is published: whoever wakes on the zero below finds it in the log.
    lowerPending(this.#record, units);
    if (this.#ancestors.length > 0) this.#lowerAncestors(units);
  }

  #lowerAncestors(units: number): void {
    for (const record of this.#ancestors) lowerPending(record, units);
  }

  /** The group, as a value to post to another thread. */
  share(): SharedWaitGroup {
    return this.#options.share();
  }

  #full(label: string | undefined): never {
    throw new WaitGroupError('ERR_CAPACITY_EXCEEDED', `cannot add task ${describe(label)}: all ${this.capacity} task slots of the group are pending (the capacity option)`);
  }

  /** Undoes an add whose count would take the `raised`th record of the chain (0: the group's own) past MAX_UNITS. */
  #overflow(raised: number, slot: number, count: number): never {
    for (const record of [this.#record, ...this.#ancestors].slice(0, raised)) lowerPending(record, count);
    this.slots.takeOwn(slot, count, Infinity);
    const name = this.#options.chain[raised]?.name ?? '';
    throw new WaitGroupError('ERR_PENDING_OVERFLOW', `cannot add ${count} units: group "${name}" would have more than ${MAX_UNITS} pending`);
  }
}
