// Runs on both sides of a thread boundary: one thread's view of a group tree's shared memory
// (tree counters and parent table, task slots, failure log). Each thread keeps at most one Tree
// object per tree, so its slot hints and decoded failures are shared by all its groups. A tree is
// private to its creating thread until its first share, in small fixed buffers that move as they
// fill (no memory mapping); then it moves once to its shared form (docs/protocol.md, Memory).
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
  COMPACT_GROUPS,
  COMPACT_LOG_BYTES,
  COMPACT_LOG_ENTRIES,
  COMPACT_SLOTS,
  FIXED_MAX_BYTES,
  H_CANCEL,
  H_PENDING,
  H_RUNNING,
  slotsBytes,
} from './layout.js';
import { Slots, ensureLength } from './slots.js';

/**
 * The shared buffers of a tree, as they travel inside a `SharedWaitGroup`. Not in the API
 * reference (`@hidden`): `SharedWaitGroup#tree` shows its shape there (`@inline`).
 * @inline @hidden
 */
export interface SharedTree {
  /** Tree-wide counters, then one record per group (growable, or fixed at its full size). */
  readonly tree: SharedArrayBuffer;
  /** One 192-byte record per task (growable, or fixed at its full size). */
  readonly slots: SharedArrayBuffer;
  /** The failure log: an index of records, then the serialized failures (growable, or fixed at its full size). */
  readonly log: SharedArrayBuffer;
}

/**
 * What a private tree keeps of one of its thread's groups: the tree rebinds the group's host when
 * it moves, and calls `publish` at its first share (the group joins the thread's table then).
 */
export interface Held {
  readonly host: { rebind(): void };
  readonly publish: () => void;
}

/** A GroupRecord whose views a move replaces in place. */
type Rebound = { -readonly [K in keyof GroupRecord]: GroupRecord[K] };

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

function sharedBuffer(value: unknown, name: string): SharedArrayBuffer {
  if (!(value instanceof SharedArrayBuffer)) {
    throw invalid(`${name} must be a SharedArrayBuffer made by share(); received ${describe(value)}`);
  }
  return value;
}

/** A buffer of `max` bytes at most: fixed at `max` when small enough, else growable from `initial`. */
function sharedForm(initial: number, max: number): SharedArrayBuffer {
  return max <= FIXED_MAX_BYTES ? new SharedArrayBuffer(max) : new SharedArrayBuffer(Math.min(initial, max), { maxByteLength: max });
}

/** Doubles `current` until it reaches `needed`, up to `max`. */
function grown(current: number, needed: number, max: number): number {
  return needed <= current ? current : Math.min(max, Math.max(needed, current * 2));
}

/**
 * One thread's view of a tree. A tree starts PRIVATE: only its creating thread holds its memory,
 * in small fixed-length buffers (no memory mapping), and moves to larger ones as they fill. Its
 * first `publish()` (a share) moves it once to its shared form: a buffer whose full size is
 * FIXED_MAX_BYTES or less is fixed at that size from the start and never moves; a larger one is
 * growable once shared. See docs/protocol.md, Memory.
 */
export class Tree {
  /** The tree buffer (another one after a private tree moved). */
  #buffer: SharedArrayBuffer;
  /** Int32 view of the tree buffer's tree words and registry (remade when a private tree moves). */
  words: Int32Array;
  readonly slots: Slots;
  readonly log: FailureLog;
  /** Identity of the tree, the same in every thread. */
  readonly key: string;
  /** Failures recorded by this thread, by ordinal: waiters here get the original value, not a copy. */
  get originals(): Map<number, { value: unknown; origin: FailureOrigin }> {
    return (this.#originals ??= new Map());
  }
  #originals: Map<number, { value: unknown; origin: FailureOrigin }> | undefined;
  /** Names of the groups of this tree that this thread has objects for, by id. */
  readonly names = new Map<number, string>();
  /** Failures of other threads already rebuilt here, by ordinal. */
  get rebuilt(): Map<number, { value: unknown; origin: FailureOrigin }> {
    return (this.#rebuilt ??= new Map());
  }
  #rebuilt: Map<number, { value: unknown; origin: FailureOrigin }> | undefined;
  /** This thread's lane in the tree's registry. */
  readonly lane: Lane;
  /** Every lane's journal view, made when first needed (to confirm a take, or to sweep). */
  readonly #lanes: Lane[] = [];
  /** Record views by group id, made once per group (rebound in place when a private tree moves). */
  readonly #records: GroupRecord[] = [];
  /** Set while the tree is private (never shared, known to this thread only): its groups (see Held). */
  #held: Held[] | undefined;
  /** True while the tree buffer is compact: it moves as groups are added (until the first share). */
  #compact = false;
  /** Operations of this thread running code of the user's (see pin()): the tree buffer must not move. */
  #pins = 0;

  private constructor(shared: SharedTree, logEntries?: number) {
    this.#buffer = shared.tree;
    // Fixed length: the counters never move, and fixed views are faster than length-tracking ones.
    this.words = new Int32Array(shared.tree, 0, GROUPS_BASE);
    this.lane = register(shared.tree, this.words);
    this.#lanes[this.lane.index] = this.lane;
    this.slots = new Slots(shared.slots, this.words, this.lane);
    this.log = new FailureLog(shared.log, this.words, logEntries);
    this.key = `${this.words[T_ID_HI]}:${this.words[T_ID_LO]}`;
  }

  /** The tree's buffers as they are now (a private tree's move to new ones). */
  get shared(): SharedTree {
    return { tree: this.#buffer, slots: this.slots.buffer, log: this.log.buffer };
  }

  /**
   * Allocates the memory of a new tree, private to the calling thread: each buffer fixed at its full
   * size if that is FIXED_MAX_BYTES or less, else compact (it moves as it fills).
   */
  static create(limits: TreeLimits): Tree {
    const treeMax = Tree.#bytesFor(limits.maxGroups);
    const slotsMax = Slots.sizes(limits.capacity).max;
    const logMax = FailureLog.sizes(limits.maxFailures, limits.failureBytes).max;
    const compact = { tree: treeMax > FIXED_MAX_BYTES, slots: slotsMax > FIXED_MAX_BYTES, log: logMax > FIXED_MAX_BYTES };
    const logEntries = compact.log ? Math.min(limits.maxFailures, COMPACT_LOG_ENTRIES) : limits.maxFailures;
    const tree = new SharedArrayBuffer(compact.tree ? Tree.#bytesFor(Math.min(limits.maxGroups, COMPACT_GROUPS)) : treeMax);
    const words = new Int32Array(tree);
    words[T_MAGIC] = TREE_MAGIC;
    words[T_VERSION] = LAYOUT_VERSION;
    words[T_ID_LO] = randomInt(2 ** 31);
    words[T_ID_HI] = randomInt(2 ** 31);
    words[T_CAPACITY] = limits.capacity;
    words[T_MAX_GROUPS] = limits.maxGroups;
    words[T_MAX_FAILURES] = limits.maxFailures;
    words[T_LOG_MAX] = limits.failureBytes;
    const shared = {
      tree,
      slots: new SharedArrayBuffer(compact.slots ? slotsBytes(Math.min(limits.capacity, COMPACT_SLOTS)) : slotsMax),
      log: new SharedArrayBuffer(compact.log ? FailureLog.indexBytes(logEntries) + Math.min(limits.failureBytes, COMPACT_LOG_BYTES) : logMax),
    };
    // Not watched for exits, nor in the thread's table of trees: no other thread can hold it yet.
    const made = new Tree(shared, logEntries);
    made.#held = [];
    made.#compact = compact.tree;
    made.slots.compact = compact.slots;
    made.log.compact = compact.log;
    return made;
  }

  /** True while the tree is private: never shared, so known to this thread only. */
  get isPrivate(): boolean {
    return this.#held !== undefined;
  }

  /**
   * Keeps what a private tree must reach of one of its thread's groups (see Held); for a tree
   * already shared, publishes it at once.
   */
  hold(held: Held): void {
    if (this.#held === undefined) held.publish();
    else this.#held.push(held);
  }

  /**
   * Makes the tree shareable, once: moves its compact buffers to their shared form (the views of
   * this thread follow), watches it for worker exits and enters it in the thread's table of trees.
   * Called by every share; only the first does anything.
   * @returns the buffers to send
   * @throws {WaitGroupError} ERR_TREE_BUSY when called from code the tree runs inside an operation (see pin())
   */
  publish(): SharedTree {
    const held = this.#held;
    if (held === undefined) return this.shared;
    if (this.#compact) this.#checkUnpinned('share()');
    const words = this.words;
    const { slots, log } = this;
    if (slots.compact) {
      const { initial, max } = Slots.sizes(words[T_CAPACITY] ?? 0);
      slots.compact = false;
      slots.moveTo(sharedForm(Math.max(initial, slots.buffer.byteLength), max));
    }
    if (log.compact) {
      const maxFailures = words[T_MAX_FAILURES] ?? 0;
      const { initial, max } = FailureLog.sizes(maxFailures, words[T_LOG_MAX] ?? 0);
      log.compact = false;
      log.moveTo(sharedForm(Math.max(initial, FailureLog.indexBytes(maxFailures) + log.dataBytes), max), maxFailures);
    }
    if (this.#compact) {
      const max = Tree.#bytesFor(words[T_MAX_GROUPS] ?? 0);
      this.#moveTree(sharedForm(Math.max(Tree.#bytesFor(TREE_INITIAL_GROUPS), this.#buffer.byteLength), max));
      this.#compact = false;
    }
    this.#held = undefined;
    Tree.#remember(this);
    for (const group of held) group.publish();
    return this.shared;
  }

  /**
   * Marks a stretch where this thread runs the user's code inside an operation that holds views of
   * the tree buffer (a failure's getters, while `cancelOnError` cancels its group): until `unpin()`,
   * a private tree's tree buffer refuses to move (ERR_TREE_BUSY) rather than leave the operation
   * writing to memory nobody reads.
   */
  pin(): void {
    this.#pins++;
  }

  unpin(): void {
    this.#pins--;
  }

  #checkUnpinned(what: string): void {
    if (this.#pins > 0) {
      throw new WaitGroupError('ERR_TREE_BUSY', `${what} would move the memory of a group tree that is recording a failure in this thread (code run by the failure itself, such as a getter): call it after the failing done() has returned`);
    }
  }

  /**
   * Copies the tree buffer into `to` and rebinds every view of it this thread holds: the tree
   * words, the group records (in place: groups, hosts, waits and watchers hold these objects), the
   * journals, the slots' and log's views of the tree, and the hosts' journal views. Only this
   * thread knows the tree, and no operation is in flight (see pin()), so nothing else can see the
   * move. Waits, `limit` queues and cancel watchers asleep on the old words are woken: each looks
   * again, at the new memory.
   */
  #moveTree(to: SharedArrayBuffer): void {
    new Uint8Array(to, 0, this.#buffer.byteLength).set(new Uint8Array(this.#buffer));
    this.#buffer = to;
    this.words = new Int32Array(to, 0, GROUPS_BASE);
    // forEach: both arrays are sparse (indexed by lane and by group id), and it skips the holes.
    this.#lanes.forEach((lane) => {
      lane.rebind(to);
    });
    this.#records.forEach((record) => {
      const old = { i64: record.i64, i32: record.i32 };
      Object.assign(record as Rebound, recordAt(to, (GROUPS_BASE + (record.id - 1) * GROUP_WORDS) * 4, record.id));
      Atomics.notify(old.i64, H_PENDING / 2);
      Atomics.notify(old.i64, H_RUNNING / 2);
      Atomics.notify(old.i32, H_CANCEL);
    });
    this.slots.rebind(this.slots.buffer, this.words, this.lane.journal);
    this.log.rebind(this.log.buffer, this.words);
    for (const held of this.#held ?? []) held.host.rebind();
  }

  /**
   * The calling thread's view of a shared tree, made once per thread.
   * @throws {WaitGroupError} ERR_INVALID_SHARED_VALUE, ERR_LAYOUT_VERSION when `shared` is not a tree made by this library
   */
  static attach(shared: SharedTree): Tree {
    const tree = sharedBuffer(shared.tree, 'tree');
    const slots = sharedBuffer(shared.slots, 'slots');
    const log = sharedBuffer(shared.log, 'log');
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
    // Each buffer as share() makes it: fixed at its full size when that is small, else growable to it.
    const fits = (buffer: SharedArrayBuffer, max: number): boolean => buffer.maxByteLength === max && (buffer.growable ? max > FIXED_MAX_BYTES : buffer.byteLength === max);
    if (!fits(tree, Tree.#bytesFor(maxGroups)) || !fits(slots, Slots.sizes(capacity).max) || !fits(log, FailureLog.sizes(maxFailures, logMax).max)) {
      throw invalid(`tree, slots or log buffer does not match the tree's sizes (capacity ${capacity}, maxGroups ${maxGroups}, failure limits)`);
    }
    const key = `${words[T_ID_HI]}:${words[T_ID_LO]}`;
    const known = trees.get(key)?.deref();
    if (known === undefined) return Tree.#remember(new Tree({ tree, slots, log }));
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
    watch(tree, tree.key, sweep);
    return tree;
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
    return (this.#lanes[index] ??= new Lane(this.#buffer, index));
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
      const id = last + 1;
      const room = this.#buffer.byteLength >= Tree.#bytesFor(id);
      // Checked before the id is taken: a refused move leaves no id without its record.
      if (!room && this.#compact) this.#checkUnpinned('sub()');
      if (Atomics.compareExchange(this.words, T_GROUP_SEQ, last, last + 1) !== last) continue;
      if (!room && this.#compact) {
        const current = (this.#buffer.byteLength / 4 - GROUPS_BASE) / GROUP_WORDS;
        this.#moveTree(new SharedArrayBuffer(Tree.#bytesFor(grown(current, id, max))));
      } else if (!room) {
        ensureLength(this.#buffer, Tree.#bytesFor(id));
      }
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
    if (!Number.isInteger(id) || id < 1 || id > this.groups || this.#buffer.byteLength < Tree.#bytesFor(id)) {
      throw invalid(`group id ${describe(id)} is not a group of this tree (it has ${this.groups})`);
    }
    return (this.#records[id] = recordAt(this.#buffer, (GROUPS_BASE + (id - 1) * GROUP_WORDS) * 4, id));
  }

  /**
   * The record of group `id` once it is completely written, for code that visits every group
   * while others may be creating one (its id is taken before its record exists).
   * @returns the record, or undefined while it is being created
   */
  published(id: number): GroupRecord | undefined {
    if (this.#buffer.byteLength < Tree.#bytesFor(id)) return undefined;
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
