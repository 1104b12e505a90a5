// Building blocks of protocol v3's operations, shared by the workers' own operations and the
// sweeper's (which acts as a dead lane): a laned counter step, staging and publishing a failure,
// and freeing a shared task's slot. Each step is one atomic access of the library's code.
import { LOG_EMPTY, OWNER_RETIRED, PENDING_WAITED, logWriting, step } from '../../src/memory/layout.js';
import type { Block, Step, StepContext } from '../program.js';
import { J_STEP, countOf, flagged, ownerGeneration, ownerLane, ownerWord, type V3Memory } from './memory.js';

/** Locals of the operation in flight, the same in every v3 program. */
export const O_SLOT = 0;
export const O_GEN = 1;
export const O_UNITS = 2;
/** The staged failure's log entry, -1 for none. */
export const O_ENTRY = 3;
/** takeShared: the state read, and the state to write. */
export const O_CUR = 4;
export const O_NEXT = 5;
export const O_TAKEN = 6;
export const O_PARITY = 7;
/** A loop counter or a word read by one step for the next. */
export const O_AUX = 8;
export const O_EXPECT = 9;
export const O_REM = 10;
/** confirm(): the confirm word read. */
export const O_CFW = 11;
/** The level of the chain a loop over levels is at, and the operation's group. */
export const O_LEVEL = 12;
export const O_GROUP = 13;
/** 1 while the completion in flight gives back a `limit` slot (OPF_LIMITED). */
export const O_LIMITED = 14;
/** The thread's spare slot (-1: none) and its lane's take sequence (Lane#seq). */
export const T_SPARE = 15;
export const T_SEQ = 16;
/** Locals from here on are the program's own (task handles, the sweep's loops). */
export const OWN_AT = 17;

/** The op-area locals a program starts with. */
export const opLocals = (): number[] => [-1, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0];

/** Clears the op area (not the thread's spare and sequence), so equal states compare equal. */
export function clearOp(ctx: StepContext): void {
  ctx.locals.fill(0, 0, T_SPARE);
  ctx.locals[O_SLOT] = -1;
  ctx.locals[O_ENTRY] = -1;
}

/** Reads a number-valued function of the step's context. */
export type Value = (ctx: StepContext) => number;

/** Where a laned step acts: the lane whose bit flips and whose journal moves, its operation and phase, the level of the chain (default 0). */
export interface Laned {
  readonly lane: Value;
  readonly op: Value;
  readonly phase: number;
  readonly level?: Value;
}

/**
 * A laned step on counter word `word` (H_PENDING, H_FAILED, H_RUNNING, of the group at the step's
 * level): the journal's E_STEP first, with the lane's bit as it is, then the atomic add of `units`
 * (negative: lower) that flips the bit. After a lowering of pending comes counters.ts
 * wakeAtZero() (see wakeAtZero() here).
 * @param pending - whether `word` is an H_PENDING (a lowering of which wakes a flagged waiter at zero)
 * @param onAdd - ghost bookkeeping at the add
 */
export function laned(m: V3Memory, p: string, counter: number | Value, at: Laned, units: Value, onAdd?: (ctx: StepContext) => void, pending?: boolean): Block {
  const word: Value = typeof counter === 'number' ? () => counter : counter;
  const isPending = pending ?? counter === m.pending;
  const journal: Step = {
    label: `${p}.journal`,
    // Writes the acting lane's E_STEP, reads only that lane's bit.
    private: true,
    run: (ctx) => {
      const lane = at.lane(ctx);
      const parity = m.parity(lane, ctx.mem[word(ctx)] ?? 0);
      ctx.locals[O_PARITY] = parity;
      ctx.mem[m.journal(lane, J_STEP)] = step(at.op(ctx), at.phase, at.level?.(ctx) ?? 0, parity);
    },
  };
  const add: Step = {
    label: `${p}.add`,
    run: (ctx) => {
      const lane = m.lane[at.lane(ctx)];
      if (lane === undefined) throw new RangeError('no such lane');
      const n = units(ctx);
      const w = word(ctx);
      ctx.mem[w] = Number(BigInt(ctx.mem[w] ?? 0) + lane.delta(n, ctx.locals[O_PARITY] === 1 ? 1 : 0));
      ctx.locals[O_PARITY] = 0;
      onAdd?.(ctx);
      ctx.note(`${m.counterName(w)} ${n > 0 ? '+' : ''}${n} as lane ${lane.index}`);
      return isPending && n < 0 ? undefined : `${p}.end`;
    },
  };
  return { prefix: p, steps: [journal, add, ...(isPending ? wakeAtZero(m, p, word) : [])] };
}

/**
 * counters.ts wakeAtZero(): read the pending word's high half (the count), then its low half (the
 * waiter flag), plainly, each a step; at zero with the flag set, clear the flag, then notify.
 * Steps of block `p`: they end by going to `${p}.end`.
 */
export function wakeAtZero(m: V3Memory, p: string, word: Value = () => m.pending): Step[] {
  return [
    { label: `${p}.zero`, run: (ctx) => (countOf(ctx.mem[word(ctx)] ?? 0) === 0 ? undefined : `${p}.end`) },
    { label: `${p}.flagged`, run: (ctx) => (flagged(ctx.mem[word(ctx)] ?? 0) ? undefined : `${p}.end`) },
    { label: `${p}.clear`, run: (ctx) => void (ctx.mem[word(ctx)] = Number(BigInt(ctx.mem[word(ctx)] ?? 0) & ~PENDING_WAITED)) },
    {
      label: `${p}.notify`,
      run: (ctx) => {
        ctx.note(`woke ${ctx.notify(word(ctx))}`);
      },
    },
  ];
}

/** FailureLog#stage: claim the first empty entry by compare-and-exchange, one entry per step. */
export function stage(m: V3Memory, p: string, lane: number): Step {
  return {
    label: `${p}.stage`,
    run: (ctx) => {
      const e = ctx.locals[O_AUX] ?? 0;
      if (ctx.mem[m.log(e)] === LOG_EMPTY) {
        ctx.mem[m.log(e)] = logWriting(lane);
        ctx.locals[O_ENTRY] = e;
        ctx.locals[O_AUX] = 0;
        ctx.note(`entry ${e}`);
        return undefined;
      }
      ctx.locals[O_AUX] = e + 1;
      if (e + 1 < m.entries) return `${p}.stage`;
      // The log is full: the failure is only counted.
      ctx.locals[O_AUX] = 0;
      ctx.locals[O_ENTRY] = -1;
      return undefined;
    },
  };
}

/** FailureLog#publish or #discard of the staged entry O_ENTRY of `lane`: writing(lane) -> `to` by compare-and-exchange. */
export function settleEntry(m: V3Memory, label: string, lane: Value, to: number, entry: Value = (ctx) => ctx.locals[O_ENTRY] ?? -1, next?: string): Step {
  return {
    label,
    run: (ctx) => {
      const e = entry(ctx);
      if (e >= 0 && ctx.mem[m.log(e)] === logWriting(lane(ctx))) ctx.mem[m.log(e)] = to;
      return next;
    },
  };
}

/**
 * Slots#freeShared(slot, generation): the owner word moves from (generation, anyone) to
 * (generation + 1, free) by compare-and-exchange, unless it moved on already. Idempotent.
 * A block of prefix `${p}`: `${p}.end` follows it.
 */
export function freeShared(m: V3Memory, p: string, slot: Value, generation: Value): Block {
  const load: Step = {
    label: `${p}.load`,
    run: (ctx) => {
      const owner = ctx.mem[m.owner(slot(ctx))] ?? 0;
      if (ownerGeneration(owner) !== generation(ctx) || ownerLane(owner) === OWNER_RETIRED) return `${p}.end`;
      ctx.locals[O_AUX] = owner;
      return undefined;
    },
  };
  const cas: Step = {
    label: `${p}.cas`,
    run: (ctx) => {
      const s = slot(ctx);
      const seen = ctx.locals[O_AUX] ?? 0;
      ctx.locals[O_AUX] = 0;
      if (ctx.mem[m.owner(s)] !== seen) return `${p}.load`;
      ctx.mem[m.owner(s)] = ownerWord(generation(ctx) + 1, 0);
      ctx.note(`slot ${s} free at generation ${generation(ctx) + 1}`);
      return undefined;
    },
  };
  return { prefix: p, steps: [load, cas] };
}

/**
 * host.ts releaseRunning() after a laned step that gave back a running slot of group `group`: read
 * H_LIMIT_WAITERS, and notify the running word if a thread sleeps until a release. Steps of
 * block `p`: they end by going to `${p}.end`.
 */
export function wakeLimitWaiters(m: V3Memory, p: string, group: Value): Step[] {
  return [
    { label: `${p}.waiters`, run: (ctx) => ((ctx.mem[m.limitWaitersOf(group(ctx))] ?? 0) > 0 ? undefined : `${p}.end`) },
    {
      label: `${p}.notify-running`,
      run: (ctx) => {
        ctx.note(`woke ${ctx.notify(m.runningOf(group(ctx)))}`);
      },
    },
  ];
}
