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
  LOG_OMITTED,
  LOG_READY,
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

/** One thread's view of a tree's failure log. */
export class FailureLog {
  readonly buffer: SharedArrayBuffer;
  readonly #tree: Int32Array;
  readonly #index: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #dataStart: number;

  /**
   * @param buffer - the growable log buffer of the tree
   * @param tree - Int32 view of the tree buffer (sequence, limits, tail)
   */
  constructor(buffer: SharedArrayBuffer, tree: Int32Array) {
    this.buffer = buffer;
    this.#tree = tree;
    this.#dataStart = FailureLog.indexBytes(tree[T_MAX_FAILURES] ?? 0);
    this.#index = new Int32Array(buffer, 0, this.#dataStart / 4);
    this.#bytes = new Uint8Array(buffer);
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
   * Records one failure and publishes it.
   * @param group - id of the group the failed task belonged to
   * @param bytes - the failure's envelope
   * @param fallback - a smaller envelope to keep when `bytes` does not fit in what is left of the log
   * @returns the failure's ordinal in the tree
   */
  record(group: number, bytes: Uint8Array, fallback: () => Uint8Array): number {
    const ordinal = Atomics.add(this.#tree, T_FAIL_SEQ, 1);
    if (ordinal >= (this.#tree[T_MAX_FAILURES] ?? 0)) return ordinal;
    const base = ordinal * LOG_ENTRY_WORDS;
    this.#index[base + L_GROUP] = group;
    const kept = this.store(bytes) ?? this.store(fallback());
    if (kept === undefined) {
      Atomics.store(this.#index, base + L_STATE, LOG_OMITTED);
      return ordinal;
    }
    this.#index[base + L_OFFSET] = kept.offset;
    this.#index[base + L_LENGTH] = kept.length;
    // Published last: a reader that sees LOG_READY also sees the bytes and fields written above.
    Atomics.store(this.#index, base + L_STATE, LOG_READY);
    return ordinal;
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
      ensureLength(this.buffer, this.#dataStart + tail + bytes.length);
      this.#bytes.set(bytes, this.#dataStart + tail);
      return { offset: tail, length: bytes.length };
    }
  }

  /** Failures recorded in the tree so far (kept or not). */
  recorded(): number {
    return Atomics.load(this.#tree, T_FAIL_SEQ);
  }

  /** Failures kept at most. */
  get maxFailures(): number {
    return this.#tree[T_MAX_FAILURES] ?? 0;
  }

  /** True when the envelope of failure `ordinal` is in the log (not only counted). */
  holds(ordinal: number): boolean {
    return ordinal < this.maxFailures && Atomics.load(this.#index, ordinal * LOG_ENTRY_WORDS + L_STATE) === LOG_READY;
  }

  /**
   * The group of a kept entry, without copying its envelope.
   * @returns the group's id, or undefined while the entry is not yet published
   */
  groupOf(ordinal: number): number | undefined {
    const base = ordinal * LOG_ENTRY_WORDS;
    const state = Atomics.load(this.#index, base + L_STATE);
    return state === LOG_READY || state === LOG_OMITTED ? (this.#index[base + L_GROUP] ?? 0) : undefined;
  }

  /**
   * Reads a kept entry.
   * @returns the entry, or undefined while it is not yet published
   */
  entry(ordinal: number): LogEntry | undefined {
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
