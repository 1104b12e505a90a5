// recover.ts as explorer steps: the sweeper finishes or undoes the operation in a dead lane's
// journal, acting as that lane (its journal, its lane bits). What the dead thread finished is
// decided by the library's own functions where it has them (stepOp/stepPhase/stepParity, Lane
// parity and deltas, take.ts tookShared and unitsTaken, run on the words the model's steps read);
// the control flow around them mirrors recover(), undoAdd() and finishDone() (src/memory/recover.ts).
import { LOG_DISCARDED, LOG_READY, OPF_FAILED, OP_ADD, OP_ADD_UNDO, OP_DONE, OP_DONE_SHARED, OP_NONE, PHASE_COUNT, PHASE_FAIL, PHASE_FREE, PHASE_LOWER, PHASE_TAKE, step, stepOp, stepParity, stepPhase } from '../../src/memory/layout.js';
import { generationOf, remainingOf, stateOf } from '../../src/memory/slots.js';
import type { GhostLayout } from '../ghost.js';
import type { Block, Step, StepContext } from '../program.js';
import { J_CELL, J_ENTRY, J_FLAGS, J_OLD, J_REMAINING, J_SLOT, J_STEP, J_UNITS, ownerGeneration, ownerLane, type V3Memory } from './memory.js';
import { OWN_AT, freeShared, laned, settleEntry } from './steps.js';

/** Sweep locals: the lane being swept, loop counters, the outer sweep while a nested one runs. */
export const W_CUR = OWN_AT;
export const W_RI = OWN_AT + 1;
export const W_SI = OWN_AT + 2;
export const W_EI = OWN_AT + 3;
export const W_OUTER = OWN_AT + 4;
export const W_OUTER_RI = OWN_AT + 5;
/** recover(): the journal's step word, the phase reached, finishDone's `checked`, the units, undoAdd's top level, a slot state read. */
const W_WORD = OWN_AT + 6;
const W_PHASE = OWN_AT + 7;
const W_CHECKED = OWN_AT + 8;
const W_UNITS = OWN_AT + 9;
const W_TOP = OWN_AT + 10;
const W_SEEN = OWN_AT + 11;
/** Locals of the sweep area. */
export const sweepLocals = (): number[] => [-1, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0];

const cur = (ctx: StepContext): number => ctx.locals[W_CUR] ?? 0;
const word = (ctx: StepContext): number => ctx.locals[W_WORD] ?? 0;

/**
 * recover(tree, dead): blocks that start at `rec.read` and end by going to `next` with the dead
 * lane's journal cleared (`rec.clear`).
 * @param wakes - recover()'s notify of the touched groups' waiters after any operation (false: the
 *   planted bug no-recover-wake, recover() as it was before main's commit 4581431)
 */
export function recoverBlocks(m: V3Memory, ghost: GhostLayout, next: string, wakes: boolean): Block[] {
  const j = (ctx: StepContext, field: number): number => m.journal(cur(ctx), field);
  const journal = (ctx: StepContext, field: number): number => ctx.mem[j(ctx, field)] ?? 0;
  /** recover.ts happened(): the dead lane's bit in `counter` moved off the journaled value. */
  const happened = (ctx: StepContext, counter: number): boolean => m.parity(cur(ctx), ctx.mem[counter] ?? 0) !== stepParity(word(ctx));
  const read: Step = {
    label: 'rec.read',
    // Local: the journal of an entry this sweeper claimed is written by nobody else.
    local: true,
    run: (ctx) => {
      const w = journal(ctx, J_STEP);
      ctx.locals[W_WORD] = w;
      const op = stepOp(w);
      if (op === OP_ADD || op === OP_ADD_UNDO) return 'ua.plan';
      if (op === OP_DONE || op === OP_DONE_SHARED) return 'fd.start';
      return 'rec.clear';
    },
  };
  // undoAdd(), for a chain of one group.
  const plan: Step = {
    label: 'ua.plan',
    // Reads the dead lane's journal and bit, writes its cell: words only this sweeper touches now.
    private: true,
    run: (ctx) => {
      const w = word(ctx);
      const units = journal(ctx, J_UNITS);
      const undo = stepOp(w) === OP_ADD_UNDO;
      ctx.locals[W_UNITS] = units;
      let top = 0;
      if (stepPhase(w) === PHASE_COUNT) {
        // The journaled level's cell, whether or not its step happened.
        const value = journal(ctx, J_CELL);
        ctx.mem[m.cell(cur(ctx))] = undo ? value - units : value;
      } else {
        const moved = happened(ctx, m.pending);
        top = undo ? (moved ? -1 : 0) : moved ? 0 : -1;
        // An undo whose lowering happened may have died before its notify.
      }
      ctx.locals[W_TOP] = top;
      ctx.note(top < 0 ? 'no raise to undo' : 'the raise happened: lower it');
      return top < 0 ? 'ua.slot' : undefined;
    },
  };
  const asDead = { lane: cur, op: () => OP_ADD_UNDO, phase: 0 };
  const emptySlot: Step = {
    label: 'ua.slot',
    run: (ctx) => {
      const s = journal(ctx, J_SLOT);
      ctx.locals[W_TOP] = 0;
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
      // undoAdd() ends with the journal cleared, before recover() notifies.
      ctx.mem[j(ctx, J_STEP)] = OP_NONE;
      return 'rec.notify';
    },
  };
  // finishDone().
  const start: Step = {
    label: 'fd.start',
    local: true,
    run: (ctx) => {
      const w = word(ctx);
      ctx.locals[W_PHASE] = stepPhase(w);
      if (stepPhase(w) === PHASE_TAKE) return stepOp(w) === OP_DONE ? 'fd.own-took' : 'fd.took-slot';
      ctx.locals[W_CHECKED] = 0;
      ctx.locals[W_UNITS] = stepOp(w) === OP_DONE ? journal(ctx, J_UNITS) : m.unitsTaken(ctx.mem, cur(ctx));
      return 'fd.fail-start';
    },
  };
  const took = (ctx: StepContext, yes: boolean): string => {
    ctx.locals[W_SEEN] = 0;
    if (!yes) return 'fd.discard';
    ctx.locals[W_PHASE] = PHASE_FAIL;
    ctx.locals[W_CHECKED] = 1;
    ctx.locals[W_UNITS] = stepOp(word(ctx)) === OP_DONE ? journal(ctx, J_UNITS) : m.unitsTaken(ctx.mem, cur(ctx));
    ctx.note(`the take happened: ${ctx.locals[W_UNITS] ?? 0} unit(s)`);
    return 'fd.fail-start';
  };
  const ownTook: Step = {
    label: 'fd.own-took',
    run: (ctx) => took(ctx, remainingOf(BigInt(ctx.mem[m.state(journal(ctx, J_SLOT))] ?? 0)) !== journal(ctx, J_REMAINING)),
  };
  // tookShared(): the slot first, then (another step) the confirm word, through the library's function.
  const tookSlot: Step = { label: 'fd.took-slot', run: (ctx) => void (ctx.locals[W_SEEN] = ctx.mem[m.state(Math.max(0, journal(ctx, J_SLOT)))] ?? 0) };
  const tookConfirm: Step = { label: 'fd.took-confirm', run: (ctx) => took(ctx, m.tookShared(ctx.mem, cur(ctx), ctx.locals[W_SEEN] ?? 0)) };
  const discard = settleEntry(m, 'fd.discard', cur, LOG_DISCARDED, (ctx) => journal(ctx, J_ENTRY), 'rec.notify');
  const failStart: Step = {
    label: 'fd.fail-start',
    local: true,
    run: (ctx) => (ctx.locals[W_PHASE] === PHASE_FAIL && (journal(ctx, J_FLAGS) & OPF_FAILED) !== 0 ? undefined : 'fd.lower-plan'),
  };
  const publish = settleEntry(m, 'fd.publish', cur, LOG_READY, (ctx) => journal(ctx, J_ENTRY));
  /** finishDone's doubt(): only the first laned step it reaches may have happened already. */
  const doubt = (ctx: StepContext, counter: number): boolean => {
    if (ctx.locals[W_CHECKED] === 1) return false;
    ctx.locals[W_CHECKED] = 1;
    return happened(ctx, counter);
  };
  const failPlan: Step = { label: 'fd.fail-plan', private: true, run: (ctx) => (doubt(ctx, m.failed) ? 'fd.lower-plan' : undefined) };
  const asDone = (phase: number): { lane: typeof cur; op: (ctx: StepContext) => number; phase: number } => ({ lane: cur, op: (ctx) => stepOp(word(ctx)), phase });
  const lowerPlan: Step = {
    label: 'fd.lower-plan',
    private: true,
    run: (ctx) => {
      const phase = ctx.locals[W_PHASE] ?? 0;
      // A failure that completed no unit (GroupHost#failAlone) lowers nothing.
      if (phase > PHASE_LOWER || (ctx.locals[W_UNITS] ?? 0) === 0) return 'fd.free-plan';
      if (phase === PHASE_LOWER && doubt(ctx, m.pending)) return 'fd.free-plan';
      return 'fd.lower.journal';
    },
  };
  const failedOp = (ctx: StepContext): boolean => (journal(ctx, J_FLAGS) & OPF_FAILED) !== 0;
  const lowered = (ctx: StepContext): void => {
    if (failedOp(ctx)) ctx.ghost[ghost.failsLowered] = (ctx.ghost[ghost.failsLowered] ?? 0) + 1;
  };
  const freePlan: Step = {
    label: 'fd.free-plan',
    local: true,
    run: (ctx) => {
      const old = BigInt(journal(ctx, J_OLD));
      const free = stepOp(word(ctx)) === OP_DONE_SHARED && (ctx.locals[W_PHASE] ?? 0) <= PHASE_FREE && remainingOf(old) === (ctx.locals[W_UNITS] ?? 0);
      return free ? undefined : 'rec.notify';
    },
  };
  const freeJournal: Step = { label: 'fd.free-journal', private: true, run: (ctx) => void (ctx.mem[j(ctx, J_STEP)] = step(OP_DONE_SHARED, PHASE_FREE, 0, 0)) };
  // recover(): the dead thread may have cleared a waiter's flag and died before its notify (the
  // two steps of wakeAtZero()): wake every waiter of the groups its operation touched.
  const notify: Step = {
    label: 'rec.notify',
    run: (ctx) => {
      if (wakes && stepOp(word(ctx)) !== OP_NONE) ctx.note(`woke ${ctx.notify(m.pending)}`);
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
  const units = (ctx: StepContext): number => ctx.locals[W_UNITS] ?? 0;
  return [
    { prefix: 'rec', steps: [read] },
    { prefix: 'ua', steps: [plan] },
    laned(m, 'ua.lower', m.pending, asDead, (ctx) => -units(ctx)),
    { prefix: 'ua.empty', steps: [emptySlot] },
    { prefix: 'fd', steps: [start, ownTook, tookSlot, tookConfirm, discard] },
    { prefix: 'fd.failing', steps: [failStart, publish, failPlan] },
    laned(m, 'fd.fail', m.failed, asDone(PHASE_FAIL), () => 1),
    { prefix: 'fd.lowering', steps: [lowerPlan] },
    laned(m, 'fd.lower', m.pending, asDone(PHASE_LOWER), (ctx) => -units(ctx), lowered),
    { prefix: 'fd.freeing', steps: [freePlan, freeJournal] },
    freeShared(m, 'fd.free', (ctx) => journal(ctx, J_SLOT), (ctx) => generationOf(BigInt(journal(ctx, J_OLD)))),
    { prefix: 'rec.end', steps: [notify, clear] },
  ];
}
