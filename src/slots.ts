// Runs on both sides of a thread boundary: the task slot arena, shared by every thread of a tree.
// A slot's 64-bit state word is only ever changed by compare-and-exchange, so exactly one of any
// number of racing `done()` calls wins a unit, and a stale handle (older generation) never matches.
import { threadId } from 'node:worker_threads';
import { now } from './clock.js';
import {
  GENERATION_UNIT,
  LABEL_UNITS,
  REMAINING_MASK,
  S_GROUP,
  S_LABEL16,
  S_LABEL_LEN16,
  S_OWNER,
  S_READY,
  S_SINCE64,
  SLOT_BYTES,
  SLOT_CHUNK,
  SLOT_WORDS32,
  SLOT_WORDS64,
  T_CAPACITY,
  T_SLOT_CURSOR,
  T_SLOT_HIGH,
} from './layout.js';

/**
 * Makes `buffer` at least `bytes` long, growing it by at least half again to keep grows rare.
 * Safe to race: whichever thread grows first wins, and a smaller grow that loses is not an error.
 * @returns false when `bytes` exceeds the buffer's maximum length
 */
export function ensureLength(buffer: SharedArrayBuffer, bytes: number): boolean {
  if (buffer.byteLength >= bytes) return true;
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


/** The state of a new task of `count` units in a slot whose free state was `free`, of generation `generation`. */
function occupy(free: bigint, generation: number, count: number): bigint {
  const step = count === 1 ? ONE_UNIT_TASK : GENERATION_UNIT + BigInt(count);
  // The generation wraps from 2^32 - 1 to 0, and the sum must not carry out of 64 bits.
  return generation === 0xffffffff ? BigInt.asUintN(64, free + step) : free + step;
}

const ONE_UNIT_TASK = GENERATION_UNIT + 1n;
/** Top bit of a slot's ready word: the task holds one of its group's `limit` slots. */
const LIMITED_BIT = 1 << 31;

/** A snapshot of one occupied slot, as `pendingTasks()` reports it. */
export interface SlotSnapshot {
  readonly index: number;
  /** The state word the snapshot was read from: the expected value to take units with. */
  readonly state: bigint;
  readonly generation: number;
  readonly group: number;
  /** True for a `go()` task holding one of its group's `limit` slots. */
  readonly limited: boolean;
  readonly label: string | undefined;
  readonly threadId: number;
  readonly since: number;
  readonly remaining: number;
}

/** Free slots this thread released lately, with the state it left them in: the cheapest ones to claim. */
const HINTS = 64;

/** One thread's view of a tree's slot arena. */
export class Slots {
  readonly buffer: SharedArrayBuffer;
  readonly #tree: Int32Array;
  // Fixed-length views, remade when the buffer has grown: V8 accesses length-tracking views of a
  // growable buffer about three times slower.
  #state!: BigUint64Array;
  #i32!: Int32Array;
  #f64!: Float64Array;
  #u16!: Uint16Array;
  /** Slots the views cover. */
  #covered = 0;
  // Results of the last claim() and take() in this thread, read right after the call: returning
  // them in objects would allocate on every add() and done().
  /** State word written by the last successful claim(). */
  claimedState = 0n;
  /** Its generation. */
  claimedGeneration = 0;
  /** State word left by the last take() that took units (or seen by one that took none). */
  tookState = 0n;
  /** Units that state still holds. */
  tookRemaining = 0;
  readonly #hints: number[] = [];
  readonly #hintStates: bigint[] = [];
  readonly #hintGenerations: number[] = [];

  /**
   * @param buffer - the growable slots buffer of the tree
   * @param tree - Int32 view of the tree buffer (capacity and allocation cursors)
   */
  constructor(buffer: SharedArrayBuffer, tree: Int32Array) {
    this.buffer = buffer;
    this.#tree = tree;
    this.#refresh();
  }

  #refresh(): void {
    this.#covered = Math.floor(this.buffer.byteLength / SLOT_BYTES);
    const bytes = this.#covered * SLOT_BYTES;
    this.#state = new BigUint64Array(this.buffer, 0, bytes / 8);
    this.#i32 = new Int32Array(this.buffer, 0, bytes / 4);
    this.#f64 = new Float64Array(this.buffer, 0, bytes / 8);
    this.#u16 = new Uint16Array(this.buffer, 0, bytes / 2);
  }

  /** Makes sure the views reach slot `index`, which another thread may have grown the buffer for. */
  #cover(index: number): void {
    if (index >= this.#covered) this.#refresh();
  }

  /** Initial byte length and maximum byte length of a slots buffer for `capacity` slots. */
  static sizes(capacity: number): { initial: number; max: number } {
    return { initial: Math.min(capacity, SLOT_CHUNK) * SLOT_BYTES, max: capacity * SLOT_BYTES };
  }

  /**
   * Claims a free slot for a task of `count` units and writes its metadata.
   * @returns the slot's index (its state in `claimedState`, `claimedGeneration`), or -1 when every slot is occupied
   */
  claim(count: number, group: number, label: string | undefined): number {
    let index = this.#claimHint(count);
    if (index < 0) index = this.#claimFresh(count);
    if (index < 0) index = this.#claimScan(count);
    if (index < 0) return -1;
    const base = index * SLOT_WORDS32;
    this.#i32[base + S_OWNER] = threadId;
    this.#i32[base + S_GROUP] = group;
    this.#f64[index * SLOT_WORDS64 + S_SINCE64] = now();
    this.#writeLabel(index, label);
    // Written last: a reader that sees this generation here (and the same state before and after
    // reading) knows the fields above belong to it. A plain write: it only feeds diagnostics, and
    // the atomic updates of the group's counters that follow publish it.
    this.#i32[base + S_READY] = this.claimedGeneration & 0x7fffffff;
    return index;
  }

  #claimed(index: number, state: bigint, generation: number): number {
    this.claimedState = state;
    this.claimedGeneration = generation;
    return index;
  }

  #claimHint(count: number): number {
    for (let index = this.#hints.pop(); index !== undefined; index = this.#hints.pop()) {
      const free = this.#hintStates.pop() ?? 0n;
      const generation = this.#hintGenerations.pop() ?? 0;
      const next = occupy(free, generation, count);
      // Fails when another thread's scan claimed the slot since we freed it: then try the next.
      if (Atomics.compareExchange(this.#state, index * SLOT_WORDS64, free, next) === free) return this.#claimed(index, next, (generation + 1) >>> 0);
    }
    return -1;
  }

  #claimFresh(count: number): number {
    const capacity = this.#tree[T_CAPACITY] ?? 0;
    for (;;) {
      const high = Atomics.load(this.#tree, T_SLOT_HIGH);
      if (high >= capacity) return -1;
      // Claim the index first so no two threads take the same fresh slot, then make sure it exists.
      if (Atomics.compareExchange(this.#tree, T_SLOT_HIGH, high, high + 1) !== high) continue;
      ensureLength(this.buffer, (high + 1) * SLOT_BYTES);
      this.#cover(high);
      const next = GENERATION_UNIT + BigInt(count);
      // A scan may already have taken this never-used slot (it reads as free): then look further.
      if (Atomics.compareExchange(this.#state, high * SLOT_WORDS64, 0n, next) !== 0n) continue;
      return this.#claimed(high, next, 1);
    }
  }

  #claimScan(count: number): number {
    const high = this.#highWater();
    if (high === 0) return -1;
    const start = (Atomics.add(this.#tree, T_SLOT_CURSOR, 1) >>> 0) % high;
    for (let k = 0; k < high; k++) {
      const index = (start + k) % high;
      const state = Atomics.load(this.#state, index * SLOT_WORDS64);
      if ((state & REMAINING_MASK) !== 0n) continue;
      const generation = Number(state >> 32n);
      const next = occupy(state, generation, count);
      if (Atomics.compareExchange(this.#state, index * SLOT_WORDS64, state, next) === state) {
        Atomics.store(this.#tree, T_SLOT_CURSOR, index + 1);
        return this.#claimed(index, next, (generation + 1) >>> 0);
      }
    }
    return -1;
  }

  #writeLabel(index: number, label: string | undefined): void {
    const base = index * (SLOT_BYTES / 2);
    if (label === undefined) {
      this.#u16[base + S_LABEL_LEN16] = 0xffff;
      return;
    }
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
    this.#cover(index);
    return Atomics.load(this.#state, index * SLOT_WORDS64);
  }

  /**
   * Takes units from slot `index` if it still holds the task whose state was `expected`, retrying
   * while other threads take units of the same task.
   * @param remaining - the remaining units that `expected` holds
   * @param generation - the generation that `expected` holds
   * @param units - units to take, or Infinity for all that remain
   * @returns units taken (0 when the task is complete or the slot belongs to a newer task); the new
   *   state and its remaining units are left in `tookState` and `tookRemaining`
   */
  take(index: number, expected: bigint, remaining: number, generation: number, units: number): number {
    this.#cover(index);
    if (units === 1 && remaining > 0) {
      // The common case, one unit of a task no other thread touched: one CAS, no decoding.
      const next = expected - 1n;
      if (Atomics.compareExchange(this.#state, index * SLOT_WORDS64, expected, next) === expected) {
        if (remaining === 1) this.#release(index, next, generation);
        return this.#took(1, next, remaining - 1);
      }
    }
    const mine = expected >> 32n;
    let current = this.load(index);
    for (;;) {
      const left = Number(current & REMAINING_MASK);
      if (left === 0 || current >> 32n !== mine) return this.#took(0, current, 0);
      const taken = Math.min(units, left);
      const next = current - BigInt(taken);
      const seen = Atomics.compareExchange(this.#state, index * SLOT_WORDS64, current, next);
      if (seen === current) {
        if (taken === left) this.#release(index, next, generation);
        return this.#took(taken, next, left - taken);
      }
      current = seen;
    }
  }

  #took(taken: number, state: bigint, remaining: number): number {
    this.tookState = state;
    this.tookRemaining = remaining;
    return taken;
  }

  #release(index: number, free: bigint, generation: number): void {
    if (this.#hints.length >= HINTS) return;
    this.#hints.push(index);
    this.#hintStates.push(free);
    this.#hintGenerations.push(generation);
  }

  /**
   * Marks slot `index` as holding a `limit` slot of its group, so that if its thread dies the sweep
   * gives the limit slot back. Uses the free top bit of the ready word.
   */
  markLimited(index: number, limited: boolean): void {
    const word = index * SLOT_WORDS32 + S_READY;
    if (limited) Atomics.or(this.#i32, word, LIMITED_BIT);
    else Atomics.and(this.#i32, word, ~LIMITED_BIT);
  }

  /** Makes the calling thread the owner of slot `index` while it holds the task with `state`. */
  adopt(index: number, state: bigint): void {
    if (this.load(index) >> 32n === state >> 32n) Atomics.store(this.#i32, index * SLOT_WORDS32 + S_OWNER, threadId);
  }

  /** Snapshots of every occupied slot that passes `belongs`. */
  occupied(belongs: (slot: SlotSnapshot) => boolean): SlotSnapshot[] {
    const high = this.#highWater();
    const found: SlotSnapshot[] = [];
    for (let index = 0; index < high; index++) {
      const snapshot = this.#snapshot(index);
      if (snapshot !== undefined && belongs(snapshot)) found.push(snapshot);
    }
    return found;
  }

  /** Slots handed out so far (the rest have never held a task), as far as this thread's views reach. */
  handedOut(): number {
    return this.#highWater();
  }

  /** Slots that may hold a task: handed out, and already inside the (possibly still growing) buffer. */
  #highWater(): number {
    const handedOut = Math.min(Atomics.load(this.#tree, T_SLOT_HIGH), this.#tree[T_CAPACITY] ?? 0);
    if (handedOut > 0) this.#cover(handedOut - 1);
    return Math.min(handedOut, this.#covered);
  }

  #snapshot(index: number): SlotSnapshot | undefined {
    const state = this.load(index);
    const remaining = Number(state & REMAINING_MASK);
    const base = index * SLOT_WORDS32;
    // Metadata not yet written for this generation, or the slot is free.
    const ready = Atomics.load(this.#i32, base + S_READY);
    if (remaining === 0 || (ready & 0x7fffffff) !== Number((state >> 32n) & 0x7fffffffn)) return undefined;
    const labelBase = index * (SLOT_BYTES / 2);
    const length = this.#u16[labelBase + S_LABEL_LEN16] ?? 0;
    const label = length === 0xffff ? undefined : String.fromCharCode(...this.#u16.subarray(labelBase + S_LABEL16, labelBase + S_LABEL16 + length));
    const snapshot = {
      index,
      state,
      generation: Number(state >> 32n),
      group: this.#i32[base + S_GROUP] ?? 0,
      limited: ready < 0,
      label,
      threadId: this.#i32[base + S_OWNER] ?? -1,
      since: this.#f64[index * SLOT_WORDS64 + S_SINCE64] ?? 0,
      remaining,
    };
    // If the slot changed hands while we read, the fields may mix two tasks: report neither.
    return this.load(index) >> 32n === state >> 32n ? snapshot : undefined;
  }
}
