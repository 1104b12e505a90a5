// Runs on both sides of a thread boundary: the failure log of a tree, in shared memory.
// A failing thread writes its envelope here before it completes the unit, so whichever thread
// wakes on that completion finds the failure already published: never lost, never late, even
// when the group's creating thread is blocked or busy.
import { ensureLength } from './slots.js';
import {
  L_GROUP,
  L_LENGTH,
  L_OFFSET,
  L_STATE,
  LOG_DATA_CHUNK,
  LOG_ENTRY_WORDS,
  LOG_DISCARDED,
  LOG_EMPTY,
  LOG_OMITTED,
  LOG_READY,
  logWriting,
  T_FAIL_SEQ,
  T_LOG_MAX,
  T_LOG_TAIL,
  T_MAX_FAILURES,
} from './layout.js';

/** One kept failure: the group it was recorded in and its envelope, if there was room for it. */
export interface LogEntry {
  readonly group: number;
  readonly bytes: Uint8Array | undefined;
}

/**
 * One thread's view of a tree's failure log. A shared tree's log has an index of `maxFailures`
 * entries, then the data area. A private tree's compact log has an index of fewer entries (and a
 * smaller data area): when either fills, `outgrow` moves the tree's log to a larger buffer
 * (tree.ts) and `rebind()` views it; the layout becomes the shared one at the tree's first share.
 */
export class FailureLog {
  buffer: SharedArrayBuffer;
  #tree: Int32Array;
  #index!: Int32Array;
  #bytes!: Uint8Array;
  #dataStart = 0;
  /** Entries the index of this buffer has room for: `maxFailures` but in a private tree's compact log. */
  #entries = 0;
  /** A private tree's compact log: when full, it moves to a larger buffer (tree.ts) instead of growing. */
  compact = false;

  /**
   * @param buffer - the log buffer of the tree
   * @param tree - Int32 view of the tree buffer (sequence, limits, tail)
   * @param entries - entries its index has room for (default: the tree's `maxFailures`)
   */
  constructor(buffer: SharedArrayBuffer, tree: Int32Array, entries = tree[T_MAX_FAILURES] ?? 0) {
    this.buffer = buffer;
    this.#tree = tree;
    this.rebind(buffer, tree, entries);
  }

  /**
   * Views `buffer`, whose index has room for `entries` entries (a private tree's log moved, or
   * this view is being made); `tree` views the tree buffer.
   */
  rebind(buffer: SharedArrayBuffer, tree = this.#tree, entries = this.#entries): void {
    this.buffer = buffer;
    this.#tree = tree;
    this.#entries = entries;
    this.#dataStart = FailureLog.indexBytes(entries);
    this.#index = new Int32Array(buffer, 0, this.#dataStart / 4);
    this.#bytes = new Uint8Array(buffer);
  }

  /** Entries the index has room for in this buffer. */
  get entries(): number {
    return this.#entries;
  }

  /** Bytes of data area in this buffer. */
  get dataBytes(): number {
    return this.buffer.byteLength - this.#dataStart;
  }

  /** Makes room for `entries` index entries and `data` bytes of data area. */
  #fit(entries: number, data: number): void {
    if (entries <= this.#entries && this.#dataStart + data <= this.buffer.byteLength) return;
    if (!this.compact) {
      ensureLength(this.buffer, this.#dataStart + data);
      return;
    }
    // Twice as large (entries, data area or both), or as large as needed, up to the tree's limits.
    const grown = (current: number, needed: number, max: number): number => (needed <= current ? current : Math.min(max, Math.max(needed, current * 2)));
    const count = grown(this.#entries, entries, this.maxFailures);
    const bytes = grown(this.dataBytes, data, this.#tree[T_LOG_MAX] ?? 0);
    this.moveTo(new SharedArrayBuffer(FailureLog.indexBytes(count) + bytes), count);
  }

  /**
   * Copies the log into `to`, whose index has room for `entries` entries, the data area following
   * it, and views it there. Entries and cancellation reasons name data by its offset in the data
   * area, which moves as a whole.
   */
  moveTo(to: SharedArrayBuffer, entries: number): void {
    const from = this.buffer;
    const index = FailureLog.indexBytes(this.#entries);
    const start = FailureLog.indexBytes(entries);
    const data = Math.min(this.dataBytes, to.byteLength - start);
    new Uint8Array(to, 0, index).set(new Uint8Array(from, 0, index));
    if (data > 0) new Uint8Array(to, start, data).set(new Uint8Array(from, this.#dataStart, data));
    this.rebind(to, this.#tree, entries);
  }

  /** Bytes of the entry index for `maxFailures` kept failures. */
  static indexBytes(maxFailures: number): number {
    return maxFailures * LOG_ENTRY_WORDS * 4;
  }

  /** Initial and maximum byte length of a log buffer. */
  static sizes(maxFailures: number, maxBytes: number): { initial: number; max: number } {
    const index = FailureLog.indexBytes(maxFailures);
    return { initial: index + Math.min(maxBytes, LOG_DATA_CHUNK), max: index + maxBytes };
  }

  /**
   * Writes a failure into the next free entry of the index and keeps it staged (state
   * logWriting(lane)) until `publish()`: a completion that turns out not to happen discards it.
   * Entries are claimed in index order by compare-and-exchange, so a sweeper can tell a dead
   * thread's entry by its state, and the claimed entries form a prefix of the index.
   * @param group - id of the group the failed task belongs to
   * @param bytes - the failure's envelope
   * @param fallback - a smaller envelope to keep when `bytes` does not fit in what is left of the log
   * @returns the entry's index, or -1 when the index is full (the failure is then only counted)
   */
  stage(group: number, bytes: Uint8Array, fallback: () => Uint8Array, lane: number): number {
    const max = this.maxFailures;
    let index = Atomics.load(this.#tree, T_FAIL_SEQ);
    if (index >= max) return -1;
    // Reserved before the entry is claimed: a writer that dies here wastes bytes, never an entry.
    const kept = this.store(bytes) ?? this.store(fallback());
    for (; index < max; index++) {
      // A private tree's compact index moves to a larger one (no other thread knows this log).
      if (index >= this.#entries) this.#fit(index + 1, 0);
      const base = index * LOG_ENTRY_WORDS;
      if (Atomics.compareExchange(this.#index, base + L_STATE, LOG_EMPTY, logWriting(lane)) !== LOG_EMPTY) continue;
      this.#index[base + L_GROUP] = group;
      this.#index[base + L_OFFSET] = kept?.offset ?? 0;
      this.#index[base + L_LENGTH] = kept?.length ?? -1;
      // A hint for the next writer: entries below it are all claimed.
      for (let seen = Atomics.load(this.#tree, T_FAIL_SEQ); seen <= index; seen = Atomics.load(this.#tree, T_FAIL_SEQ)) {
        if (Atomics.compareExchange(this.#tree, T_FAIL_SEQ, seen, index + 1) === seen) break;
      }
      return index;
    }
    return -1;
  }

  /**
   * Publishes a staged entry, once its completion has happened: after this store a reader sees the
   * fields and bytes written before it. Idempotent, so a sweeper may repeat it for a dead writer.
   */
  publish(entry: number, lane: number): void {
    const at = entry * LOG_ENTRY_WORDS + L_STATE;
    const state = (this.#index[entry * LOG_ENTRY_WORDS + L_LENGTH] ?? -1) < 0 ? LOG_OMITTED : LOG_READY;
    Atomics.compareExchange(this.#index, at, logWriting(lane), state);
  }

  /** Withdraws a staged entry whose completion did not happen; readers skip it. Idempotent. */
  discard(entry: number, lane: number): void {
    Atomics.compareExchange(this.#index, entry * LOG_ENTRY_WORDS + L_STATE, logWriting(lane), LOG_DISCARDED);
  }

  /** Marks every entry thread `lane` left staged as discarded: that thread is dead, its completions did not happen. */
  discardAll(lane: number): void {
    const end = Math.min(Atomics.load(this.#tree, T_FAIL_SEQ) + 1, this.#entries);
    for (let entry = 0; entry < end; entry++) this.discard(entry, lane);
  }

  /**
   * Appends bytes to the data area (failure envelopes, cancellation reasons).
   * @returns where they were written, or undefined when the data area has no room left
   */
  store(bytes: Uint8Array): { offset: number; length: number } | undefined {
    const max = this.#tree[T_LOG_MAX] ?? 0;
    for (;;) {
      const tail = Atomics.load(this.#tree, T_LOG_TAIL);
      if (tail + bytes.length > max) return undefined;
      // Reserve by CAS so that a failed reservation never moves the tail past the end.
      if (Atomics.compareExchange(this.#tree, T_LOG_TAIL, tail, tail + bytes.length) !== tail) continue;
      this.#fit(0, tail + bytes.length);
      this.#bytes.set(bytes, this.#dataStart + tail);
      return { offset: tail, length: bytes.length };
    }
  }

  /** Entries claimed so far, at least (every entry below it is claimed). */
  recorded(): number {
    return Math.min(Atomics.load(this.#tree, T_FAIL_SEQ), this.#entries);
  }

  /** Failures kept at most. */
  get maxFailures(): number {
    return this.#tree[T_MAX_FAILURES] ?? 0;
  }

  /** True when the envelope of failure `ordinal` is in the log (not only counted). */
  holds(ordinal: number): boolean {
    return ordinal >= 0 && ordinal < this.#entries && Atomics.load(this.#index, ordinal * LOG_ENTRY_WORDS + L_STATE) === LOG_READY;
  }

  /** The state of entry `ordinal` (LOG_EMPTY past the claimed prefix). */
  stateOf(ordinal: number): number {
    // Past the index of a private tree's compact log: an entry never claimed.
    return ordinal < this.#entries ? Atomics.load(this.#index, ordinal * LOG_ENTRY_WORDS + L_STATE) : LOG_EMPTY;
  }

  /**
   * The group of a published entry, without copying its envelope.
   * @returns the group's id, or undefined while the entry is not published (or was discarded)
   */
  groupOf(ordinal: number): number | undefined {
    if (ordinal >= this.#entries) return undefined;
    const base = ordinal * LOG_ENTRY_WORDS;
    const state = Atomics.load(this.#index, base + L_STATE);
    return state === LOG_READY || state === LOG_OMITTED ? (this.#index[base + L_GROUP] ?? 0) : undefined;
  }

  /**
   * Reads a kept entry.
   * @returns the entry, or undefined while it is not yet published
   */
  entry(ordinal: number): LogEntry | undefined {
    if (ordinal >= this.#entries) return undefined;
    const base = ordinal * LOG_ENTRY_WORDS;
    const state = Atomics.load(this.#index, base + L_STATE);
    if (state !== LOG_READY && state !== LOG_OMITTED) return undefined;
    const group = this.#index[base + L_GROUP] ?? 0;
    if (state === LOG_OMITTED) return { group, bytes: undefined };
    return { group, bytes: this.read(this.#index[base + L_OFFSET] ?? 0, this.#index[base + L_LENGTH] ?? 0) };
  }

  /** A private copy of stored bytes: deserialization must never see memory another thread writes. */
  read(offset: number, length: number): Uint8Array {
    return this.#bytes.slice(this.#dataStart + offset, this.#dataStart + offset + length);
  }
}
