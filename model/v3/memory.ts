// Protocol v3 (docs/protocol.md) in the explorer's memory: one group's laned counters, the lanes'
// added cells, a few slots, a few log entries and one journal per lane. A 64-bit word is one
// model word holding its exact value as a number (every value here stays far below 2^53), turned
// into a bigint for the library's own helpers: the encodings (step words, slot states, lane
// deltas) and the recovery decisions are the library's code, not copies of it, so that the
// model cannot drift from what it checks. Word positions are the model's own: only values matter.
import {
  E_CONFIRM,
  E_NEW64,
  E_OLD64,
  E_SEQ,
  E_SLOT,
  E_STEP,
  ENTRY_WORDS,
  LANES,
  LOG_DISCARDED,
  LOG_READY,
  OWNER_RETIRED,
  PENDING_WAITED,
  REGISTRY,
  S_STATE64,
  slotByte,
  slotsBytes,
  stepOp,
} from '../../src/memory/layout.js';
import { Lane } from '../../src/memory/registry.js';
import { generationOf, remainingOf } from '../../src/memory/slots.js';
import { fields, split } from '../../src/memory/state.js';
import { tookShared, unitsTaken } from '../../src/memory/take.js';

/** Journal words of a lane, in the model (the library's E_* name the same fields in its layout). */
export const J_OWNER = 0;
export const J_STEP = 1;
export const J_SLOT = 2;
export const J_UNITS = 3;
export const J_REMAINING = 4;
export const J_ENTRY = 5;
export const J_FLAGS = 6;
export const J_SEQ = 7;
export const J_CELL = 8;
export const J_OLD = 9;
export const J_NEW = 10;
export const J_CONFIRM = 11;
export const J_GROUP = 12;
/** cancel(): the reason's fields (E_REASON_*), as one word: the model's reasons are numbers. */
export const J_REASON = 13;
const JOURNAL_WORDS = 14;
/** Model words per slot: state, owner, ack, group (the slot's S_GROUP, written with the task's metadata), flags (SLOT_LIMITED). */
const SLOT_WORDS = 5;
/** Model words per group record: H_PENDING, H_FAILED, H_RUNNING, H_CANCEL, H_LIMIT_WAITERS, H_REASON_* (one word). */
const GROUP_WORDS = 6;

/** Where each word of a model of `lanes` lanes, `slots` slots and `entries` log entries lives. */
export class V3Memory {
  readonly lanes: number;
  readonly slots: number;
  readonly entries: number;
  /** Groups: 0 is a root; `parents[g]` is group g's parent (-1 for a root: then it stands for a root of another tree, which may be linked). */
  readonly groups: number;
  readonly parents: readonly number[];
  /** H_PENDING and H_FAILED of the root (group 0): laned 64-bit counters. */
  readonly pending = 0;
  readonly failed = 1;
  /** The real Lane objects (bits, deltas, parity), over a scratch buffer, one per model lane. */
  readonly lane: readonly Lane[];
  readonly #scratch: Scratch;

  constructor(lanes: number, slots: number, entries: number, parents: readonly number[] = [-1]) {
    if (lanes > LANES) throw new RangeError(`at most ${LANES} lanes`);
    parents.forEach((parent, g) => {
      if (g === 0 ? parent !== -1 : parent >= g) throw new RangeError('group 0 is a root, and a group\'s parent comes before it');
    });
    this.lanes = lanes;
    this.slots = slots;
    this.entries = entries;
    this.groups = parents.length;
    this.parents = parents;
    this.#scratch = new Scratch(slots);
    this.lane = Array.from({ length: lanes }, (_, index) => new Lane(this.#scratch.tree, index));
  }

  /** Group `g`'s H_PENDING. */
  pendingOf(g: number): number {
    return g * GROUP_WORDS;
  }

  /** Group `g`'s H_FAILED. */
  failedOf(g: number): number {
    return g * GROUP_WORDS + 1;
  }

  /** Group `g`'s H_RUNNING: running go() functions under its `limit`. */
  runningOf(g: number): number {
    return g * GROUP_WORDS + 2;
  }

  /** Group `g`'s H_CANCEL: 0 (CANCEL_NONE), writing(lane), or CANCEL_DONE. */
  cancelOf(g: number): number {
    return g * GROUP_WORDS + 3;
  }

  /** A counter word's name, for traces. */
  counterName(word: number): string {
    const g = Math.floor(word / GROUP_WORDS);
    const name = ['pending', 'failed', 'running', 'cancel', 'limit-waiters', 'reason'][word % GROUP_WORDS] ?? '?';
    return this.groups === 1 ? name : `${name}[g${g}]`;
  }

  /** Group `g`'s H_LIMIT_WAITERS: threads asleep until a running slot is given back. */
  limitWaitersOf(g: number): number {
    return g * GROUP_WORDS + 4;
  }

  /** Group `g`'s cancellation reason (H_REASON_KIND, _REF, _LENGTH as one word), copied from the canceller's journal. */
  reasonOf(g: number): number {
    return g * GROUP_WORDS + 5;
  }

  /** Slot `s`'s flags (S_FLAGS: SLOT_LIMITED). */
  slotFlags(s: number): number {
    return this.#slotsAt + s * SLOT_WORDS + 4;
  }

  /** The chain of group `g`: itself, its parent, ..., the root (Tree#chainOf). */
  chain(g: number): number[] {
    const chain: number[] = [];
    for (let at = g; at >= 0; at = this.parents[at] ?? -1) chain.push(at);
    return chain;
  }

  /** Whether group `g` lies in the subtree of group `h` (or is `h`). */
  within(g: number, h: number): boolean {
    return this.chain(g).includes(h);
  }

  /** Lane `l`'s added cell in group `g` (a float64 in the library). */
  cellOf(g: number, l: number): number {
    return this.groups * GROUP_WORDS + g * this.lanes + l;
  }

  /** Lane `l`'s added cell in the root. */
  cell(l: number): number {
    return this.cellOf(0, l);
  }

  get #slotsAt(): number {
    return this.groups * (GROUP_WORDS + this.lanes);
  }

  /** Slot `s`'s 64-bit state word: remaining | tag | generation. */
  state(s: number): number {
    return this.#slotsAt + s * SLOT_WORDS;
  }

  /** Slot `s`'s 64-bit owner word: lane + 1 | generation. */
  owner(s: number): number {
    return this.#slotsAt + s * SLOT_WORDS + 1;
  }

  /** Slot `s`'s S_ACK64: the state the last shared take wrote, once its taker acknowledged it. */
  ack(s: number): number {
    return this.#slotsAt + s * SLOT_WORDS + 2;
  }

  /** Slot `s`'s group id (metadata, plain). */
  slotGroup(s: number): number {
    return this.#slotsAt + s * SLOT_WORDS + 3;
  }

  /** Log entry `e`'s state word (L_STATE). */
  log(e: number): number {
    return this.#slotsAt + this.slots * SLOT_WORDS + e;
  }

  /** Word `field` (J_*) of lane `l`'s registry entry. */
  journal(l: number, field: number): number {
    return this.#slotsAt + this.slots * SLOT_WORDS + this.entries + l * JOURNAL_WORDS + field;
  }

  /** The initial memory: every lane registered to a live thread (`owners[l]` = its E_OWNER), the rest zero. */
  initial(owners: readonly number[]): number[] {
    const mem = new Array<number>(this.journal(this.lanes, 0)).fill(0);
    owners.forEach((owner, l) => (mem[this.journal(l, J_OWNER)] = owner));
    for (let l = 0; l < this.lanes; l++) mem[this.journal(l, J_SLOT)] = -1;
    return mem;
  }

  /**
   * Whether `word` is one only lane `l`'s thread (or, once it is dead, the sweeper that claimed its
   * entry) reads or writes: its journal but for E_OWNER (read by sweeps), E_SLOT, E_NEW64 and
   * E_CONFIRM64 (read by other threads' confirm()), and its added cell.
   */
  ownedBy(l: number, word: number): boolean {
    for (let g = 0; g < this.groups; g++) if (word === this.cellOf(g, l)) return true;
    const field = word - this.journal(l, 0);
    return field >= 0 && field < JOURNAL_WORDS && field !== J_OWNER && field !== J_SLOT && field !== J_NEW && field !== J_CONFIRM && field !== J_REASON;
  }

  /** Lane `l`'s bit (0 or 1) in a laned counter's value: Lane#parity, on the value as a typed array holds it. */
  parity(l: number, value: number): 0 | 1 {
    return this.#scratch.parity(this.#laneOf(l), value);
  }

  #laneOf(l: number): Lane {
    const lane = this.lane[l];
    if (lane === undefined) throw new RangeError(`no lane ${l}`);
    return lane;
  }

  /**
   * recover.ts's test of a dead lane's shared take (take.ts tookShared), on the journal of lane
   * `l` and the slot state read by an earlier step (`slotSeen`): the library reads the slot, then
   * the confirm word, and the model makes those two reads two steps.
   */
  tookShared(mem: readonly number[], l: number, slotSeen: number): boolean {
    return this.#scratch.call(mem, this, this.#laneOf(l), slotSeen, tookShared);
  }

  /** take.ts unitsTaken(): the units the dead lane's journaled shared take took. */
  unitsTaken(mem: readonly number[], l: number): number {
    return this.#scratch.call(mem, this, this.#laneOf(l), 0, (_, lane) => unitsTaken(lane));
  }

  /** The operation (OP_*) lane `l`'s journal names. */
  opOf(mem: readonly number[], l: number): number {
    return stepOp(mem[this.journal(l, J_STEP)] ?? 0);
  }
}

/**
 * Real typed arrays in which the model writes the words a library function reads, so that the
 * function itself runs: one registry buffer (the model's lanes) and one slots buffer.
 */
class Scratch {
  readonly tree = new SharedArrayBuffer((REGISTRY + LANES * ENTRY_WORDS) * 4);
  readonly #slots: BigUint64Array;
  readonly #word = new BigInt64Array(1);
  readonly #halves = new Int32Array(this.#word.buffer);

  constructor(slots: number) {
    this.#slots = new BigUint64Array(new SharedArrayBuffer(slotsBytes(Math.max(1, slots))));
  }

  parity(lane: Lane, value: number): 0 | 1 {
    this.#word[0] = BigInt(value);
    return lane.parity(this.#halves, 0);
  }

  call<T>(mem: readonly number[], layout: V3Memory, lane: Lane, slotSeen: number, fn: (words: BigUint64Array, lane: Lane) => T): T {
    const at = (field: number): number => mem[layout.journal(lane.index, field)] ?? 0;
    const slot = at(J_SLOT);
    lane.journal[E_STEP] = at(J_STEP);
    lane.journal[E_SLOT] = slot;
    lane.journal[E_SEQ] = at(J_SEQ);
    lane.journal[E_CONFIRM] = at(J_CONFIRM);
    lane.journal64[E_OLD64 / 2] = BigInt(at(J_OLD));
    lane.journal64[E_NEW64 / 2] = BigInt(at(J_NEW));
    if (slot >= 0) this.#slots[(slotByte(slot) >> 3) + S_STATE64] = BigInt(slotSeen);
    return fn(this.#slots, lane);
  }
}

/** A 64-bit model word as a bigint. */
export const big = (mem: readonly number[], at: number): bigint => BigInt(mem[at] ?? 0);

/** The count of a laned counter's value (its high 32 bits, signed as BigInt64Array holds it). */
export const countOf = (value: number): number => Number(BigInt(value) >> 32n);

/**
 * counters.ts wakeAtZero()'s test, on the pending word read after a lowering: the count is zero
 * and a waiter flagged itself. (wakeAtZero reads the record's halves itself; the model reads them
 * in steps of its own, see laned().)
 */
export const flagged = (value: number): boolean => (BigInt(value) & PENDING_WAITED) !== 0n;

/** The tag (lane + 1 of the shared take that wrote it, 0 for none) of a slot state, by state.ts split(). */
export function tagOf(state: bigint): number {
  split(state);
  return fields.tag;
}

/** The lane + 1 of an owner word (0: free; OWNER_RETIRED). */
export const ownerLane = (owner: number): number => Number(BigInt(owner) & 0xffffffffn);
/** The generation of an owner word. */
export const ownerGeneration = (owner: number): number => Number(BigInt(owner) >> 32n);
/** An owner word. */
export const ownerWord = (generation: number, lanePlusOne: number): number => Number((BigInt(generation) << 32n) | BigInt(lanePlusOne));

/** One line of memory for traces: pending (count, +W), failed, each slot, the log, busy journals. */
export function describe(m: V3Memory, mem: readonly number[], names: readonly string[]): string {
  const parts: string[] = [];
  for (let g = 0; g < m.groups; g++) {
    const pending = mem[m.pendingOf(g)] ?? 0;
    const name = m.groups === 1 ? '' : `[g${g}]`;
    parts.push(`pending${name}=${countOf(pending)}${(BigInt(pending) & PENDING_WAITED) !== 0n ? '+W' : ''}`, `failed${name}=${countOf(mem[m.failedOf(g)] ?? 0)}`);
    const running = mem[m.runningOf(g)] ?? 0;
    if (running !== 0) parts.push(`running${name}=${countOf(running)}`);
    const cancel = mem[m.cancelOf(g)] ?? 0;
    if (cancel !== 0) parts.push(`cancel${name}=${cancel === 1 ? 'done' : `w${-cancel - 1}`}:${mem[m.reasonOf(g)] ?? 0}`);
  }
  for (let s = 0; s < m.slots; s++) {
    const state = big(mem, m.state(s));
    const owner = mem[m.owner(s)] ?? 0;
    const lane = ownerLane(owner);
    const who = lane === 0 ? '-' : lane === OWNER_RETIRED ? 'retired' : (names[lane - 1] ?? `l${lane - 1}`);
    const tag = tagOf(state) === 0 ? '' : `#${names[tagOf(state) - 1] ?? tagOf(state) - 1}`;
    const group = m.groups === 1 ? '' : `(g${mem[m.slotGroup(s)] ?? 0})`;
    parts.push(`s${s}${group}=g${generationOf(state)}:${remainingOf(state)}u${tag}@${who}/g${ownerGeneration(owner)}`);
  }
  const log = Array.from({ length: m.entries }, (_, e) => {
    const state = mem[m.log(e)] ?? 0;
    return state === 0 ? '.' : state === LOG_READY ? 'R' : state === LOG_DISCARDED ? 'D' : state < 0 ? `w${-state - 1}` : 'O';
  });
  parts.push(`log=${log.join('')}`);
  for (let l = 0; l < m.lanes; l++) {
    const op = m.opOf(mem, l);
    if (op !== 0) parts.push(`j(${names[l] ?? l})=op${op}`);
  }
  return parts.join(' ');
}
