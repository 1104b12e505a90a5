// recover.ts as explorer steps: the sweeper finishes or undoes the operation in a dead lane's
// journal, acting as that lane (its journal, its lane bits). The decision is the library's own:
// the model reads what src/memory/recover.ts recoveryNeeds() asks for (the take, by take.ts tookShared()
// or the own slot's remaining units; the dead lane's bit in the journaled counter, by Lane#parity),
// each read a step, then calls recoveryPlan() on those facts and runs each action it returns as
// atomic steps (a laned step is two: the journal, then the add). Only the carrying out of each
// action is the model's, one block per action kind.
import { H_FAILED, H_PENDING, H_RUNNING, LOG_DISCARDED, LOG_READY, OPF_FAILED, OP_ADD_UNDO, OP_DONE, OP_DONE_SHARED, OP_LIMIT, OP_NONE, PHASE_COUNT, PHASE_FREE, PHASE_FAIL, PHASE_LOWER, step, stepOp, stepParity, stepPhase } from '../../src/memory/layout.js';
import { recoveryNeeds, recoveryPlan, type RecoveryAction, type RecoveryFacts } from '../../src/memory/recover.js';
import { generationOf, remainingOf, stateOf } from '../../src/memory/slots.js';
import type { GhostLayout } from '../ghost.js';
import type { Block, Step, StepContext } from '../program.js';
import { J_CELL, J_ENTRY, J_FLAGS, J_GROUP, J_OLD, J_REMAINING, J_SLOT, J_STEP, J_UNITS, ownerGeneration, ownerLane, type V3Memory } from './memory.js';
import { OWN_AT, freeShared, laned, settleEntry } from './steps.js';

/** Sweep locals: the lane being swept, loop counters, the outer sweep while a nested one runs. */
export const W_CUR = OWN_AT;
export const W_RI = OWN_AT + 1;
export const W_SI = OWN_AT + 2;
export const W_EI = OWN_AT + 3;
export const W_OUTER = OWN_AT + 4;
export const W_OUTER_RI = OWN_AT + 5;
/** recover(): the journal's step word, the facts read (took, moved, marked), the next action's index and fields, a slot state read. */
const W_WORD = OWN_AT + 6;
const W_TOOK = OWN_AT + 7;
const W_MOVED = OWN_AT + 8;
const W_MARKED = OWN_AT + 9;
const W_NEXT = OWN_AT + 10;
const W_LEVEL = OWN_AT + 11;
const W_ARG = OWN_AT + 12;
const W_SEEN = OWN_AT + 13;
/** The sweep's loop over groups (finishCancel). */
export const W_GI = OWN_AT + 14;
/** Locals of the sweep area. */
export const sweepLocals = (): number[] => [-1, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

const cur = (ctx: StepContext): number => ctx.locals[W_CUR] ?? 0;
const word = (ctx: StepContext): number => ctx.locals[W_WORD] ?? 0;

/** The block that carries out each kind of action (its first step's label). */
const BLOCKS: Readonly<Record<RecoveryAction['kind'], string>> = {
  discard: 'ra.discard',
  publish: 'ra.publish',
  fail: 'ra.fail.journal',
  release: 'ra.release.journal',
  running: 'ra.running.journal',
  'wake-running': 'ra.wake-running.waiters',
  unmark: 'ra.unmark',
  lower: 'ra.lower.journal',
  unraise: 'ra.unraise.journal',
  free: 'ra.free-journal',
  cell: 'ra.cell',
  uncount: 'ra.uncount',
  empty: 'ra.empty',
  notify: 'ra.notify',
};

/** Hooks of the parts of the protocol a scenario models beyond add and done (limit, cancel). */
export interface RecoverHooks {
  /** Blocks carrying out `release`, `running` and `unmark` (from the labels in BLOCKS; each ends at `rec.next`). */
  readonly limit?: (m: V3Memory, lane: (ctx: StepContext) => number, group: (ctx: StepContext) => number) => Block[];
  /** OP_LIMIT phase 0: reads whether the slot is marked SLOT_LIMITED and still the dead lane's (one step). */
  readonly marked?: (ctx: StepContext, m: V3Memory, lane: number, slot: number) => boolean;
  /** The sweep finishes the dead lane's half-written cancellations (exits.ts finishCancel()); false under the planted bug no-finish-cancel. */
  readonly cancels?: boolean;
  /** The proposed fix sweep-wakes-cancel (see cancel.ts finishCancelSteps). */
  readonly wakeCancelled?: boolean;
  /** The planted bug no-recover-running-wake: the sweep skips `wake-running` (recover() before this commit). */
  readonly noRunningWake?: boolean;
  /** The planted bug recover-own-level: recovery acts on the journaled group alone (its record, not Tree#chainOf). */
  readonly ownLevel?: boolean;
}

/**
 * recover(tree, dead): blocks that start at `rec.read` and end by going to `next` with the dead
 * lane's journal cleared (`rec.clear`).
 * @param wakes - recover()'s notify of the touched groups' waiters after any operation (false: the
 *   planted bug no-recover-wake, recover() as it was before main's commit 4581431)
 */
export function recoverBlocks(m: V3Memory, ghost: GhostLayout, next: string, wakes: boolean, hooks: RecoverHooks = {}): Block[] {
  const j = (ctx: StepContext, field: number): number => m.journal(cur(ctx), field);
  const journal = (ctx: StepContext, field: number): number => ctx.mem[j(ctx, field)] ?? 0;
  const group = (ctx: StepContext): number => journal(ctx, J_GROUP);
  const chain = (ctx: StepContext): number[] => (stepOp(word(ctx)) === OP_NONE ? [] : hooks.ownLevel === true ? [group(ctx)] : m.chain(group(ctx)));
  const units = (ctx: StepContext): number => (stepOp(word(ctx)) === OP_DONE_SHARED ? m.unitsTaken(ctx.mem, cur(ctx)) : journal(ctx, J_UNITS));
  const needs = (ctx: StepContext): ReturnType<typeof recoveryNeeds> => recoveryNeeds(word(ctx), journal(ctx, J_FLAGS), units(ctx));
  /** What recover() hands recoveryPlan(), from the journal and the facts the steps below read. */
  const facts = (ctx: StepContext): RecoveryFacts => ({
    word: word(ctx),
    flags: journal(ctx, J_FLAGS),
    units: units(ctx),
    levels: chain(ctx).length,
    took: ctx.locals[W_TOOK] === 1,
    moved: ctx.locals[W_MOVED] === 1,
    oldRemaining: stepOp(word(ctx)) === OP_DONE_SHARED ? remainingOf(BigInt(journal(ctx, J_OLD))) : 0,
    marked: ctx.locals[W_MARKED] === 1,
  });
  const read: Step = {
    label: 'rec.read',
    // Local: the journal of an entry this sweeper claimed is written by nobody else.
    local: true,
    run: (ctx) => {
      ctx.locals[W_WORD] = journal(ctx, J_STEP);
      if (stepOp(word(ctx)) === OP_NONE) return 'rec.clear';
      const need = needs(ctx);
      if (need.take) return stepOp(word(ctx)) === OP_DONE ? 'rec.own-took' : 'rec.took-slot';
      return need.counter >= 0 ? 'rec.bit' : 'rec.plan';
    },
  };
  const ownTook: Step = {
    label: 'rec.own-took',
    run: (ctx) => {
      ctx.locals[W_TOOK] = remainingOf(BigInt(ctx.mem[m.state(journal(ctx, J_SLOT))] ?? 0)) !== journal(ctx, J_REMAINING) ? 1 : 0;
      return 'rec.plan';
    },
  };
  // tookShared(): the slot first, then (another step) the confirm word, through the library's function.
  const tookSlot: Step = { label: 'rec.took-slot', run: (ctx) => void (ctx.locals[W_SEEN] = ctx.mem[m.state(Math.max(0, journal(ctx, J_SLOT)))] ?? 0) };
  const tookConfirm: Step = {
    label: 'rec.took-confirm',
    run: (ctx) => {
      ctx.locals[W_TOOK] = m.tookShared(ctx.mem, cur(ctx), ctx.locals[W_SEEN] ?? 0) ? 1 : 0;
      ctx.locals[W_SEEN] = 0;
      return 'rec.plan';
    },
  };
  const bit: Step = {
    label: 'rec.bit',
    // Reads only the dead lane's bit, which only this sweeper changes now.
    private: true,
    run: (ctx) => {
      const need = needs(ctx);
      const at = chain(ctx)[need.level];
      if (at === undefined) return 'rec.plan';
      const counter = [m.pendingOf(at), m.failedOf(at), m.runningOf(at)][[H_PENDING, H_FAILED, H_RUNNING].indexOf(need.counter)] ?? -1;
      if (counter < 0) throw new Error(`recoveryNeeds() names counter ${need.counter}, which the model has no word for`);
      ctx.locals[W_MOVED] = m.parity(cur(ctx), ctx.mem[counter] ?? 0) !== stepParity(word(ctx)) ? 1 : 0;
      return stepOp(word(ctx)) === OP_LIMIT && stepPhase(word(ctx)) === 0 && hooks.marked !== undefined ? 'rec.marked' : 'rec.plan';
    },
  };
  const marked: Step = {
    label: 'rec.marked',
    run: (ctx) => {
      ctx.locals[W_MARKED] = hooks.marked?.(ctx, m, cur(ctx), journal(ctx, J_SLOT)) === true ? 1 : 0;
      return 'rec.plan';
    },
  };
  const plan: Step = {
    label: 'rec.plan',
    local: true,
    run: (ctx) => {
      ctx.locals[W_NEXT] = 0;
      ctx.note(recoveryPlan(facts(ctx)).map((a) => a.kind + ('level' in a ? String(a.level) : '')).join(',') || 'nothing');
      return 'rec.next';
    },
  };
  // The plan again (it is a pure function of the facts, kept in locals), its next action.
  const nextAction: Step = {
    label: 'rec.next',
    local: true,
    run: (ctx) => {
      const actions = recoveryPlan(facts(ctx));
      let at = ctx.locals[W_NEXT] ?? 0;
      // A `fail` whose count the dead thread made itself leaves only the cancelling of a group that
      // cancels on error and the failure watchers' wake, which the model does not have.
      while ((actions[at]?.kind === 'fail' && !(actions[at] as { count: boolean }).count) || (actions[at]?.kind === 'wake-running' && hooks.noRunningWake === true)) at++;
      const action = actions[at];
      if (action === undefined) return 'rec.clear';
      ctx.locals[W_NEXT] = at + 1;
      ctx.locals[W_LEVEL] = 'level' in action ? action.level : 0;
      ctx.locals[W_ARG] = 'units' in action ? action.units : 'count' in action ? (action.count ? 1 : 0) : 'undo' in action ? (action.undo ? 1 : 0) : 0;
      return BLOCKS[action.kind];
    },
  };
  const level = (ctx: StepContext): number => ctx.locals[W_LEVEL] ?? 0;
  const groupAt = (ctx: StepContext): number => chain(ctx)[level(ctx)] ?? 0;
  const arg = (ctx: StepContext): number => ctx.locals[W_ARG] ?? 0;
  const op = (ctx: StepContext): number => stepOp(word(ctx));
  const back = 'rec.next';
  const discard = settleEntry(m, 'ra.discard', cur, LOG_DISCARDED, (ctx) => journal(ctx, J_ENTRY), back);
  const publish = settleEntry(m, 'ra.publish', cur, LOG_READY, (ctx) => journal(ctx, J_ENTRY), back);
  const failBlock = laned(m, 'ra.fail', (ctx) => m.failedOf(groupAt(ctx)), { lane: cur, op, phase: PHASE_FAIL, level }, () => 1, undefined, false);
  const lowered = (ctx: StepContext): void => {
    if ((journal(ctx, J_FLAGS) & OPF_FAILED) !== 0 && groupAt(ctx) === 0) ctx.ghost[ghost.failsLowered] = (ctx.ghost[ghost.failsLowered] ?? 0) + 1;
  };
  const lower = laned(m, 'ra.lower', (ctx) => m.pendingOf(groupAt(ctx)), { lane: cur, op, phase: PHASE_LOWER, level }, (ctx) => -arg(ctx), lowered, true);
  const unraise = laned(m, 'ra.unraise', (ctx) => m.pendingOf(groupAt(ctx)), { lane: cur, op: () => OP_ADD_UNDO, phase: 0, level }, (ctx) => -arg(ctx), undefined, true);
  const freeJournal: Step = { label: 'ra.free-journal', private: true, run: (ctx) => void (ctx.mem[j(ctx, J_STEP)] = step(OP_DONE_SHARED, PHASE_FREE, 0, 0)) };
  const cell: Step = {
    label: 'ra.cell',
    // The dead lane's own cell and journal, which only this sweeper touches now.
    private: true,
    run: (ctx) => {
      const value = journal(ctx, J_CELL);
      ctx.mem[m.cellOf(groupAt(ctx), cur(ctx))] = arg(ctx) === 1 ? value - journal(ctx, J_UNITS) : value;
      return back;
    },
  };
  const uncount: Step = {
    label: 'ra.uncount',
    private: true,
    run: (ctx) => {
      const at = m.cellOf(groupAt(ctx), cur(ctx));
      const counted = ctx.mem[at] ?? 0;
      ctx.mem[j(ctx, J_CELL)] = counted;
      ctx.mem[j(ctx, J_STEP)] = step(OP_ADD_UNDO, PHASE_COUNT, level(ctx), 0);
      ctx.mem[at] = counted - arg(ctx);
      return back;
    },
  };
  const empty: Step = {
    label: 'ra.empty',
    run: (ctx) => {
      const s = journal(ctx, J_SLOT);
      const owner = s < 0 ? 0 : (ctx.mem[m.owner(s)] ?? 0);
      if (s >= 0 && ownerLane(owner) === cur(ctx) + 1) {
        const left = remainingOf(BigInt(ctx.mem[m.state(s)] ?? 0));
        const k = (ctx.ghost[ghost.slotTask(s)] ?? 0) - 1;
        if (left > 0 && k >= 0) {
          // The task never existed for anyone: add() did not return.
          if (ctx.ghost[ghost.added(k)] === 1) ctx.violate('undid-returned-add', `emptied task ${k}, whose add() had returned`);
          ctx.ghost[ghost.units(k)] = (ctx.ghost[ghost.units(k)] ?? 0) - left;
        }
        ctx.mem[m.state(s)] = Number(stateOf(ownerGeneration(owner), 0));
      }
      ctx.mem[j(ctx, J_STEP)] = OP_NONE;
      return back;
    },
  };
  // recover(): the dead thread may have cleared a waiter's flag and died before its notify (the
  // two steps of wakeAtZero()): wake every waiter of the groups its operation touched.
  const notify: Step = {
    label: 'ra.notify',
    run: (ctx) => {
      if (wakes) ctx.note(`woke ${chain(ctx).reduce((n, g) => n + ctx.notify(m.pendingOf(g)), 0)}`);
      return back;
    },
  };
  const clear: Step = {
    label: 'rec.clear',
    private: true,
    run: (ctx) => {
      ctx.mem[j(ctx, J_STEP)] = OP_NONE;
      ctx.locals.fill(0, W_WORD, W_SEEN + 1);
      return next;
    },
  };
  const unmodelled = (label: string): Step => ({
    label,
    run: () => {
      throw new Error(`recovery action ${label} in a scenario that does not model limit`);
    },
  });
  const limit = hooks.limit?.(m, cur, (ctx) => groupAt(ctx)) ?? [{ prefix: 'ra.limit', steps: [unmodelled('ra.release.journal'), unmodelled('ra.running.journal'), unmodelled('ra.wake-running.waiters'), unmodelled('ra.unmark')] }];
  return [
    { prefix: 'rec', steps: [read, ownTook, tookSlot, tookConfirm, bit, marked, plan, nextAction] },
    { prefix: 'ra', steps: [discard, publish] },
    failBlock,
    { prefix: 'ra.fail-back', steps: [{ label: 'ra.fail-done', local: true, run: () => back }] },
    lower,
    { prefix: 'ra.lower-back', steps: [{ label: 'ra.lower-done', local: true, run: () => back }] },
    unraise,
    { prefix: 'ra.unraise-back', steps: [{ label: 'ra.unraise-done', local: true, run: () => back }] },
    { prefix: 'ra.freeing', steps: [freeJournal] },
    freeShared(m, 'ra.free', (ctx) => journal(ctx, J_SLOT), (ctx) => generationOf(BigInt(journal(ctx, J_OLD)))),
    { prefix: 'ra.free-back', steps: [{ label: 'ra.free-done', local: true, run: () => back }] },
    { prefix: 'ra.add', steps: [cell, uncount, empty, notify] },
    ...limit,
    { prefix: 'rec.end', steps: [clear] },
  ];
}
