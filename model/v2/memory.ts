// Protocol v2 (commit 6cab03b) in the explorer's memory: one group's pending and failed words, then
// a few task slots. The constants are copied from that commit's src/layout.ts on purpose: v2 is a
// fixed point in history, kept as the model the explorer must find the known holes in, while src/
// moves on to v3 (whose model imports the library's own helpers instead).
import type { Block, StepContext } from '../program.js';

/** H_PENDING: units * PENDING_UNIT, plus PENDING_WAITED while a waiter may sleep on it. */
export const P = 0;
/** H_FAILED: failures recorded. */
export const F = 1;
export const PENDING_UNIT = 2;
export const PENDING_WAITED = 1;
export const GENERATION_UNIT = 0x1_0000_0000n;
/** Added to a slot's state to take its last unit: units 1 -> 0 and generation + 1 in one step. */
export const LAST_UNIT = GENERATION_UNIT - 1n;

/** Words per slot: the 64-bit state as generation and remaining units, then owner and ready. */
const SLOT_WORDS = 4;
const SLOTS_AT = 2;
export const gen = (s: number): number => SLOTS_AT + s * SLOT_WORDS;
export const rem = (s: number): number => SLOTS_AT + s * SLOT_WORDS + 1;
export const owner = (s: number): number => SLOTS_AT + s * SLOT_WORDS + 2;
export const ready = (s: number): number => SLOTS_AT + s * SLOT_WORDS + 3;

/** The initial memory of a group with `slots` free slots. */
export function memory(slots: number): number[] {
  return new Array<number>(SLOTS_AT + slots * SLOT_WORDS).fill(0);
}

/** Slots.readyOf: the ready word of a slot whose metadata for `generation` is written. */
export const readyOf = (generation: number): number => (generation + 1) & 0x7fffffff;

/** A slot's 64-bit state word, as BigUint64Array holds it. */
export function state64(mem: readonly number[], s: number): bigint {
  return (BigInt(mem[gen(s)] ?? 0) << 32n) | BigInt(mem[rem(s)] ?? 0);
}

/** Stores a slot's 64-bit state word, wrapping as BigUint64Array does. */
export function store64(mem: number[], s: number, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  mem[gen(s)] = Number(v >> 32n);
  mem[rem(s)] = Number(v & 0xffffffffn);
}

/** Slots.stateAfter: the state after taking `taken` of the `left` units; the last one advances the generation. */
export function stateAfter(current: bigint, taken: number, left: number): bigint {
  if (taken < left) return current - BigInt(taken);
  return BigInt.asUintN(64, current - BigInt(taken) + GENERATION_UNIT);
}

/** Int32 arithmetic, as Atomics.add/sub on an Int32Array. */
export const int32 = (n: number): number => n | 0;

/** The pending units of the word, signed (a count lowered below zero shows negative). */
export const pendingUnits = (mem: readonly number[]): number => (mem[P] ?? 0) >> 1;

/** Known v2 bugs the explorer must find, and mutations of v2 planted to prove the checks bite. */
export type V2Bug =
  /** Mutation: claim() loads the remaining units, then stores them, instead of one compare-and-exchange. */
  | 'claim-check-then-store'
  /** Mutation: a failed done() lowers pending before it records the failure. */
  | 'lower-before-record'
  /** Mutation: lowerPending() reads the waiter flag in a load of its own, before the subtraction. */
  | 'split-flag-check';

/**
 * counters.ts lowerPending(): one subtraction that tells whether this was the zero a flagged waiter
 * sleeps for; if so, clear the flag, then notify. `units` is read from local `unitsLocal`.
 * @param failed - a failed completion: counted in the ghost word the waiter's failure check reads
 */
export function lowerPending(prefix: string, unitsLocal: number, scratch: number, failsLowered: number | undefined, bugs: ReadonlySet<V2Bug>): Block {
  const split = bugs.has('split-flag-check');
  const sub = (ctx: StepContext): string | undefined => {
    const units = ctx.locals[unitsLocal] ?? 0;
    const before = ctx.mem[P] ?? 0;
    const after = int32(before - units * PENDING_UNIT);
    ctx.mem[P] = after;
    if (failsLowered !== undefined) ctx.ghost[failsLowered] = (ctx.ghost[failsLowered] ?? 0) + 1;
    const flagged = split ? (ctx.locals[scratch] ?? 0) !== 0 : (before & PENDING_WAITED) !== 0;
    ctx.locals[unitsLocal] = 0;
    ctx.locals[scratch] = 0;
    ctx.note(`pending ${before >> 1} -> ${after >> 1}${flagged ? ', flagged' : ''}`);
    return before >>> 1 === units && flagged ? undefined : `${prefix}.end`;
  };
  return {
    prefix,
    steps: [
      ...(split ? [{ label: `${prefix}.peek`, run: (ctx: StepContext) => void (ctx.locals[scratch] = (ctx.mem[P] ?? 0) & PENDING_WAITED) }] : []),
      { label: `${prefix}.sub`, run: sub },
      // Cleared before the notify (see wakeAll): a waiter that flags again after this is woken below.
      { label: `${prefix}.clear`, run: (ctx) => void (ctx.mem[P] = (ctx.mem[P] ?? 0) & ~PENDING_WAITED) },
      {
        label: `${prefix}.notify`,
        run: (ctx) => {
          ctx.note(`woke ${ctx.notify(P)}`);
        },
      },
    ],
  };
}

/**
 * One line of a v2 memory for traces: pending (+W: a waiter's flag), failures, and each slot as
 * generation:units@owner (`?`: metadata not written yet for this generation, so no sweep sees it).
 * @param names - thread names by id - 1
 */
export function describe(mem: readonly number[], slots: number, names: readonly string[]): string {
  const word = mem[P] ?? 0;
  const parts = [`pending=${word >> 1}${(word & PENDING_WAITED) !== 0 ? '+W' : ''}`, `failed=${mem[F] ?? 0}`];
  for (let s = 0; s < slots; s++) {
    const r = mem[rem(s)] ?? 0;
    const g = mem[gen(s)] ?? 0;
    const published = (mem[ready(s)] ?? 0) === readyOf(g) ? '' : '?';
    const holder = names[(mem[owner(s)] ?? 0) - 1] ?? '-';
    parts.push(`s${s}=g${g}:${r === 0 ? 'free' : `${r}u@${holder}${published}`}`);
  }
  return parts.join(' ');
}
