// Runs on both sides of a thread boundary: the census of a tree's slots, 16 bytes per slot at the
// head of each block of slots (layout.ts), so that summarizing a million pending tasks reads 16 MB
// rather than a 64-byte line of each slot. Diagnostic only: no protocol step reads it. Every writer
// keeps one rule, so that an entry names the slot's current task or none: an entry is written in
// full only by the thread that claimed the slot, before anyone else can know of the task; cleared
// only while the slot's owner word still holds the task's generation (nobody can claim the slot
// again before the owner word is freed); and changed otherwise only by compare-and-exchange on its
// 64-bit (word, generation) key, which fails once the task it was meant for is gone.
import * as layout from './layout.js';

const { BLOCK_BYTES, BLOCK_SLOTS, CENSUS_BYTES, CENSUS_GROUP_MASK, CENSUS_LANE_SHIFT, LO32, censusByte, censusSlot } = layout;

/** The census word of a task of group `group` held by lane `lane`. */
function censusWord(group: number, lane: number): number {
  return (group & CENSUS_GROUP_MASK) | ((lane + 1) << CENSUS_LANE_SHIFT);
}

/** What one pass over the census found: tasks by lane and by group, and the oldest ones' slots. */
export interface CensusCount {
  /** Tasks held, by lane index. */
  readonly lanes: Int32Array;
  /** Tasks, by group id. */
  readonly groups: Map<number, number>;
  /** Slot indices of the oldest tasks, oldest first. */
  readonly oldest: number[];
}

/** One thread's views of the census entries in a slots buffer (made again when Slots' views are). */
export class Census {
  #i32: Int32Array;
  #f64: Float64Array;
  #u64: BigUint64Array;

  /**
   * @param i32 - Int32 view of the slots buffer
   * @param f64 - Float64 view of the same bytes
   * @param u64 - BigUint64 view of the same bytes
   */
  constructor(i32: Int32Array, f64: Float64Array, u64: BigUint64Array) {
    this.#i32 = i32;
    this.#f64 = f64;
    this.#u64 = u64;
  }

  /**
   * Clears the entry of slot `index`, whose owner word still holds its task's generation, for a
   * thread that may race an adopter's sync() (a sweeper, a last taker). The slot's owner clears
   * the entry of a task never shared with a plain store instead, and fill() writes it (slots.ts).
   */
  clear(index: number): void {
    Atomics.store(this.#i32, (censusByte(index) >> 2) + LO32, 0);
  }

  /**
   * Makes the entry of the task of `generation` in slot `index` name lane `lane` (its owner word's
   * lane, just read): a compare-and-exchange, so that it fails if the task is gone.
   * @returns false when the entry is cleared or holds another generation (nothing left to do)
   */
  sync(index: number, generation: number, lane: number): boolean {
    const word64 = censusByte(index) >> 3;
    for (;;) {
      const key = Atomics.load(this.#u64, word64);
      const word = Number(key & 0xffffffffn);
      if (word === 0 || Number(key >> 32n) !== generation) return false;
      const wanted = censusWord(word & CENSUS_GROUP_MASK, lane);
      if (word === wanted) return true;
      if (Atomics.compareExchange(this.#u64, word64, key, (key & ~0xffffffffn) | BigInt(wanted)) === key) return true;
    }
  }

  /** The time the task in slot `index` was added, per its entry. */
  since(index: number): number {
    return this.#f64[(censusByte(index) >> 3) + 1] ?? 0;
  }

  /**
   * One pass over the entries of slots 0 to `high` - 1, with no object per task: counts the tasks
   * of the groups that pass `belongs` by lane and by group, and keeps the `oldest` oldest.
   */
  count(high: number, belongs: (group: number) => boolean, oldest: number): CensusCount {
    const i32 = this.#i32;
    const f64 = this.#f64;
    const lanes = new Int32Array(32);
    const groups = new Map<number, number>();
    const kept: { index: number; since: number }[] = [];
    // Only a task older than the youngest kept one is placed: one comparison for the others.
    let threshold = oldest > 0 ? Infinity : -Infinity;
    // Tasks come in runs of one census word (one group, one thread): the run is counted in a
    // local and added to its lane and group when the word changes.
    let last = 0;
    let inside = false;
    let run = 0;
    const end = Math.ceil(high / BLOCK_SLOTS) * BLOCK_SLOTS;
    let position = 0;
    while (position < end) {
      // The inner loop makes no call and touches no object (V8 keeps its variables in registers);
      // it stops where a run ends or a task may be among the oldest, handled below.
      for (; position < end; position++) {
        const at = (((position >> 8) * BLOCK_BYTES) >> 2) + (position & (BLOCK_SLOTS - 1)) * (CENSUS_BYTES / 4);
        const word = i32[at + LO32] ?? 0;
        if (word === 0) continue;
        if (word !== last) break;
        run++;
        if (inside && (f64[(at >> 1) + 1] ?? 0) < threshold) break;
      }
      if (position >= end) break;
      const at = (((position >> 8) * BLOCK_BYTES) >> 2) + (position & (BLOCK_SLOTS - 1)) * (CENSUS_BYTES / 4);
      const word = i32[at + LO32] ?? 0;
      if (word !== last) {
        if (inside) addRun(lanes, groups, last, run);
        last = word;
        run = 0;
        inside = belongs(word & CENSUS_GROUP_MASK);
        continue; // count this entry in the new run
      }
      const since = f64[(at >> 1) + 1] ?? 0;
      const index = censusSlot(position >> 8, position & (BLOCK_SLOTS - 1));
      // An entry past the slots handed out can only be forged: not a task.
      if (index < high) {
        let place = kept.length;
        while (place > 0 && (kept[place - 1]?.since ?? 0) > since) place--;
        kept.splice(place, 0, { index, since });
        if (kept.length > oldest) kept.pop();
        if (kept.length === oldest) threshold = kept[oldest - 1]?.since ?? Infinity;
      }
      position++;
    }
    if (inside) addRun(lanes, groups, last, run);
    return { lanes, groups, oldest: kept.map((entry) => entry.index) };
  }
}

/** Adds a run of `run` tasks of census word `word` to its lane's and its group's counts. */
function addRun(lanes: Int32Array, groups: Map<number, number>, word: number, run: number): void {
  if (run === 0) return;
  const group = word & CENSUS_GROUP_MASK;
  const lane = (word >>> CENSUS_LANE_SHIFT) - 1;
  lanes[lane] = (lanes[lane] ?? 0) + run;
  groups.set(group, (groups.get(group) ?? 0) + run);
}
