// Runs on both sides of a thread boundary: the counting half of one thread's handle on a group,
// which `add()` and every task's `done()` go through. Each operation names itself in this thread's
// journal before its first step and moves the journal's step word before each later one, so that
// a sweeper that finds this thread dead can finish or undo it exactly (docs/protocol.md). A class
// with small methods, so that V8 can inline the whole of `add()` and `done()` into their callers.
import { WaitGroupError, describe } from '../errors/errors.js';
import * as counters from './counters.js';
import type { GroupRecord } from './counters.js';
import { stageFailure, withdraw } from './failures.js';
import * as layout from './layout.js';
import type { Lane } from './registry.js';
import type { SharedWaitGroup } from './share.js';
import type { Slots } from './slots.js';
import * as takes from './take.js';
import type { Journals } from './take.js';
import type { Tree } from './tree.js';
import type { FailureOrigin } from '../errors/errors.js';

// Imported bindings are live: V8 loads one from its module's cell, with a check that it is
// initialized, at every use, and cannot fold it into optimized code; it folds this module's own
// constants. So the hot paths read copies.
const { takeShared, took } = takes;
const { atZero, cancelsOnError, cellOf, levelOf, myParity, overLimit, stepped, wakeAtZero, wakeFailureWatchers, wakeWaiters } = counters;
const { E_CELL64, E_ENTRY, E_FLAGS, E_GROUP, E_REMAINING, E_SLOT, E_STEP, E_UNITS, H_FAILED, H_LIMIT, H_LIMIT_WAITERS, H_PENDING, H_RUNNING, MAX_UNITS, OPF_FAILED, OPF_LIMITED, OP_ADD, OP_ADD_UNDO, OP_DONE, OP_DONE_SHARED, OP_LIMIT, OP_NONE, PHASE_FAIL, PHASE_FREE, PHASE_LIMIT, PHASE_COUNT, PHASE_LOWER, PHASE_TAKE, SLOT_LIMITED, step } = layout;

// The step words of the fast paths, by the lane bit where they carry one: a constant costs the hot
// functions fewer bytes of code than a call of step(), and V8 inlines functions by their size.
const ADD_RAISE0 = step(OP_ADD, 0, 0, 0);
const ADD_RAISE1 = step(OP_ADD, 0, 0, 1);
const ADD_COUNT = step(OP_ADD, PHASE_COUNT, 0, 0);
const DONE_TAKE = step(OP_DONE, PHASE_TAKE, 0, 0);
const DONE_LOWER0 = step(OP_DONE, PHASE_LOWER, 0, 0);
const DONE_LOWER1 = step(OP_DONE, PHASE_LOWER, 0, 1);
const SHARED_TAKE = step(OP_DONE_SHARED, PHASE_TAKE, 0, 0);
const SHARED_LOWER0 = step(OP_DONE_SHARED, PHASE_LOWER, 0, 0);
const SHARED_LOWER1 = step(OP_DONE_SHARED, PHASE_LOWER, 0, 1);
const SHARED_FREE = step(OP_DONE_SHARED, PHASE_FREE, 0, 0);

/** What a group gives its host: the parts of it that tasks need. */
export interface HostOptions {
  readonly tree: Tree;
  /** The group's id in its tree, written into each task's slot. */
  readonly id: number;
  /** Records of the group and its ancestors, nearest first, with their names. */
  readonly chain: readonly { readonly record: GroupRecord; readonly name: string }[];
  /** Where failures of the group's tasks come from: this thread, the group's name, the task's label. */
  readonly origin: (label: string | undefined) => FailureOrigin;
  /** Cancels the group at `level` of the chain after a failure kept in log entry `entry` (-1: not kept). */
  readonly cancel: (level: number, error: unknown, entry: number) => void;
  readonly share: () => SharedWaitGroup;
}

/** One thread's counting handle on a group: what `WaitGroup#add()` and `Task#done()` call. */
export class GroupHost {
  readonly slots: Slots;
  readonly capacity: number;
  readonly tree: Tree;
  readonly #id: number;
  readonly #record: GroupRecord;
  /** The group's record and its ancestors': every add and done counts in all of them. */
  readonly #chain: readonly GroupRecord[];
  readonly #lane: Lane;
  /** This thread's journal; a new view after its private tree moved (`rebind()`). */
  #journal: Int32Array;
  readonly #options: HostOptions;
  /** Every lane's journal, for confirming another thread's take. */
  readonly #journals: Journals;
  /** This thread's journal as float64 words (E_CELL64); a new view after a move, as #journal. */
  #journalF64: Float64Array;
  /** Float64 index of this lane's added cell in a record. */
  readonly #cell: number;

  constructor(options: HostOptions) {
    const chain = options.chain.map((group) => group.record);
    const own = chain[0];
    if (own === undefined) throw new TypeError("a group host needs the group's own record");
    this.tree = options.tree;
    this.slots = options.tree.slots;
    this.capacity = options.tree.capacity;
    this.#id = options.id;
    this.#record = own;
    this.#chain = chain;
    this.#lane = options.tree.lane;
    this.#journal = options.tree.lane.journal;
    this.#options = options;
    // Bound, not an arrow function: V8 kept every tree whose host held an arrow function that
    // captured it alive through the young-generation collections (a group per request piled up).
    this.#journals = options.tree.journalOf.bind(options.tree);
    this.#journalF64 = options.tree.lane.journalF64;
    this.#cell = cellOf(options.tree.lane.index);
  }

  /**
   * Takes a slot for a task of `count` units and counts them as pending, in the group and its ancestors.
   * @returns the slot's index; its generation is in `slots.claimedGeneration`
   * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED, ERR_PENDING_OVERFLOW, with nothing changed
   */
  add(count: number, label: string | undefined): number {
    // One method for root groups and sub-groups alike, on purpose: its bytecode is then above V8's
    // limit for inlining a function into its caller (460 bytes), so it is compiled on its own with
    // claim(), fill() and the rest inlined into it. Split into a small root path, it was inlined
    // into the caller's loop instead, where no inlining budget was left for what it calls, and
    // add().done() cost a fifth more in benchmark 1, depending on when V8's background compiler ran.
    const slot = this.slots.claim();
    if (slot < 0) this.#full(label);
    const journal = this.#journal;
    const record = this.#record;
    const lane = this.#lane;
    journal[E_GROUP] = this.#id;
    journal[E_SLOT] = slot;
    journal[E_UNITS] = count;
    const parity = myParity(record, lane.bit, H_PENDING);
    // From here a sweeper undoes this add if we die: the slot (already ours) is emptied and every
    // raise it can prove by our lane bit is lowered again.
    journal[E_STEP] = parity === 0 ? ADD_RAISE0 : ADD_RAISE1;
    this.slots.fill(slot, count, this.#id, label);
    Atomics.add(record.i64, H_PENDING / 2, count === 1 ? lane.up1[parity] : lane.delta(count, parity));
    stepped(record, H_PENDING);
    if (overLimit(record, H_PENDING)) this.#overflow(0, slot, count);
    // Counted last, in each level's cell of this lane: a sweeper that undoes the add puts the
    // journaled level's cell back to the value journaled with it, and lowers the cells below it.
    if (this.#chain.length === 1) {
      // A root group, the common case, written out.
      const f64 = record.f64;
      const cell = this.#cell;
      const value = f64[cell] ?? 0;
      this.#journalF64[E_CELL64 / 2] = value;
      journal[E_STEP] = ADD_COUNT;
      f64[cell] = value + count;
    } else {
      this.#raiseAncestors(slot, count);
      this.#countAncestors(this.#cell, count);
    }
    journal[E_STEP] = OP_NONE;
    return slot;
  }

  #countAncestors(cell: number, count: number): void {
    const lane = this.#lane;
    for (let level = 0; level < this.#chain.length; level++) {
      const record = levelOf(this.#chain, level);
      const value = record.f64[cell] ?? 0;
      lane.journalF64[E_CELL64 / 2] = value;
      this.#journal[E_STEP] = step(OP_ADD, PHASE_COUNT, level, 0);
      record.f64[cell] = value + count;
    }
  }

  #raiseAncestors(slot: number, count: number): void {
    const lane = this.#lane;
    for (let level = 1; level < this.#chain.length; level++) {
      const record = levelOf(this.#chain, level);
      const parity = myParity(record, lane.bit, H_PENDING);
      this.#journal[E_STEP] = step(OP_ADD, 0, level, parity);
      Atomics.add(record.i64, H_PENDING / 2, lane.delta(count, parity));
      stepped(record, H_PENDING);
      if (overLimit(record, H_PENDING)) this.#overflow(level, slot, count);
    }
  }

  /**
   * Undoes an add that raised levels 0 to `top` of the chain (an overflow at `top`, or `tryGo()`
   * finding no free `limit` slot), frees its slot and returns with the journal clear.
   */
  undoAdd(top: number, slot: number, count: number, counted = false): void {
    const lane = this.#lane;
    const journal = this.#journal;
    journal[E_GROUP] = this.#id;
    journal[E_SLOT] = slot;
    journal[E_UNITS] = count;
    if (counted) {
      // Each level's cell back down first, as a sweeper would (ADD_UNDO in PHASE_COUNT).
      const cell = cellOf(lane.index);
      for (let level = top; level >= 0; level--) {
        const record = levelOf(this.#chain, level);
        const value = record.f64[cell] ?? 0;
        lane.journalF64[E_CELL64 / 2] = value;
        journal[E_STEP] = step(OP_ADD_UNDO, PHASE_COUNT, level, 0);
        record.f64[cell] = value - count;
      }
    }
    for (let level = top; level >= 0; level--) {
      const record = levelOf(this.#chain, level);
      const parity = myParity(record, lane.bit, H_PENDING);
      this.#journal[E_STEP] = step(OP_ADD_UNDO, 0, level, parity);
      Atomics.add(record.i64, H_PENDING / 2, lane.delta(-count, parity));
      stepped(record, H_PENDING);
      // The count passed through a value above MAX_UNITS, never through zero; but an undo of a
      // tryGo() may be what brings it back to zero.
      wakeAtZero(record);
    }
    this.slots.storeOwn(slot, this.slots.claimedGeneration, 0);
    this.slots.keepOrRelease(slot);
    this.#journal[E_STEP] = OP_NONE;
  }

  #overflow(level: number, slot: number, count: number): never {
    this.undoAdd(level, slot, count);
    const name = this.#options.chain[level]?.name ?? '';
    throw new WaitGroupError('ERR_PENDING_OVERFLOW', `cannot add ${count} units: group "${name}" would have more than ${MAX_UNITS} pending`);
  }

  /**
   * Completes `units` of a task only this thread holds a handle of: plain writes to its slot, as
   * nobody else can take its units.
   * @param remaining - the task's remaining units (exact)
   * @returns units taken
   */
  doneOwn(slot: number, generation: number, remaining: number, units: number, failed: boolean, error: unknown, label: string | undefined, limited: boolean): number {
    const taken = Math.min(units, remaining);
    if (taken <= 0) return 0;
    // User code (getters, inspection) runs here, before the journal names the completion.
    const entry = failed ? stageFailure(this.tree, this.#id, error, this.#options.origin(label)) : -1;
    const journal = this.#journal;
    journal[E_GROUP] = this.#id;
    journal[E_SLOT] = slot;
    journal[E_UNITS] = taken;
    journal[E_REMAINING] = remaining;
    journal[E_ENTRY] = entry;
    journal[E_FLAGS] = (failed ? OPF_FAILED : 0) | (limited ? OPF_LIMITED : 0);
    journal[E_STEP] = step(OP_DONE, PHASE_TAKE, 0, 0);
    // The take: a sweeper compares the slot's remaining units with E_REMAINING to know if it happened.
    this.slots.storeOwn(slot, generation, remaining - taken);
    this.finish(OP_DONE, slot, taken, failed, error, entry, limited);
    if (remaining === taken) this.slots.keepOrRelease(slot);
    return taken;
  }

  /**
   * `doneOwn()` of one unit, neither failed nor holding a `limit` slot (`remaining` > 0): the
   * common case, written out for a root group (a sub-group's levels are lowered by finish()).
   */
  doneOne(slot: number, generation: number, remaining: number): void {
    const journal = this.#journal;
    journal[E_GROUP] = this.#id;
    journal[E_SLOT] = slot;
    journal[E_UNITS] = 1;
    journal[E_REMAINING] = remaining;
    journal[E_ENTRY] = -1;
    journal[E_FLAGS] = 0;
    journal[E_STEP] = DONE_TAKE;
    // The take: a sweeper compares the slot's remaining units with E_REMAINING to know if it happened.
    this.slots.storeOwn(slot, generation, remaining - 1);
    if (this.#chain.length === 1) {
      // A root group, the common case, written out: PHASE_LOWER's one laned step.
      lowerRoot(this.#record, this.#lane, journal, DONE_LOWER0, DONE_LOWER1);
      journal[E_STEP] = OP_NONE;
    } else {
      this.finish(OP_DONE, slot, 1, false, undefined, -1, false);
    }
    if (remaining === 1) this.slots.keepOrRelease(slot);
  }

  /**
   * Completes up to `units` of a shared task: a tagged compare-and-exchange on its slot (take.ts).
   * @returns units taken; what the task has left is in take.ts's `took`
   */
  doneShared(slot: number, generation: number, units: number, failed: boolean, error: unknown, label: string | undefined, limited: boolean): number {
    const entry = failed ? stageFailure(this.tree, this.#id, error, this.#options.origin(label)) : -1;
    const journal = this.#journal;
    journal[E_GROUP] = this.#id;
    journal[E_UNITS] = units;
    journal[E_ENTRY] = entry;
    journal[E_FLAGS] = (failed ? OPF_FAILED : 0) | (limited ? OPF_LIMITED : 0);
    const taken = takeShared(this.slots.words64(slot), this.#lane, this.#journals, slot, generation, units, step(OP_DONE_SHARED, PHASE_TAKE, 0, 0));
    if (taken === 0) {
      withdraw(this.tree, entry);
      journal[E_STEP] = OP_NONE;
      return 0;
    }
    // The last unit: the slot is given back in PHASE_FREE, after the journal has left PHASE_TAKE,
    // so no claimer can replace our tagged state while a sweeper might still need to find it.
    this.finish(OP_DONE_SHARED, slot, taken, failed, error, entry, limited, took.remaining === 0 ? generation : -1);
    return taken;
  }

  /**
   * `doneShared()` of one unit, neither failed nor holding a `limit` slot: the common case,
   * written out for a root group.
   * @returns units taken (0 or 1); what the task has left is in take.ts's `took`
   */
  doneSharedOne(slot: number, generation: number): number {
    if (this.#chain.length !== 1) return this.doneShared(slot, generation, 1, false, undefined, undefined, false);
    const journal = this.#journal;
    journal[E_GROUP] = this.#id;
    journal[E_UNITS] = 1;
    journal[E_ENTRY] = -1;
    journal[E_FLAGS] = 0;
    const lane = this.#lane;
    if (takeShared(this.slots.words64(slot), lane, this.#journals, slot, generation, 1, SHARED_TAKE) === 0) {
      journal[E_STEP] = OP_NONE;
      return 0;
    }
    const record = this.#record;
    lowerRoot(record, lane, journal, SHARED_LOWER0, SHARED_LOWER1);
    if (took.remaining === 0) {
      // The last unit: the slot is given back after the journal has left PHASE_TAKE, so no
      // claimer can replace our tagged state while a sweeper might still need to find it.
      journal[E_STEP] = SHARED_FREE;
      this.slots.freeShared(slot, generation);
    }
    journal[E_STEP] = OP_NONE;
    return 1;
  }

  /**
   * Records a failure of the group that completes no unit (a queued `go()` function that could not
   * get a task): journaled as a completion of 0 units whose take is past, so a sweeper finishes it.
   */
  failAlone(error: unknown, label: string | undefined): void {
    const entry = stageFailure(this.tree, this.#id, error, this.#options.origin(label));
    const journal = this.#journal;
    journal[E_GROUP] = this.#id;
    journal[E_SLOT] = -1;
    journal[E_UNITS] = 0;
    journal[E_ENTRY] = entry;
    journal[E_FLAGS] = OPF_FAILED;
    // Named before the entry is published: from here a sweeper publishes and counts it.
    journal[E_STEP] = step(OP_DONE, PHASE_FAIL, 0, myParity(this.#record, this.#lane.bit, H_FAILED));
    this.finish(OP_DONE, -1, 0, true, error, entry, false);
  }

  /**
   * The phases of a completion after its take: the failure (published, counted up the chain,
   * cancelling groups that cancel on error), the `limit` slot given back, then the pending counts
   * lowered, in that order, so a waiter woken by the last lowering finds the failure recorded and
   * a function started after the failure finds the group cancelled.
   */
  finish(op: number, slot: number, units: number, failed: boolean, error: unknown, entry: number, limited: boolean, free = -1): void {
    const journal = this.#journal;
    const lane = this.#lane;
    const chain = this.#chain;
    if (failed) {
      if (entry >= 0) this.tree.log.publish(entry, lane.index);
      for (let level = 0; level < chain.length; level++) {
        const record = levelOf(chain, level);
        const parity = myParity(record, lane.bit, H_FAILED);
        journal[E_STEP] = step(op, PHASE_FAIL, level, parity);
        Atomics.add(record.i64, H_FAILED / 2, lane.up1[parity]);
        stepped(record, H_FAILED);
        if (cancelsOnError(record)) this.#options.cancel(level, error, entry);
        wakeFailureWatchers(record);
      }
    }
    if (limited) {
      const parity = myParity(this.#record, lane.bit, H_RUNNING);
      journal[E_STEP] = step(op, PHASE_LIMIT, 0, parity);
      releaseRunning(this.#record, lane.down1[parity]);
      stepped(this.#record, H_RUNNING);
      if (op === OP_DONE) this.slots.setFlag(slot, SLOT_LIMITED, false);
    }
    const down = units === 1 ? lane.down1 : undefined;
    for (let level = 0; units > 0 && level < chain.length; level++) {
      const record = levelOf(chain, level);
      const parity = myParity(record, lane.bit, H_PENDING);
      journal[E_STEP] = step(op, PHASE_LOWER, level, parity);
      Atomics.add(record.i64, H_PENDING / 2, down === undefined ? lane.delta(-units, parity) : down[parity]);
      stepped(record, H_PENDING);
      wakeAtZero(record);
    }
    if (free >= 0) {
      journal[E_STEP] = step(op, PHASE_FREE, 0, 0);
      this.slots.freeShared(slot, free);
    }
    journal[E_STEP] = OP_NONE;
  }

  /**
   * Takes one of the group's `limit` slots for the `go()` task in `slot`, if one is free: a
   * compare-and-exchange that also flips this thread's lane bit, so a sweeper can tell whether it
   * happened. The slot's SLOT_LIMITED flag records that the task holds it.
   */
  acquireRunning(slot: number): boolean {
    const record = this.#record;
    const lane = this.#lane;
    const limit = Atomics.load(record.i32, H_LIMIT);
    const parity = myParity(record, lane.bit, H_RUNNING);
    this.#journal[E_GROUP] = this.#id;
    this.#journal[E_SLOT] = slot;
    this.#journal[E_STEP] = step(OP_LIMIT, 0, 0, parity);
    const up = lane.up1[parity];
    for (;;) {
      const running = Atomics.load(record.i64, H_RUNNING / 2);
      // A compare-and-exchange, not an add: two threads seeing the last free slot must not both take it.
      if (Number(running >> 32n) >= limit) {
        this.#journal[E_STEP] = OP_NONE;
        return false;
      }
      if (Atomics.compareExchange(record.i64, H_RUNNING / 2, running, running + up) === running) break;
    }
    stepped(record, H_RUNNING);
    this.slots.setFlag(slot, SLOT_LIMITED, true);
    this.#journal[E_STEP] = OP_NONE;
    return true;
  }

  /**
   * Views this thread's journal again after its private tree moved to new memory (tree.ts). The
   * records of the chain are the tree's own objects, rebound in place; only the journal view is
   * kept here. Called by the tree, between operations.
   */
  rebind(): void {
    this.#journal = this.#lane.journal;
    this.#journalF64 = this.#lane.journalF64;
  }

  /** Index of the root's record in the chain: the depth of the group below its root. */
  get depth(): number {
    return this.#chain.length - 1;
  }

  /** The group, as a value to post to another thread. */
  share(): SharedWaitGroup {
    return this.#options.share();
  }

  #full(label: string | undefined): never {
    throw new WaitGroupError('ERR_CAPACITY_EXCEEDED', `cannot add task ${describe(label)}: all ${this.capacity} task slots of the group are pending (the capacity option)`);
  }
}

/**
 * PHASE_LOWER of a done() on a root group, the common case written out: journal the step with this
 * lane's bit before it (so a sweeper can tell whether it happened), lower pending with the bit
 * flipped in the same atomic step, and wake the waiters if it reached zero.
 */
function lowerRoot(record: GroupRecord, lane: Lane, journal: Int32Array, lower0: number, lower1: number): void {
  const parity = myParity(record, lane.bit, H_PENDING);
  journal[E_STEP] = parity === 0 ? lower0 : lower1;
  Atomics.add(record.i64, H_PENDING / 2, lane.down1[parity]);
  stepped(record, H_PENDING);
  if (atZero(record)) wakeWaiters(record);
}

/** Gives a `limit` slot back (`down`: one unit down with the releaser's lane bit flipped) and wakes queued starters. */
export function releaseRunning(record: GroupRecord, down: bigint): void {
  Atomics.add(record.i64, H_RUNNING / 2, down);
  // A thread that queued after our decrement re-checks before it sleeps; one that queued before
  // it counted itself in H_LIMIT_WAITERS first, so this read sees it and wakes it.
  if (Atomics.load(record.i32, H_LIMIT_WAITERS) > 0) Atomics.notify(record.i64, H_RUNNING / 2);
}
