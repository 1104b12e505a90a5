// Protocol v3's completions as explorer steps: the phases after a take (host.ts finish()), and a
// take through a shared handle (take.ts takeShared(), host.ts doneShared()) with its tag, journal
// fields, confirmation of a previous taker that has not acknowledged its take, and its own
// acknowledgement. The sweeper fails a dead thread's tasks through
// the same doneShared(), as itself, so the same steps serve both.
import { GENERATIONS, LOG_DISCARDED, LOG_READY, OPF_FAILED, OPF_LIMITED, OP_DONE, OP_DONE_SHARED, OP_NONE, PHASE_FAIL, PHASE_FREE, PHASE_LIMIT, PHASE_LOWER, PHASE_TAKE, SLOT_LIMITED, TAG_MASK, step } from '../../src/memory/layout.js';
import { remainingOf } from '../../src/memory/slots.js';
import { fields as stateFields, join, split } from '../../src/memory/state.js';
import type { GhostLayout } from '../ghost.js';
import type { Block, Step, StepContext } from '../program.js';
import { J_CONFIRM, J_ENTRY, J_FLAGS, J_GROUP, J_NEW, J_OLD, J_SEQ, J_SLOT, J_STEP, J_UNITS, big, ownerLane, type V3Memory } from './memory.js';
import { O_AUX, O_CFW, O_CUR, O_ENTRY, O_GEN, O_LEVEL, O_NEXT, O_SLOT, O_TAKEN, O_UNITS, T_SEQ, freeShared, laned, settleEntry, stage, wakeLimitWaiters, type Value } from './steps.js';

/** E_NEW64 before a take has chosen its state (take.ts NOT_WRITTEN): a tag no lane has. */
const NOT_WRITTEN = Number(TAG_MASK);

const local = (at: number): Value => (ctx) => ctx.locals[at] ?? 0;

/**
 * host.ts finish() for lane `lane`: publish the failure and count it at each level of the chain of
 * group `group` (the group, then its ancestors), lower pending at each level (waking a flagged
 * waiter at zero), and for a shared task's last unit free the slot; E_STEP = OP_NONE last. A
 * completion that holds a `limit` slot (`limited`) gives it back between the two (PHASE_LIMIT:
 * releaseRunning(), then for an own task the slot's SLOT_LIMITED cleared).
 * @param noLevel - the planted bug no-level: the journal names level 0 for every level's step
 */
export function finish(m: V3Memory, ghost: GhostLayout, p: string, lane: number, op: number, failed: boolean, group: Value, noLevel = false, limited: Value = () => 0): Block[] {
  const level = local(O_LEVEL);
  const at = { lane: () => lane, op: () => op, level: noLevel ? () => 0 : level };
  const groupAt = (ctx: StepContext): number => m.chain(group(ctx))[ctx.locals[O_LEVEL] ?? 0] ?? 0;
  /** The step after a level's block: on to the next level of the chain, or (level 0 again) past the loop. */
  const next = (label: string, again: string): Step => ({
    label,
    local: true,
    run: (ctx) => {
      const up = (ctx.locals[O_LEVEL] ?? 0) + 1;
      if (up < m.chain(group(ctx)).length) {
        ctx.locals[O_LEVEL] = up;
        return again;
      }
      ctx.locals[O_LEVEL] = 0;
      return undefined;
    },
  });
  const blocks: Block[] = [];
  if (failed) {
    blocks.push({ prefix: `${p}.pub`, steps: [settleEntry(m, `${p}.publish`, () => lane, LOG_READY)] });
    blocks.push(laned(m, `${p}.fail`, (ctx) => m.failedOf(groupAt(ctx)), { ...at, phase: PHASE_FAIL }, () => 1, undefined, false));
    blocks.push({ prefix: `${p}.fail-up`, steps: [next(`${p}.fail-next`, `${p}.fail.journal`)] });
  }
  // releaseRunning() on the task's own group (the `limit` is a group's, not its chain's).
  const own = (ctx: StepContext): number => group(ctx);
  const limitStart: Step = { label: `${p}.limit-start`, local: true, run: (ctx) => (limited(ctx) === 1 ? undefined : `${p}.limit-unmark.end`) };
  const unmark: Step = {
    label: `${p}.unmark`,
    run: (ctx) => {
      // Slots#setFlag(SLOT_LIMITED, false) on a task only this thread holds.
      const s = ctx.locals[O_SLOT] ?? 0;
      if (ownerLane(ctx.mem[m.owner(s)] ?? 0) === lane + 1) ctx.mem[m.slotFlags(s)] = (ctx.mem[m.slotFlags(s)] ?? 0) & ~SLOT_LIMITED;
    },
  };
  blocks.push(
    { prefix: `${p}.limiting`, steps: [limitStart] },
    laned(m, `${p}.limit`, (ctx) => m.runningOf(own(ctx)), { lane: () => lane, op: () => op, phase: PHASE_LIMIT }, () => -1, undefined, false),
    { prefix: `${p}.limit-wake`, steps: wakeLimitWaiters(m, `${p}.limit-wake`, own) },
    { prefix: `${p}.limit-unmark`, steps: op === OP_DONE ? [unmark] : [] },
  );
  const lowered = (ctx: StepContext): void => {
    // The waiter waits on the root: a failed completion has lowered its count once the root's is lowered.
    if (failed && groupAt(ctx) === 0) ctx.ghost[ghost.failsLowered] = (ctx.ghost[ghost.failsLowered] ?? 0) + 1;
  };
  blocks.push(laned(m, `${p}.lower`, (ctx) => m.pendingOf(groupAt(ctx)), { ...at, phase: PHASE_LOWER }, (ctx) => -(ctx.locals[O_TAKEN] ?? 0), lowered, true));
  blocks.push({ prefix: `${p}.lower-up`, steps: [next(`${p}.lower-next`, `${p}.lower.journal`)] });
  if (op === OP_DONE_SHARED) {
    // The last unit: the slot is given back after the journal has left PHASE_TAKE.
    const journal: Step = {
      label: `${p}.free-journal`,
      private: true,
      run: (ctx) => {
        if (remainingOf(BigInt(ctx.locals[O_NEXT] ?? 0)) !== 0) return `${p}.free.end`;
        ctx.mem[m.journal(lane, J_STEP)] = step(op, PHASE_FREE, 0, 0);
        return undefined;
      },
    };
    blocks.push({ prefix: `${p}.freeing`, steps: [journal] }, freeShared(m, `${p}.free`, local(O_SLOT), local(O_GEN)));
  }
  return blocks;
}

/** What a program gives doneShared(): where the task comes from, and what to do with the result. */
export interface SharedDone {
  /** A local step that fills O_SLOT, O_GEN, O_UNITS from the handle (or the sweep's snapshot); may jump to `${p}.quit.end`. */
  readonly setup: Step;
  /** Runs at the end, taken or not (the state left or seen is O_NEXT or O_CUR); must clear the op area. */
  readonly after: (ctx: StepContext, taken: boolean) => void;
  /** Ghost check at a successful take of task `k`. */
  readonly onTake?: (ctx: StepContext, k: number) => void;
  /** The task's group. */
  readonly group: Value;
  /** The planted bug no-level (see finish()). */
  readonly noLevel?: boolean;
  /** 1 if the task holds a `limit` slot (OPF_LIMITED; default 0). */
  readonly limited?: Value;
}

/** host.ts doneShared() by lane `lane`: stage, take by tagged compare-and-exchange, finish. */
export function doneShared(m: V3Memory, ghost: GhostLayout, p: string, lane: number, failed: boolean, use: SharedDone): Block[] {
  const tag = lane + 1;
  const j = (field: number): number => m.journal(lane, field);
  const fields: Step = {
    label: `${p}.fields`,
    run: (ctx) => {
      // doneShared's fields, then takeShared's: E_NEW64 = NOT_WRITTEN before the step names the take.
      const seq = ((ctx.locals[T_SEQ] ?? 0) + 1) & 0x3fffffff;
      ctx.locals[T_SEQ] = seq;
      ctx.mem[j(J_GROUP)] = use.group(ctx);
      ctx.mem[j(J_UNITS)] = ctx.locals[O_UNITS] ?? 0;
      ctx.mem[j(J_ENTRY)] = ctx.locals[O_ENTRY] ?? -1;
      ctx.mem[j(J_FLAGS)] = (failed ? OPF_FAILED : 0) | (use.limited?.(ctx) === 1 ? OPF_LIMITED : 0);
      ctx.mem[j(J_NEW)] = NOT_WRITTEN;
      ctx.mem[j(J_SLOT)] = ctx.locals[O_SLOT] ?? -1;
      ctx.mem[j(J_SEQ)] = seq;
      ctx.mem[j(J_STEP)] = step(OP_DONE_SHARED, PHASE_TAKE, 0, 0);
    },
  };
  const confirmStore: Step = { label: `${p}.confirm-store`, run: (ctx) => void (ctx.mem[j(J_CONFIRM)] = (ctx.locals[T_SEQ] ?? 0) << 1) };
  const read: Step = { label: `${p}.read`, run: (ctx) => void (ctx.locals[O_CUR] = ctx.mem[m.state(ctx.locals[O_SLOT] ?? 0)] ?? 0) };
  const attempt: Step = {
    label: `${p}.try`,
    run: (ctx) => {
      const current = BigInt(ctx.locals[O_CUR] ?? 0);
      const generation = ctx.locals[O_GEN] ?? 0;
      split(current);
      const { remaining: left, generation: seen, tag: previous } = stateFields;
      if (left === 0 || seen !== generation) return `${p}.nothing`;
      const taken = Math.min(ctx.locals[O_UNITS] ?? 0, left);
      const rest = left - taken;
      // As takeShared computes it (state.ts join()): the last unit advances the generation.
      const next = rest === 0 ? join((generation + 1) % GENERATIONS, tag, 0) : join(generation, tag, rest);
      ctx.mem[j(J_OLD)] = Number(current);
      ctx.mem[j(J_NEW)] = Number(next);
      ctx.locals[O_NEXT] = Number(next);
      ctx.locals[O_TAKEN] = taken;
      if (previous === 0 || previous === tag) return `${p}.cas`;
      ctx.locals[O_AUX] = previous - 1;
      return undefined;
    },
  };
  // A previous taker acknowledges its take in the slot right after its compare-and-exchange: only
  // one caught between the two (or dead there) needs confirming. A plain read of S_ACK64.
  const ackRead: Step = {
    label: `${p}.ack-read`,
    run: (ctx) => (ctx.mem[m.ack(ctx.locals[O_SLOT] ?? 0)] === ctx.locals[O_CUR] ? `${p}.cas` : undefined),
  };
  // confirm(): the previous taker's journal still describes the take that wrote `current`.
  const other = (ctx: StepContext, field: number): number => m.journal(ctx.locals[O_AUX] ?? 0, field);
  const confirmLoad: Step = {
    label: `${p}.cf-load`,
    run: (ctx) => {
      const word = ctx.mem[other(ctx, J_CONFIRM)] ?? 0;
      if ((word & 1) !== 0) return `${p}.cas`;
      ctx.locals[O_CFW] = word;
      return undefined;
    },
  };
  const confirmCheck: Step = {
    label: `${p}.cf-check`,
    run: (ctx) => (ctx.mem[other(ctx, J_SLOT)] === ctx.locals[O_SLOT] && ctx.mem[other(ctx, J_NEW)] === ctx.locals[O_CUR] ? undefined : `${p}.cas`),
  };
  const confirmCas: Step = {
    label: `${p}.cf-cas`,
    run: (ctx) => {
      const word = ctx.locals[O_CFW] ?? 0;
      if (ctx.mem[other(ctx, J_CONFIRM)] === word) ctx.mem[other(ctx, J_CONFIRM)] = word | 1;
      ctx.note(`confirmed lane ${ctx.locals[O_AUX] ?? 0}'s take`);
    },
  };
  const cas: Step = {
    label: `${p}.cas`,
    run: (ctx) => {
      const s = ctx.locals[O_SLOT] ?? 0;
      ctx.locals[O_AUX] = 0;
      ctx.locals[O_CFW] = 0;
      const seen = ctx.mem[m.state(s)] ?? 0;
      if (seen !== ctx.locals[O_CUR]) {
        ctx.locals[O_CUR] = seen;
        return `${p}.try`;
      }
      ctx.mem[m.state(s)] = ctx.locals[O_NEXT] ?? 0;
      const taken = ctx.locals[O_TAKEN] ?? 0;
      const k = ghost.take(ctx.ghost, s, taken);
      use.onTake?.(ctx, k);
      ctx.note(`took ${taken} of task ${k} in slot ${s}`);
      return undefined;
    },
  };
  // The taker's own acknowledgement: the journal first (what a sweeper reads), then the slot.
  const ackJournal: Step = { label: `${p}.ack-journal`, run: (ctx) => void (ctx.mem[j(J_CONFIRM)] = ((ctx.locals[T_SEQ] ?? 0) << 1) | 1) };
  const ackSlot: Step = { label: `${p}.ack-slot`, run: (ctx) => void (ctx.mem[m.ack(ctx.locals[O_SLOT] ?? 0)] = ctx.locals[O_NEXT] ?? 0) };
  const none: Step = {
    label: `${p}.none`,
    private: true,
    run: (ctx) => {
      ctx.mem[j(J_STEP)] = OP_NONE;
      use.after(ctx, true);
      return `${p}.quit.end`;
    },
  };
  const nothingNone: Step = {
    label: `${p}.nothing-none`,
    private: true,
    run: (ctx) => {
      ctx.mem[j(J_STEP)] = OP_NONE;
      use.after(ctx, false);
    },
  };
  return [
    { prefix: p, steps: [use.setup, ...(failed ? [stage(m, p, lane)] : []), fields, confirmStore, read, attempt, ackRead, confirmLoad, confirmCheck, confirmCas, cas, ackJournal, ackSlot] },
    ...finish(m, ghost, p, lane, OP_DONE_SHARED, failed, use.group, use.noLevel, use.limited),
    { prefix: `${p}.fin`, steps: [none] },
    { prefix: `${p}.quit`, steps: [settleEntry(m, `${p}.nothing`, () => lane, LOG_DISCARDED), nothingNone] },
  ];
}

/** The 64-bit state word of slot `s`, for callers that hold it as a bigint. */
export const stateAt = (m: V3Memory, mem: readonly number[], s: number): bigint => big(mem, m.state(s));
