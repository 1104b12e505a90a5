// Runs on both sides of a thread boundary: one thread's view of a group tree's shared memory
// (tree counters and parent table, task slots, failure log). Each thread keeps at most one Tree
// object per tree, so its slot hints and decoded failures are shared by all its groups.
import { randomInt } from 'node:crypto';
import { WaitGroupError, describe, type FailureOrigin } from '../errors/errors.js';
import { watch } from '../platform/exits.js';
import { sweep } from './sweep.js';
import { FailureLog } from './failure-log.js';
import { threadId } from 'node:worker_threads';
import { nameOf, recordAt, writeName, type GroupRecord } from './counters.js';
import { Lane, register } from './registry.js';
import {
  MAX_CAPACITY,
  MAX_FAILURES,
  MAX_FAILURE_BYTES,
  MAX_GROUPS,
  T_PROBE,
  E_OWNER,
  E_PARENT,
  E_SPARE,
  E_STEP,
  E_THREAD,
  ENTRY_WORDS,
  REGISTRY,
  GROUP_WORDS,
  GROUPS_BASE,
  H_DEPTH,
  MAX_DEPTH,
  H_CREATOR,
  H_FLAGS,
  H_GROUP_ID,
  H_LIMIT,
  H_MAGIC,
  H_PARENT_ID,
  H_VERSION,
  HEADER_MAGIC,
  LAYOUT_VERSION,
  T_CAPACITY,
  T_GROUP_SEQ,
  T_ID_HI,
  T_ID_LO,
  T_LOG_MAX,
  T_MAGIC,
  T_MAX_FAILURES,
  T_MAX_GROUPS,
  T_VERSION,
  TREE_INITIAL_GROUPS,
  TREE_MAGIC,
  TREE_WORDS,
} from './layout.js';
import { Slots, ensureLength } from './slots.js';

/**
 * The shared buffers of a tree, as they travel inside a `SharedWaitGroup`. Not in the API
 * reference (`@hidden`): `SharedWaitGroup#tree` shows its shape there (`@inline`).
 * @inline @hidden
 */
export interface SharedTree {
  /** Tree-wide counters, then one record per group (growable). */
  readonly tree: SharedArrayBuffer;
  /** One 192-byte record per task (growable). */
  readonly slots: SharedArrayBuffer;
  /** The failure log: an index of records, then the serialized failures (growable). */
  readonly log: SharedArrayBuffer;
}

/** Sizes fixed when a root group is created. */
export interface TreeLimits {
  readonly capacity: number;
  readonly maxGroups: number;
  readonly maxFailures: number;
  readonly failureBytes: number;
}

const trees = new Map<string, WeakRef<Tree>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (trees.get(key)?.deref() === undefined) trees.delete(key);
});

function inRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function invalid(message: string): WaitGroupError {
  return new WaitGroupError('ERR_INVALID_SHARED_VALUE', message);
}

function growable(value: unknown, name: string): SharedArrayBuffer {
  if (!(value instanceof SharedArrayBuffer) || !value.growable) {
    throw invalid(`${name} must be a growable SharedArrayBuffer made by share(); received ${describe(value)}`);
  }
  return value;
}

/** One thread's view of a tree. */
export class Tree {
  readonly shared: SharedTree;
  readonly words: Int32Array;
  readonly slots: Slots;
  readonly log: FailureLog;
  /** Identity of the tree, the same in every thread. */
  readonly key: string;
  /** Failures recorded by this thread, by ordinal: waiters here get the original value, not a copy. */
  readonly originals = new Map<number, { value: unknown; origin: FailureOrigin }>();
  /** Names of the groups of this tree that this thread has objects for, by id. */
  readonly names = new Map<number, string>();
  /** Failures of other threads already rebuilt here, by ordinal. */
  readonly rebuilt = new Map<number, { value: unknown; origin: FailureOrigin }>();
  /** This thread's lane in the tree's registry. */
  readonly lane: Lane;
  /** Every lane's journal view, made when first needed (to confirm a take, or to sweep). */
  readonly #lanes: Lane[] = [];
  /** Record views by group id, made once per group. */
  readonly #records: GroupRecord[] = [];

  private constructor(shared: SharedTree) {
    this.shared = shared;
    // Fixed length: the counters never move, and fixed views are faster than length-tracking ones.
    this.words = new Int32Array(shared.tree, 0, GROUPS_BASE);
    this.lane = register(shared.tree, this.words);
    this.#lanes[this.lane.index] = this.lane;
    this.slots = new Slots(shared.slots, this.words, this.lane);
    this.log = new FailureLog(shared.log, this.words);
    this.key = `${this.words[T_ID_HI]}:${this.words[T_ID_LO]}`;
  }

  /** Allocates the shared memory of a new tree. */
  static create(limits: TreeLimits): Tree {
    const tree = new SharedArrayBuffer(Tree.#bytesFor(Math.min(limits.maxGroups, TREE_INITIAL_GROUPS)), {
      maxByteLength: Tree.#bytesFor(limits.maxGroups),
    });
    const words = new Int32Array(tree);
    words[T_MAGIC] = TREE_MAGIC;
    words[T_VERSION] = LAYOUT_VERSION;
    words[T_ID_LO] = randomInt(2 ** 31);
    words[T_ID_HI] = randomInt(2 ** 31);
    words[T_CAPACITY] = limits.capacity;
    words[T_MAX_GROUPS] = limits.maxGroups;
    words[T_MAX_FAILURES] = limits.maxFailures;
    words[T_LOG_MAX] = limits.failureBytes;
    const slotSizes = Slots.sizes(limits.capacity);
    const logSizes = FailureLog.sizes(limits.maxFailures, limits.failureBytes);
    const shared = {
      tree,
      slots: new SharedArrayBuffer(slotSizes.initial, { maxByteLength: slotSizes.max }),
      log: new SharedArrayBuffer(logSizes.initial, { maxByteLength: logSizes.max }),
    };
    // Private until handOut(): no other thread can hold a task in it yet, so no exit concerns it.
    return Tree.#remember(new Tree(shared));
  }

  /**
   * The calling thread's view of a shared tree, made once per thread.
   * @throws {WaitGroupError} ERR_INVALID_SHARED_VALUE, ERR_LAYOUT_VERSION when `shared` is not a tree made by this library
   */
  static attach(shared: SharedTree): Tree {
    const tree = growable(shared.tree, 'tree');
    const slots = growable(shared.slots, 'slots');
    const log = growable(shared.log, 'log');
    if (tree.byteLength < Tree.#bytesFor(1)) throw invalid(`tree buffer of ${tree.byteLength} bytes is too small`);
    const words = new Int32Array(tree, 0, TREE_WORDS);
    if (words[T_MAGIC] !== TREE_MAGIC) throw invalid(`tree buffer has tag ${describe(words[T_MAGIC])}, expected ${TREE_MAGIC}`);
    if (words[T_VERSION] !== LAYOUT_VERSION) {
      throw new WaitGroupError('ERR_LAYOUT_VERSION', `tree has layout version ${describe(words[T_VERSION])}; this copy of shared-waitgroup reads version ${LAYOUT_VERSION}`);
    }
    const capacity = words[T_CAPACITY] ?? 0;
    const maxFailures = words[T_MAX_FAILURES] ?? 0;
    const maxGroups = words[T_MAX_GROUPS] ?? 0;
    const logMax = words[T_LOG_MAX] ?? 0;
    // Every size is checked before any view is made from it: a crafted header must fail here, coded.
    if (!inRange(capacity, 1, MAX_CAPACITY) || !inRange(maxFailures, 0, MAX_FAILURES) || !inRange(maxGroups, 1, MAX_GROUPS) || !inRange(logMax, 0, MAX_FAILURE_BYTES)) {
      throw invalid(`tree header holds sizes out of range: capacity ${capacity}, maxFailures ${maxFailures}, maxGroups ${maxGroups}, failureBytes ${logMax}`);
    }
    if (tree.maxByteLength !== Tree.#bytesFor(maxGroups) || slots.maxByteLength !== Slots.sizes(capacity).max || log.maxByteLength !== FailureLog.sizes(maxFailures, logMax).max) {
      throw invalid(`tree, slots or log buffer does not match the tree's sizes (capacity ${capacity}, maxGroups ${maxGroups}, failure limits)`);
    }
    const key = `${words[T_ID_HI]}:${words[T_ID_LO]}`;
    const known = trees.get(key)?.deref();
    if (known === undefined) return Tree.#remember(new Tree({ tree, slots, log })).#watch();
    // The same identity must be the same memory, not a copy of it: a count raised through the tree
    // we know must read raised through the buffer received. Other threads may raise it too, at the
    // same time (several workers attaching the tree): it only ever grows, and a copy's never moves.
    const probe = (Atomics.add(known.words, T_PROBE, 1) + 1) | 0;
    if (((Atomics.load(words, T_PROBE) - probe) | 0) < 0) throw invalid(`tree buffer is a copy of tree ${key}, not its shared memory`);
    return known;
  }

  static #remember(tree: Tree): Tree {
    trees.set(tree.key, new WeakRef(tree));
    forget.register(tree, tree.key);
    return tree;
  }

  #watched = false;

  /** Sweeps this tree, from now on, after threads that exit (platform/exits.ts). Once per thread. */
  #watch(): this {
    if (!this.#watched) {
      this.#watched = true;
      watch(this, this.key, sweep);
    }
    return this;
  }

  /**
   * The tree's memory, to hand to another thread: from now on this thread sweeps the tree after
   * threads that exit (a tree no other thread has seen needs no sweep: its tasks are all ours).
   * @returns the buffers, for a shared value
   */
  handOut(): SharedTree {
    return this.#watch().shared;
  }

  static #bytesFor(groups: number): number {
    return (GROUPS_BASE + groups * GROUP_WORDS) * 4;
  }

  /** The owner word of registry entry `lane` (see E_OWNER). */
  ownerEntry(lane: number): number {
    return Atomics.load(this.words, REGISTRY + lane * ENTRY_WORDS + E_OWNER);
  }

  /**
   * The name of group `id`: the one this thread knows, else the one kept in its record (its end,
   * when longer than the record keeps).
   */
  nameOf(id: number): string {
    const known = this.names.get(id);
    if (known !== undefined) return known;
    const record = this.published(id);
    return record === undefined ? `group ${id}` : nameOf(record);
  }

  /** The Node threadId of the thread holding registry entry `lane` (or that held it, while it is swept). */
  threadOf(lane: number): number {
    return this.words[REGISTRY + lane * ENTRY_WORDS + E_THREAD] ?? -1;
  }

  /** The parent word of registry entry `lane` (see E_PARENT). */
  parentEntry(lane: number): number {
    return Atomics.load(this.words, REGISTRY + lane * ENTRY_WORDS + E_PARENT);
  }

  /** Moves registry entry `lane`'s owner word from `from` to `to`; true if this call did. */
  claimEntry(lane: number, from: number, to: number): boolean {
    return Atomics.compareExchange(this.words, REGISTRY + lane * ENTRY_WORDS + E_OWNER, from, to) === from;
  }

  /** Frees swept entry `lane` for another thread. */
  freeEntry(lane: number): void {
    const at = REGISTRY + lane * ENTRY_WORDS;
    this.words[at + E_PARENT] = 0;
    this.words[at + E_SPARE] = -1;
    this.words[at + E_STEP] = 0;
    // Last, and atomic: whoever claims the entry next sees the words above cleared.
    Atomics.store(this.words, at + E_OWNER, 0);
  }

  /** The journal view of lane `index` (this thread's own, or another's). */
  journalOf(index: number): Lane {
    return (this.#lanes[index] ??= new Lane(this.shared.tree, index));
  }

  /** Most tasks pending at once in the tree. */
  get capacity(): number {
    return this.words[T_CAPACITY] ?? 0;
  }

  /** Groups created in the tree so far; their ids are 1 to this. */
  get groups(): number {
    return Atomics.load(this.words, T_GROUP_SEQ);
  }

  /**
   * Registers a new group of the tree under `parent` (0 for the root) and writes its record.
   * @returns the new group's id
   * @throws {WaitGroupError} ERR_GROUP_LIMIT_EXCEEDED when the tree already has `maxGroups` groups
   */
  addGroup(parent: number, flags: number, limit: number, name: (id: number) => string): number {
    const max = this.words[T_MAX_GROUPS] ?? 0;
    const depth = parent === 0 ? 0 : (this.record(parent).i32[H_DEPTH] ?? 0) + 1;
    if (depth > MAX_DEPTH) {
      throw new WaitGroupError('ERR_GROUP_LIMIT_EXCEEDED', `sub-groups nest at most ${MAX_DEPTH} deep; sub() was called on a group at depth ${depth - 1}`);
    }
    for (;;) {
      const last = Atomics.load(this.words, T_GROUP_SEQ);
      if (last >= max) {
        throw new WaitGroupError('ERR_GROUP_LIMIT_EXCEEDED', `a tree holds at most ${max} groups (the maxGroups option); sub() was called once too often`);
      }
      if (Atomics.compareExchange(this.words, T_GROUP_SEQ, last, last + 1) !== last) continue;
      const id = last + 1;
      ensureLength(this.shared.tree, Tree.#bytesFor(id));
      const record = this.record(id).i32;
      record[H_VERSION] = LAYOUT_VERSION;
      record[H_GROUP_ID] = id;
      record[H_PARENT_ID] = parent;
      record[H_FLAGS] = flags;
      record[H_LIMIT] = limit;
      record[H_CREATOR] = threadId;
      record[H_DEPTH] = depth;
      writeName(this.record(id), name(id));
      // Published last: a record with its tag is completely written.
      Atomics.store(record, H_MAGIC, HEADER_MAGIC);
      return id;
    }
  }

  /**
   * The record of group `id`: a fixed view of GROUP_WORDS words of the tree buffer.
   * @throws {WaitGroupError} ERR_INVALID_SHARED_VALUE when no such group was created
   */
  record(id: number): GroupRecord {
    const known = this.#records[id];
    if (known !== undefined) return known;
    if (!Number.isInteger(id) || id < 1 || id > this.groups || this.shared.tree.byteLength < Tree.#bytesFor(id)) {
      throw invalid(`group id ${describe(id)} is not a group of this tree (it has ${this.groups})`);
    }
    return (this.#records[id] = recordAt(this.shared.tree, (GROUPS_BASE + (id - 1) * GROUP_WORDS) * 4, id));
  }

  /**
   * The record of group `id` once it is completely written, for code that visits every group
   * while others may be creating one (its id is taken before its record exists).
   * @returns the record, or undefined while it is being created
   */
  published(id: number): GroupRecord | undefined {
    if (this.shared.tree.byteLength < Tree.#bytesFor(id)) return undefined;
    const record = this.record(id);
    return Atomics.load(record.i32, H_MAGIC) === HEADER_MAGIC ? record : undefined;
  }

  /** The parent id of group `id`, 0 for the root. */
  parentOf(id: number): number {
    return Atomics.load(this.record(id).i32, H_PARENT_ID);
  }

  /** The records of group `id` and of its ancestors, nearest first. */
  chainOf(id: number): GroupRecord[] {
    const chain: GroupRecord[] = [];
    for (let at = id; at > 0 && chain.length <= MAX_DEPTH; at = this.parentOf(at)) chain.push(this.record(at));
    return chain;
  }

  /** True when group `id` is `ancestor` or one of its descendants. */
  isWithin(id: number, ancestor: number): boolean {
    for (let at = id, hops = 0; at > 0 && hops <= this.groups; hops++) {
      if (at === ancestor) return true;
      at = this.parentOf(at);
    }
    return false;
  }
}
