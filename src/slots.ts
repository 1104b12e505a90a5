// Runs on both sides of a thread boundary: the task slot arena, shared by every thread of a tree.
// A task's units are taken by compare-and-exchange on the slot's 64-bit state word, so exactly one
// of any number of racing `done()` calls wins a unit and a stale handle (older generation) never
// matches; the one exception is a task whose only handle is its creator's (takeOwn), which nobody
// else can race. Taking the last unit advances the generation in the same step, which is what lets
// a claim be a 32-bit compare-and-exchange on the remaining units alone.
import { threadId } from 'node:worker_threads';
import { now } from './clock.js';
import {
  GENERATION_UNIT,
  LABEL_UNITS,
  REMAINING_MASK,
  S_GENERATION32,
  S_GROUP,
  S_LABEL16,
  S_LABEL_LEN16,
  S_OWNER,
  S_READY,
  S_REMAINING32,
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


/**
 * Added to the state word to take a task's last unit: remaining 1 -> 0 and generation + 1 in one
 * step (wrapping from 2^32 - 1 to 0, as a 64-bit add does).
 */
const LAST_UNIT = GENERATION_UNIT - 1n;
/**
 * The state after taking `taken` of the `left` units of `current`, a state of `generation`. The
 * last unit also advances the generation, in the same compare-and-exchange, so that no handle of
 * the task can ever match the slot's next occupant.
 */
function stateAfter(current: bigint, taken: number, left: number, generation: number): bigint {
  // One unit that is not the last, the usual done(): a BigInt literal, no conversion.
  if (taken < left) return taken === 1 ? current - 1n : current - BigInt(taken);
  if (taken === 1 && generation !== 0xffffffff) return current + LAST_UNIT;
  return BigInt.asUintN(64, current - BigInt(taken) + GENERATION_UNIT);
}

/** Top bit of a slot's ready word: the task holds one of its group's `limit` slots. */
const LIMITED_BIT = 1 << 31;

/** A snapshot of one occupied slot, as `pendingTasks()` reports it. */
export interface SlotSnapshot {
  readonly index: number;
  /** The state word the snapshot was read from. */
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

/** Label length of a task without a label (an empty label has length 0). */
const NO_LABEL = 0xffff;

/** Free slots this thread released lately: the cheapest ones to claim. */
const HINTS = 64;

/** The value of a slot's ready word once the metadata of `generation`'s task is written (see layout.ts). */
function readyOf(generation: number): number {
  return (generation + 1) & 0x7fffffff;
}

/** The state word of a task of `generation` with `remaining` units. */
export function stateOf(generation: number, remaining: number): bigint {
  return (BigInt(generation) << 32n) | BigInt(remaining);
}

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
  /** Generation of the task the last successful claim() placed. */
  claimedGeneration = 0;
  /** State left by the last take() that took units, or seen by one that took none. */
  tookState = 0n;
  /** Its units, as the last take() saw them (0 when it found the task complete or gone). */
  tookRemaining = 0;
  /** This thread's id, written into every slot it claims. */
  readonly #owner = threadId;
  /** The slot this thread freed last (-1: none): an add() after a done() reuses it without touching #hints. */
  #spare = -1;
  /** Other slots this thread freed lately, most recent last. */
  readonly #hints: number[] = [];

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
   * @returns the slot's index (its generation in `claimedGeneration`), or -1 when every slot is occupied
   */
  claim(count: number, group: number, label: string | undefined): number {
    // Other ways to find a slot are out of line: add() inlines this, and V8 inlines small functions only.
    const spare = this.#spare;
    this.#spare = -1;
    // #tryClaim(spare, count), written out: V8 had run out of inlining budget by this call.
    const claimed = spare >= 0 && Atomics.compareExchange(this.#i32, spare * SLOT_WORDS32 + S_REMAINING32, 0, count) === 0;
    const index = claimed ? spare : this.#claimElsewhere(count);
    if (index < 0) return -1;
    const base = index * SLOT_WORDS32;
    // A plain read: the generation was last written by the atomic step that freed the slot, which
    // our claim's compare-and-exchange read from, and it cannot change again until this task's
    // last unit is taken. (Each Atomics call costs as much as a compare-and-exchange.)
    const generation = (this.#i32[base + S_GENERATION32] ?? 0) >>> 0;
    this.claimedGeneration = generation;
    this.#i32[base + S_OWNER] = this.#owner;
    this.#i32[base + S_GROUP] = group;
    this.#f64[index * SLOT_WORDS64 + S_SINCE64] = now();
    // Most tasks have no label: the loop that copies one is out of line too.
    if (label === undefined) this.#u16[index * (SLOT_BYTES / 2) + S_LABEL_LEN16] = NO_LABEL;
    else this.#writeLabel(index, label);
    // Written last: a reader that sees this generation's ready value here (and the same state
    // before and after reading) knows the fields above belong to it. A plain write: it only feeds
    // diagnostics, and the atomic updates of the group's counters that follow publish it.
    this.#i32[base + S_READY] = readyOf(generation);
    return index;
  }

  #claimElsewhere(count: number): number {
    let index = this.#claimHint(count);
    if (index < 0) index = this.#claimFresh(count);
    if (index < 0) index = this.#claimScan(count);
    return index;
  }

  /**
   * Claims slot `index` if it is free. A 32-bit compare-and-exchange on the remaining units is
   * enough: a free slot's generation has never been handed to any handle (taking the last unit
   * advanced it), so no stale handle can match the new task's state.
   */
  #tryClaim(index: number, count: number): boolean {
    return Atomics.compareExchange(this.#i32, index * SLOT_WORDS32 + S_REMAINING32, 0, count) === 0;
  }

  #claimHint(count: number): number {
    for (let index = this.#hints.pop(); index !== undefined; index = this.#hints.pop()) {
      // Fails when another thread's scan claimed the slot since we freed it: then try the next.
      if (this.#tryClaim(index, count)) return index;
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
      // A scan may already have taken this never-used slot (it reads as free): then look further.
      if (this.#tryClaim(high, count)) return high;
    }
  }

  #claimScan(count: number): number {
    const high = this.#highWater();
    if (high === 0) return -1;
    const start = (Atomics.add(this.#tree, T_SLOT_CURSOR, 1) >>> 0) % high;
    for (let k = 0; k < high; k++) {
      const index = (start + k) % high;
      if (Atomics.load(this.#i32, index * SLOT_WORDS32 + S_REMAINING32) !== 0) continue;
      if (this.#tryClaim(index, count)) {
        Atomics.store(this.#tree, T_SLOT_CURSOR, index + 1);
        return index;
      }
    }
    return -1;
  }

  #writeLabel(index: number, label: string): void {
    const base = index * (SLOT_BYTES / 2);
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
   * Takes units from slot `index` if it still holds the task of `generation`, retrying while other
   * threads take units of the same task. Taking the last unit frees the slot.
   * @param expected - the state this handle last saw: `stateOf(generation, remaining)`, kept by the
   *   handle so that the usual case makes no BigInt but the new state
   * @param remaining - the remaining units this handle last saw (at least the true number)
   * @param units - units to take, or Infinity for all that remain
   * @returns units taken (0 when the task is complete or the slot belongs to a newer task); the
   *   state to expect next and its units are in `tookState` and `tookRemaining`
   */
  take(index: number, expected: bigint, generation: number, remaining: number, units: number): number {
    // Units only ever decrease: a handle that saw none left is complete, whatever the slot holds now.
    if (remaining === 0) return this.#took(0, expected, 0);
    this.#cover(index);
    const word = index * SLOT_WORDS64;
    // Try the state this handle last saw first: right unless another thread took units meanwhile.
    let current = expected;
    let left = remaining;
    for (;;) {
      const taken = Math.min(units, left);
      const next = stateAfter(current, taken, left, generation);
      const seen = Atomics.compareExchange(this.#state, word, current, next);
      if (seen === current) {
        if (taken === left) this.#release(index);
        return this.#took(taken, next, left - taken);
      }
      current = seen;
      left = Number(current & REMAINING_MASK);
      if (left === 0 || Number(current >> 32n) !== generation) return this.#took(0, current, 0);
    }
  }

  /**
   * Takes units of a task whose only handle is the calling thread's (its creator, which has not
   * shared it): nobody else can take them while this thread lives (the sweep after its death is
   * the only other taker), so the remaining units it holds are exact and no compare-and-exchange
   * is needed.
   * @param remaining - the task's remaining units
   * @param units - units to take, or Infinity for all that remain
   * @returns units taken
   */
  takeOwn(index: number, remaining: number, units: number): number {
    if (units !== 1 || remaining !== 1) return this.#takeOwnUnits(index, remaining, units);
    // Remaining units to 0 and generation + 1 in one 64-bit add: a scanning claim in another thread
    // sees the slot free only once its generation is already a new one.
    Atomics.add(this.#state, index * SLOT_WORDS64, LAST_UNIT);
    this.#release(index);
    return 1;
  }

  /** takeOwn() of a task with several units, or of all that remain: kept out of done()'s inlined code. */
  #takeOwnUnits(index: number, remaining: number, units: number): number {
    const taken = Math.min(units, remaining);
    if (taken <= 0) return 0;
    if (taken < remaining) {
      Atomics.sub(this.#i32, index * SLOT_WORDS32 + S_REMAINING32, taken);
      return taken;
    }
    Atomics.add(this.#state, index * SLOT_WORDS64, GENERATION_UNIT - BigInt(taken));
    this.#release(index);
    return taken;
  }

  #took(taken: number, state: bigint, remaining: number): number {
    this.tookState = state;
    this.tookRemaining = remaining;
    return taken;
  }

  #release(index: number): void {
    if (this.#spare < 0) this.#spare = index;
    else if (this.#hints.length < HINTS) this.#hints.push(index);
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

  /** Makes the calling thread the owner of slot `index` while it holds the task of `generation`. */
  adopt(index: number, generation: number): void {
    const state = this.load(index);
    if (Number(state >> 32n) === generation && (state & REMAINING_MASK) !== 0n) Atomics.store(this.#i32, index * SLOT_WORDS32 + S_OWNER, threadId);
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
    if (remaining === 0 || (ready & 0x7fffffff) !== readyOf(Number(state >> 32n))) return undefined;
    const labelBase = index * (SLOT_BYTES / 2);
    const length = this.#u16[labelBase + S_LABEL_LEN16] ?? 0;
    const label = length === NO_LABEL ? undefined : String.fromCharCode(...this.#u16.subarray(labelBase + S_LABEL16, labelBase + S_LABEL16 + length));
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
