// Runs on both sides of a thread boundary: the task slot arena, shared by every thread of a tree.
// A slot belongs to the thread named in its owner word, claimed by compare-and-exchange, so a
// sweeper can always tell whose it is. A thread keeps the slot of its last completed task as its
// spare: its next add() reuses it with plain writes and no atomic operation. A task whose only
// handle is its creator's is completed with plain writes too (nobody else may take its units);
// a shared task's units are taken by compare-and-exchange on the state word (see take.ts).
import * as clock from '../platform/clock.js';
import { Census, type CensusCount } from './census.js';
import type { Lane } from './registry.js';
import * as states from './state.js';
import * as layout from './layout.js';

// Imported bindings are live: V8 loads one from its module's cell, with a check that it is
// initialized, at every use, and cannot fold it into optimized code; it folds this module's own
// constants. So the hot paths read copies.
const { now } = clock;
const { fields, highHalf, join, split } = states;
const { E_SPARE, GENERATIONS, HI32, LABEL_UNITS, LO32, NO_LABEL, OWNER_RETIRED, S_FLAGS, S_GROUP, S_LABEL16, S_LABEL_LEN16, S_OWNER64, S_STATE64, SLOT_CHUNK, T_CAPACITY, T_SLOT_CURSOR, T_SLOT_HIGH, CENSUS_GROUP_MASK, CENSUS_LANE_SHIFT, censusByte, slotByte, slotsBytes, slotsWithin } = layout;

/**
 * On the compact slots buffer of a private tree: the Slots view that moves it to a larger buffer
 * when full (`Slots#outgrow`). A property of the buffer, not a WeakMap entry nor a closure: V8's
 * young-generation collector keeps a WeakMap's values alive, and with them every dropped tree.
 */
const MOVER = Symbol('shared-waitgroup/mover');
type Movable = SharedArrayBuffer & { [MOVER]?: Slots | undefined };

/**
 * Makes `buffer` at least `bytes` long, growing it by at least half again to keep grows rare.
 * Safe to race: whichever thread grows first wins, and a smaller grow that loses is not an error.
 * A private tree's compact slots buffer (fixed length) is not grown but replaced: the slots move to
 * a larger buffer and their views follow (`Slots#outgrow`); `buffer` itself is then left behind.
 * @returns false when `bytes` exceeds the buffer's maximum length
 */
export function ensureLength(buffer: SharedArrayBuffer, bytes: number): boolean {
  if (buffer.byteLength >= bytes) return true;
  if (!buffer.growable) return (buffer as Movable)[MOVER]?.outgrow(bytes) ?? false;
  if (bytes > buffer.maxByteLength) return false;
  // Whole multiples of 64 bytes, so every view of a whole number of records stays aligned.
  const target = Math.min(buffer.maxByteLength, Math.ceil(Math.max(bytes, buffer.byteLength * 1.5) / 64) * 64);
  try {
    buffer.grow(target);
  } catch {
    // Another thread grew the buffer past `target` between our length check and grow().
  }
  return buffer.byteLength >= bytes;
}

/** The generation of a slot state. */
export function generationOf(state: bigint): number {
  split(state);
  return fields.generation;
}

/** The remaining units of a slot state. */
export function remainingOf(state: bigint): number {
  split(state);
  return fields.remaining;
}

/** The state of a task of `generation` with `remaining` units and no tag. */
export function stateOf(generation: number, remaining: number): bigint {
  return join(generation, 0, remaining);
}

/** A snapshot of one occupied slot, as `pendingTasks()` and the sweep read it. */
export interface SlotSnapshot {
  readonly index: number;
  readonly state: bigint;
  readonly generation: number;
  readonly group: number;
  /** The lane of the thread holding the task. */
  readonly lane: number;
  readonly flags: number;
  readonly label: string | undefined;
  readonly since: number;
  readonly remaining: number;
}

/** One thread's view of a tree's slot arena. */
export class Slots {
  /** The slots buffer (another one after a private tree moved: see `rebind()`). */
  buffer: SharedArrayBuffer;
  #tree: Int32Array;
  // Fixed-length views, remade when the buffer has grown: V8 accesses length-tracking views of a
  // growable buffer about three times slower.
  #u64!: BigUint64Array;
  #i32!: Int32Array;
  #f64!: Float64Array;
  #u16!: Uint16Array;
  /** The census entries of the slots (what a pending-task summary reads). */
  #census!: Census;
  /** Slots the views cover. */
  #covered = 0;
  /** Generation of the task the last successful claim() placed. */
  claimedGeneration = 0;
  /** This thread's lane + 1, written into the owner word of every slot it claims. */
  readonly #owner: number;
  /** This thread's journal, where the spare is noted for the next view of the tree in this thread. */
  #journal: Int32Array;
  /** A slot this thread owns with no task in it (-1: none): the next add() takes it with plain writes. */
  #spare = -1;

  /**
   * @param buffer - the growable slots buffer of the tree
   * @param tree - Int32 view of the tree buffer (capacity and allocation cursors)
   * @param lane - this thread's lane in the tree
   */
  constructor(buffer: SharedArrayBuffer, tree: Int32Array, lane: Lane) {
    this.buffer = buffer;
    this.#tree = tree;
    this.#owner = lane.index + 1;
    this.#journal = lane.journal;
    this.#refresh();
    this.#spare = this.#journal[E_SPARE] ?? -1;
  }

  #refresh(): void {
    this.#covered = slotsWithin(this.buffer.byteLength);
    const bytes = slotsBytes(this.#covered);
    this.#u64 = new BigUint64Array(this.buffer, 0, bytes / 8);
    this.#i32 = new Int32Array(this.buffer, 0, bytes / 4);
    this.#u16 = new Uint16Array(this.buffer, 0, bytes / 2);
    this.#f64 = new Float64Array(this.buffer, 0, bytes / 8);
    this.#census = new Census(this.#i32, this.#f64, this.#u64);
  }

  /**
   * Views new memory after a private tree moved (tree.ts): `buffer` holds a copy of the slots;
   * `tree` and `journal` view the tree buffer's copy when that moved too. Only the owning thread calls it, and never
   * while an operation holds a view (see docs/protocol.md, Memory).
   */
  rebind(buffer: SharedArrayBuffer, tree = this.#tree, journal = this.#journal): void {
    this.buffer = buffer;
    this.#tree = tree;
    this.#journal = journal;
    this.#refresh();
  }

  /**
   * Private trees (tree.ts): while `compact`, a full buffer moves to one twice as large (up to the
   * capacity) instead of growing, through `ensureLength()`.
   */
  set compact(on: boolean) {
    const buffer = this.buffer as Movable;
    if (on) buffer[MOVER] = this;
    else if (buffer[MOVER] !== undefined) buffer[MOVER] = undefined;
  }

  get compact(): boolean {
    return (this.buffer as Movable)[MOVER] === this;
  }

  /**
   * Moves a compact buffer that has no room for `bytes` to one twice as large, or as large as
   * needed, up to the capacity (called by `ensureLength()`).
   * @returns false when `bytes` is past the capacity
   */
  outgrow(bytes: number): boolean {
    const capacity = this.#tree[T_CAPACITY] ?? 0;
    let needed = slotsWithin(bytes);
    if (slotsBytes(needed) < bytes) needed++;
    const slots = Math.min(capacity, Math.max(needed, 2 * slotsWithin(this.buffer.byteLength)));
    if (slotsBytes(slots) < bytes) return false;
    this.moveTo(new SharedArrayBuffer(slotsBytes(slots)));
    return true;
  }

  /** Copies the slots into `to`, at least as long, and views them there; a compact buffer's `to` is compact too. */
  moveTo(to: SharedArrayBuffer): void {
    const compact = this.compact;
    this.compact = false;
    new Uint8Array(to, 0, this.buffer.byteLength).set(new Uint8Array(this.buffer));
    this.rebind(to);
    this.compact = compact;
  }

  /** Makes sure the views reach slot `index`, which another thread may have grown the buffer for. */
  cover(index: number): void {
    if (index >= this.#covered) this.#refresh();
  }

  /** The 64-bit view of the arena (state and owner words), covering at least slot `index`. */
  words64(index: number): BigUint64Array {
    this.cover(index);
    return this.#u64;
  }

  /** Initial byte length and maximum byte length of a slots buffer for `capacity` slots. */
  static sizes(capacity: number): { initial: number; max: number } {
    return { initial: slotsBytes(Math.min(capacity, SLOT_CHUNK)), max: slotsBytes(capacity) };
  }

  /**
   * Takes a slot for a task: this thread's spare, or a free slot whose owner word it claims by
   * compare-and-exchange (which names this thread, so a sweeper finds the slot if we die). The
   * slot's state is left as it was (no task in it) until fill().
   * @returns the slot's index (its generation in `claimedGeneration`), or -1 when every slot is taken
   */
  claim(): number {
    let index = this.#spare;
    if (index >= 0) {
      this.#spare = -1;
      this.#journal[E_SPARE] = -1;
    } else {
      index = this.#claimElsewhere();
      if (index < 0) return -1;
    }
    this.claimedGeneration = this.#i32[(slotByte(index) >> 2) + 2 + HI32] ?? 0;
    return index;
  }

  /** Writes a task of `count` units into slot `index`, which this thread has just claimed. */
  fill(index: number, count: number, group: number, label: string | undefined): void {
    // Plain writes: only this thread writes a slot it owns while its task is unshared, and a
    // handle of an earlier task has an earlier generation, so no compare-and-exchange can match.
    const base = slotByte(index) >> 2;
    // Two 32-bit halves (remaining, then generation with no tag): a 64-bit write would cost a BigInt.
    this.#i32[base + LO32] = count;
    this.#i32[base + HI32] = highHalf(this.claimedGeneration);
    this.#i32[base + S_GROUP] = group;
    this.#i32[base + S_FLAGS] = 0;
    // The census entry (census.ts), written here rather than through Census: this is add()'s hot path.
    const entry = censusByte(index) >> 2;
    this.#i32[entry + LO32] = (group & CENSUS_GROUP_MASK) | (this.#owner << CENSUS_LANE_SHIFT);
    this.#i32[entry + HI32] = this.claimedGeneration;
    this.#f64[(entry >> 1) + 1] = now();
    if (label === undefined) this.#u16[(slotByte(index) >> 1) + S_LABEL_LEN16] = NO_LABEL;
    else this.#writeLabel(index, label);
  }

  #claimElsewhere(): number {
    const fresh = this.#claimFresh();
    return fresh >= 0 ? fresh : this.#claimScan();
  }

  /** Claims slot `index` if it is free: its owner word goes from (generation, 0) to (generation, us). */
  #tryClaim(index: number): boolean {
    const word = (slotByte(index) >> 3) + S_OWNER64;
    const owner = Atomics.load(this.#u64, word);
    if ((owner & 0xffffffffn) !== 0n) return false;
    return Atomics.compareExchange(this.#u64, word, owner, (owner & ~0xffffffffn) | BigInt(this.#owner)) === owner;
  }

  #claimFresh(): number {
    const capacity = this.#tree[T_CAPACITY] ?? 0;
    for (;;) {
      const high = Atomics.load(this.#tree, T_SLOT_HIGH);
      if (high >= capacity) return -1;
      // Claim the index first so no two threads take the same fresh slot, then make sure it exists.
      if (Atomics.compareExchange(this.#tree, T_SLOT_HIGH, high, high + 1) !== high) continue;
      ensureLength(this.buffer, slotsBytes(high + 1));
      this.cover(high);
      // A scan may already have taken this never-used slot (it reads as free): then look further.
      if (this.#tryClaim(high)) return high;
    }
  }

  #claimScan(): number {
    const high = this.#highWater();
    if (high === 0) return -1;
    const start = (Atomics.add(this.#tree, T_SLOT_CURSOR, 1) >>> 0) % high;
    for (let k = 0; k < high; k++) {
      const index = (start + k) % high;
      if (this.#tryClaim(index)) {
        Atomics.store(this.#tree, T_SLOT_CURSOR, index + 1);
        return index;
      }
    }
    return -1;
  }

  #writeLabel(index: number, label: string): void {
    const base = slotByte(index) >> 1;
    let length = Math.min(label.length, LABEL_UNITS);
    if (label.length > LABEL_UNITS) {
      // Cut before the ellipsis, never between the two halves of a surrogate pair.
      length = LABEL_UNITS - 1;
      const last = label.charCodeAt(length - 1);
      if (last >= 0xd800 && last <= 0xdbff) length--;
    }
    for (let i = 0; i < length; i++) this.#u16[base + S_LABEL16 + i] = label.charCodeAt(i);
    if (label.length > LABEL_UNITS) this.#u16[base + S_LABEL16 + length++] = 0x2026; // '…'
    this.#u16[base + S_LABEL_LEN16] = length;
  }

  /** The current state word of slot `index`. */
  load(index: number): bigint {
    this.cover(index);
    return Atomics.load(this.#u64, (slotByte(index) >> 3) + S_STATE64);
  }

  /** Writes the state of an unshared task this thread owns (a take of its own units, or an undone add). */
  storeOwn(index: number, generation: number, remaining: number): void {
    const base = slotByte(index) >> 2;
    this.#i32[base + LO32] = remaining;
    this.#i32[base + HI32] = highHalf(generation);
  }

  /**
   * Keeps slot `index`, now empty and still owned by this thread, as the spare for the next add(),
   * or gives it back to the arena when there is a spare already.
   */
  keepOrRelease(index: number): void {
    // Plain: the task was never shared, so no other thread writes its entry (see census.ts).
    this.#i32[(censusByte(index) >> 2) + LO32] = 0;
    if (this.#spare >= 0) {
      this.release(index, this.#owner - 1);
      return;
    }
    this.#spare = index;
    this.#journal[E_SPARE] = index;
  }

  /**
   * Gives back slot `index` if lane `lane` owns it with no task in it: its owner word is cleared,
   * keeping the generation. Used for this thread's extra empty slots and, by a sweep, for a dead
   * thread's.
   */
  release(index: number, lane: number): void {
    this.cover(index);
    const word = (slotByte(index) >> 3) + S_OWNER64;
    const owner = Atomics.load(this.#u64, word);
    if ((owner & 0xffffffffn) !== BigInt(lane + 1)) return;
    // Only a slot that is empty at the generation it is owned at: one holding a task (which a
    // hasty reading may have missed), or a shared task whose last taker is freeing it (the state's
    // generation moved on first), is not ours to give back.
    split(Atomics.load(this.#u64, (slotByte(index) >> 3) + S_STATE64));
    if (fields.remaining !== 0 || fields.generation !== Number(owner >> 32n)) return;
    // Before the owner word frees the slot: after it, the entry may already be a new task's.
    this.#census.clear(index);
    Atomics.compareExchange(this.#u64, word, owner, owner & ~0xffffffffn);
  }

  /**
   * Frees slot `index` after the last unit of a shared task of `generation` was taken (the state
   * already carries generation + 1): its owner word moves to (generation + 1, nobody), or retires
   * the slot when its generations are used up. Idempotent: a sweeper may repeat it.
   */
  freeShared(index: number, generation: number): void {
    this.cover(index);
    const word = (slotByte(index) >> 3) + S_OWNER64;
    const next = generation + 1 >= GENERATIONS ? (BigInt(generation) << 32n) | BigInt(OWNER_RETIRED) : BigInt(generation + 1) << 32n;
    for (;;) {
      const owner = Atomics.load(this.#u64, word);
      // Freed already (by us before we died, or by another sweeper), or adopted then freed.
      if (Number(owner >> 32n) !== generation || (owner & 0xffffffffn) === BigInt(OWNER_RETIRED)) return;
      // Not freed yet, so the entry is still this task's: clear it before the slot can change hands.
      this.#census.clear(index);
      if (Atomics.compareExchange(this.#u64, word, owner, next) === owner) return;
    }
  }

  /**
   * Makes the calling thread the owner of slot `index` while it holds the task of `generation`:
   * one compare-and-exchange on the owner word, which fails if the slot was freed or changed
   * hands meanwhile (its generation moved on).
   */
  adopt(index: number, generation: number): void {
    this.cover(index);
    const word = (slotByte(index) >> 3) + S_OWNER64;
    for (;;) {
      const owner = Atomics.load(this.#u64, word);
      const lane = owner & 0xffffffffn;
      if (Number(owner >> 32n) !== generation || lane === 0n || lane === BigInt(OWNER_RETIRED) || lane === BigInt(this.#owner)) return;
      const state = this.load(index);
      if (generationOf(state) !== generation || remainingOf(state) === 0) return;
      if (Atomics.compareExchange(this.#u64, word, owner, (owner & ~0xffffffffn) | BigInt(this.#owner)) === owner) break;
    }
    // The census entry follows the owner word. Another adopter may write its lane after we read
    // the owner word: whoever writes the entry reads the owner word again after, and writes again
    // if it changed, so the last writer leaves them equal.
    for (;;) {
      const owner = Atomics.load(this.#u64, word);
      const lane = Number(owner & 0xffffffffn);
      if (Number(owner >> 32n) !== generation || lane === 0 || lane === OWNER_RETIRED) return;
      if (!this.#census.sync(index, generation, lane - 1)) return;
      if (Atomics.load(this.#u64, word) === owner) return;
    }
  }

  /** Sets or clears flag bits of a slot this thread owns (plain: only the owner writes them). */
  setFlag(index: number, flag: number, on: boolean): void {
    const word = (slotByte(index) >> 2) + S_FLAGS;
    const flags = this.#i32[word] ?? 0;
    this.#i32[word] = on ? flags | flag : flags & ~flag;
  }

  /** True when slot `index` holds no units (free, a spare, or a task whose last unit is taken). */
  isEmpty(index: number): boolean {
    return remainingOf(this.load(index)) === 0;
  }

  /** The flags of slot `index`. */
  flags(index: number): number {
    this.cover(index);
    return this.#i32[(slotByte(index) >> 2) + S_FLAGS] ?? 0;
  }

  /** The lane owning slot `index` (-1: none), and the generation it owns it at. */
  ownerOf(index: number): { lane: number; generation: number } {
    this.cover(index);
    const owner = Atomics.load(this.#u64, (slotByte(index) >> 3) + S_OWNER64);
    const lane = Number(owner & 0xffffffffn);
    return { lane: lane === 0 || lane === OWNER_RETIRED ? -1 : lane - 1, generation: Number(owner >> 32n) };
  }

  /** Visits every slot handed out so far that lane `lane` owns (empty ones included). */
  ownedBy(lane: number, visit: (index: number) => void): void {
    const high = this.#highWater();
    const owner = lane + 1;
    for (let index = 0; index < high; index++) {
      if ((this.#i32[(slotByte(index) >> 2) + 2 + LO32] ?? 0) === owner) visit(index);
    }
  }

  /** Snapshots of every occupied slot that passes `belongs`. */
  occupied(belongs: (slot: SlotSnapshot) => boolean): SlotSnapshot[] {
    const high = this.#highWater();
    const found: SlotSnapshot[] = [];
    for (let index = 0; index < high; index++) {
      const snapshot = this.snapshot(index);
      if (snapshot !== undefined && belongs(snapshot)) found.push(snapshot);
    }
    return found;
  }

  /**
   * One pass over the census of the slots handed out (16 bytes each, no object per task): counts
   * the tasks whose group passes `belongs` by lane and by group, and keeps the `oldest` oldest.
   */
  scan(belongs: (group: number) => boolean, oldest: number): CensusCount {
    return this.#census.count(this.#highWater(), belongs, oldest);
  }

  /** Slots handed out so far (the rest have never held a task), as far as this thread's views reach. */
  handedOut(): number {
    return this.#highWater();
  }

  /** Slots that may hold a task: handed out, and already inside the (possibly still growing) buffer. */
  #highWater(): number {
    const handedOut = Math.min(Atomics.load(this.#tree, T_SLOT_HIGH), this.#tree[T_CAPACITY] ?? 0);
    if (handedOut > 0) this.cover(handedOut - 1);
    return Math.min(handedOut, this.#covered);
  }

  /** A consistent reading of slot `index` while it holds a task, or undefined. */
  snapshot(index: number): SlotSnapshot | undefined {
    this.cover(index);
    const state = this.load(index);
    const remaining = remainingOf(state);
    const generation = generationOf(state);
    const { lane, generation: owned } = this.ownerOf(index);
    // Free, or the owner word belongs to another occupant than the state.
    if (remaining === 0 || lane < 0 || owned !== generation) return undefined;
    const base = slotByte(index) >> 2;
    const labelBase = slotByte(index) >> 1;
    const length = this.#u16[labelBase + S_LABEL_LEN16] ?? 0;
    const label = length === NO_LABEL ? undefined : String.fromCharCode(...this.#u16.subarray(labelBase + S_LABEL16, labelBase + S_LABEL16 + Math.min(length, LABEL_UNITS)));
    const snapshot: SlotSnapshot = {
      index,
      state,
      generation,
      group: this.#i32[base + S_GROUP] ?? 0,
      lane,
      flags: this.#i32[base + S_FLAGS] ?? 0,
      label,
      since: this.#census.since(index),
      remaining,
    };
    // If the slot changed hands while we read, the fields may mix two tasks: report neither.
    return this.load(index) === state && this.ownerOf(index).generation === generation ? snapshot : undefined;
  }
}
