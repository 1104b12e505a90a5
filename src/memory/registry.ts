// Runs on both sides of a thread boundary: the thread registry of a tree. A thread takes an entry
// (its lane) the first time it uses a tree; the entry is its journal, the one place where it says
// which operation it has in flight, as a robust futex's owner says in `list_op_pending`. Lane
// numbers come from the tree, not from Node's threadId, so every thread gets exact bookkeeping
// on runtimes whose workers all report threadId 0.
import { threadId } from 'node:worker_threads';
import { WaitGroupError } from '../errors/errors.js';
import { whenCreatorKnown } from '../platform/lineage.js';
import * as layout from './layout.js';

// Imported bindings are live: V8 loads one from its module's cell, with a check that it is
// initialized, at every use, and cannot fold it into optimized code; it folds this module's own
// constants. So the hot paths read copies.
const { COUNT_UNIT, E_OWNER, E_PARENT, E_SPARE, E_TOKEN, E_THREAD, ENTRY_WORDS, LANES, LO32, OP_NONE, REGISTRY, E_STEP } = layout;

/** Tells this thread's entries apart from another thread's with the same threadId. */
const token = (Math.random() * 0x7fffffff) | 1;

/** Owner word of a live entry. */
export function liveOwner(thread: number): number {
  return thread + 1;
}

/** Owner word of an entry being swept by the thread of `lane`. */
export function sweepingOwner(lane: number): number {
  return -(lane + 1);
}

/** Lane.up1 and Lane.down1 by lane index. */
const DELTAS: { readonly up1: readonly [bigint, bigint]; readonly down1: readonly [bigint, bigint] }[] = [];

/**
 * One thread's entry in a tree's registry: its lane number, the bit it flips in every laned
 * counter it changes, and its journal.
 */
export class Lane {
  /** 0 to LANES - 1. */
  readonly index: number;
  /** This lane's bit in the low 32 bits of a laned counter. */
  readonly bit: number;
  /** The same, as a 64-bit value. */
  readonly bit64: bigint;
  /** The journal: ENTRY_WORDS Int32 words of the registry (views remade by `rebind()` when a private tree moves). */
  journal: Int32Array;
  /** The journal as unsigned 64-bit words (E_NEW64, E_OLD64: index / 2). */
  journal64: BigUint64Array;
  /** The journal as float64 words (E_CELL64: index / 2). */
  journalF64: Float64Array;
  /** Sequence number of this thread's last shared take, modulo 2^30 (see E_CONFIRM). */
  seq = 0;
  /**
   * This thread's last successful shared take, if it left units in its task: the slot (-1: none),
   * the generation and the remainder of the state it wrote there (with this lane's tag). Its next
   * take in that slot may start from that state (take.ts). Numbers, not the state as a BigInt: a
   * new BigInt stored in this long-lived object would cost a write barrier on every take.
   */
  lastSlot = -1;
  lastGeneration = 0;
  lastRemaining = 0;
  /** Deltas of one unit up (index: the lane bit before, 0 or 1), with the bit flipped. */
  readonly up1: readonly [bigint, bigint];
  /** Deltas of one unit down, with the bit flipped. */
  readonly down1: readonly [bigint, bigint];

  constructor(buffer: SharedArrayBuffer, index: number) {
    this.index = index;
    this.bit = 1 << (index + 1);
    this.bit64 = BigInt(this.bit >>> 0);
    const offset = (REGISTRY + index * ENTRY_WORDS) * 4;
    this.journal = new Int32Array(buffer, offset, ENTRY_WORDS);
    this.journal64 = new BigUint64Array(buffer, offset, ENTRY_WORDS / 2);
    this.journalF64 = new Float64Array(buffer, offset, ENTRY_WORDS / 2);
    // The same for every tree: made once per lane index (a thread may make a tree per request).
    const deltas = (DELTAS[index] ??= {
      up1: [COUNT_UNIT + this.bit64, COUNT_UNIT - this.bit64],
      down1: [-COUNT_UNIT + this.bit64, -COUNT_UNIT - this.bit64],
    });
    this.up1 = deltas.up1;
    this.down1 = deltas.down1;
  }

  /**
   * Views the journal in `buffer`, the tree buffer a private tree has just moved to (tree.ts): the
   * same entry, copied there. Only the thread that owns the tree calls it, between operations.
   */
  rebind(buffer: SharedArrayBuffer): void {
    const offset = (REGISTRY + this.index * ENTRY_WORDS) * 4;
    this.journal = new Int32Array(buffer, offset, ENTRY_WORDS);
    this.journal64 = new BigUint64Array(buffer, offset, ENTRY_WORDS / 2);
    this.journalF64 = new Float64Array(buffer, offset, ENTRY_WORDS / 2);
  }

  /** This lane's bit (0 or 1) in the laned counter whose low Int32 word is `words[at + LO32]`. */
  parity(words: Int32Array, at: number): 0 | 1 {
    // A plain read: only this thread flips its bit, and it sees its own writes.
    return ((words[at + LO32] ?? 0) & this.bit) === 0 ? 0 : 1;
  }

  /** The delta that changes a laned counter by `units` (negative: lowers) and flips this lane's bit from `parity`. */
  delta(units: number, parity: 0 | 1): bigint {
    const count = BigInt(units) * COUNT_UNIT;
    return parity === 0 ? count + this.bit64 : count - this.bit64;
  }
}

/**
 * Takes a free entry of the registry for the calling thread.
 * @param words - Int32 view of the tree buffer
 * @throws {WaitGroupError} ERR_THREAD_LIMIT when LANES threads already hold an entry
 */
export function register(buffer: SharedArrayBuffer, words: Int32Array): Lane {
  // This thread's own entry, if an earlier view of the tree in this thread (since collected) took one.
  for (let index = 0; index < LANES; index++) {
    const at = REGISTRY + index * ENTRY_WORDS;
    if (Atomics.load(words, at + E_OWNER) === liveOwner(threadId) && words[at + E_TOKEN] === token) return new Lane(buffer, index);
  }
  for (let index = 0; index < LANES; index++) {
    const at = REGISTRY + index * ENTRY_WORDS;
    // The compare-and-exchange names this thread in the entry: from here on a sweeper that learns
    // of this thread's exit finds the entry, whatever else this thread wrote before dying.
    if (Atomics.compareExchange(words, at + E_OWNER, 0, liveOwner(threadId)) !== 0) continue;
    words[at + E_THREAD] = threadId;
    words[at + E_TOKEN] = token;
    words[at + E_SPARE] = -1;
    words[at + E_PARENT] = 0;
    words[at + E_STEP] = OP_NONE;
    const lane = new Lane(buffer, index);
    // The creator, once known (at once, or after its 'worker' event): a sweep of it sweeps us too.
    // Through the lane, whose journal view follows the tree if it moves meanwhile (while private).
    whenCreatorKnown((creator) => {
      const journal = lane.journal;
      if (Atomics.load(journal, E_OWNER) === liveOwner(threadId) && journal[E_TOKEN] === token) journal[E_PARENT] = creator + 1;
    });
    return lane;
  }
  throw new WaitGroupError(
    'ERR_THREAD_LIMIT',
    `a group tree is used by at most ${LANES} threads at once; thread ${threadId} is one more (threads that exit free their place)`,
  );
}
