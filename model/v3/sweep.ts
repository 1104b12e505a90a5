// exits.ts sweep() after the end of the thread of lane `dead`, by a sweeper of lane `me`: claim
// the dead entry, recover its journal's operation, resume the sweeps it had claimed (if it was a
// sweeper), fail every task it owns through the sweeper's own doneShared() and give back its
// empty slots, discard its staged log entries, free the entry. A nested sweep (of a sweeper that
// died sweeping) runs to its end before the outer one goes on, as the recursion in sweepLane() does.
import { LOG_DISCARDED, MAX_UNITS, SLOT_LIMITED, logWriting } from '../../src/memory/layout.js';
import { liveOwner, sweepingOwner } from '../../src/memory/registry.js';
import { generationOf, remainingOf } from '../../src/memory/slots.js';
import type { GhostLayout } from '../ghost.js';
import { END, program, type Program, type Step } from '../program.js';
import { J_OWNER, J_STEP, ownerGeneration, ownerLane, ownerWord, type V3Memory } from './memory.js';
import { finishCancelSteps } from './cancel.js';
import { W_CUR, W_EI, W_GI, W_OUTER, W_OUTER_RI, W_RI, W_SI, recoverBlocks, sweepLocals, type RecoverHooks } from './recover.js';
import type { V3Bug } from './ops.js';
import { O_GEN, O_GROUP, O_LIMITED, O_SLOT, O_UNITS, clearOp, opLocals } from './steps.js';
import { doneShared } from './take.js';

/** The Node threadId the model gives the thread of lane `lane` (its entry's owner is that + 1). */
export const threadOf = (lane: number): number => lane + 1;

/** Initial locals of a sweeper. */
export const sweeperLocals = (): number[] => [...opLocals(), ...sweepLocals()];

/**
 * The sweep of `dead`'s entry by lane `me`.
 * @param sweepers - lanes that may have claimed entries to sweep (the only ones a resume loop can find)
 */
export function sweeper(m: V3Memory, ghost: GhostLayout, dead: number, me: number, sweepers: ReadonlySet<number>, bugs: ReadonlySet<V3Bug>, hooks: RecoverHooks = {}): Program {
  const entry = (lane: number): number => m.journal(lane, J_OWNER);
  const claim: Step = {
    label: 'sw.claim',
    run: (ctx) => {
      // sweep(): only the dead thread's own entry can hold liveOwner(its threadId).
      if (ctx.mem[entry(dead)] !== liveOwner(threadOf(dead))) return END;
      ctx.mem[entry(dead)] = sweepingOwner(me);
      ctx.locals[W_CUR] = dead;
      return undefined;
    },
  };
  const resume: Step = {
    label: 'sw.resume',
    run: (ctx) => {
      // Sweeps the swept lane had claimed and not finished (it died sweeping): ours now.
      const current = ctx.locals[W_CUR] ?? 0;
      const other = ctx.locals[W_RI] ?? 0;
      ctx.locals[W_RI] = other + 1;
      const last = other + 1 >= m.lanes;
      if (other !== me && ctx.mem[entry(other)] === sweepingOwner(current)) {
        ctx.mem[entry(other)] = sweepingOwner(me);
        ctx.locals[W_OUTER] = current;
        ctx.locals[W_OUTER_RI] = other + 1;
        ctx.locals[W_CUR] = other;
        ctx.locals[W_RI] = 0;
        ctx.note(`resumes the sweep of lane ${other}`);
        return 'rec.read';
      }
      return last ? 'sw.owned' : 'sw.resume';
    },
  };
  // A worker never sweeps: nothing to resume, and the loop's failed compare-and-exchanges change nothing.
  const resumes = !bugs.has('no-resume');
  const anyEmpty = bugs.has('release-any-empty');
  const skipResume: Step = { label: 'sw.after-recover', local: true, run: (ctx) => (resumes && sweepers.has(ctx.locals[W_CUR] ?? -1) ? 'sw.resume' : 'sw.owned') };
  const owned: Step = {
    label: 'sw.owned',
    run: (ctx) => {
      // Slots#ownedBy's plain read of the owner, then Slots#snapshot (its reads made one step).
      const s = ctx.locals[W_SI] ?? 0;
      const current = ctx.locals[W_CUR] ?? 0;
      const owner = ctx.mem[m.owner(s)] ?? 0;
      if (ownerLane(owner) !== current + 1) return 'sw.next-slot';
      const state = BigInt(ctx.mem[m.state(s)] ?? 0);
      if (remainingOf(state) === 0 || ownerGeneration(owner) !== generationOf(state)) return 'sw.release';
      ctx.locals[O_SLOT] = s;
      ctx.locals[O_GROUP] = ctx.mem[m.slotGroup(s)] ?? 0;
      ctx.locals[O_LIMITED] = ((ctx.mem[m.slotFlags(s)] ?? 0) & SLOT_LIMITED) !== 0 ? 1 : 0;
      ctx.locals[O_GEN] = generationOf(state);
      ctx.locals[O_UNITS] = MAX_UNITS;
      ctx.note(`slot ${s}: ${remainingOf(state)} unit(s) of lane ${current}`);
      return 'sw.ds.setup';
    },
  };
  const release: Step = {
    label: 'sw.release',
    run: (ctx) => {
      // Slots#release: the dead lane's slot goes back only if it is empty at the generation it is
      // owned at (not a shared task whose last taker has not freed it yet); its loads and its
      // compare-and-exchange made one step.
      const s = ctx.locals[W_SI] ?? 0;
      const owner = ctx.mem[m.owner(s)] ?? 0;
      if (ownerLane(owner) !== (ctx.locals[W_CUR] ?? 0) + 1) return 'sw.next-slot';
      const state = BigInt(ctx.mem[m.state(s)] ?? 0);
      if (!anyEmpty && (remainingOf(state) !== 0 || generationOf(state) !== ownerGeneration(owner))) {
        ctx.note(`slot ${s} left to its last taker's free`);
        return 'sw.next-slot';
      }
      ctx.mem[m.owner(s)] = ownerWord(ownerGeneration(owner), 0);
      ctx.note(`slot ${s} given back`);
      return 'sw.next-slot';
    },
  };
  const setup: Step = { label: 'sw.ds.setup', local: true, run: () => undefined };
  const failTasks = doneShared(m, ghost, 'sw.ds', me, true, {
    setup,
    group: (ctx) => ctx.locals[O_GROUP] ?? 0,
    limited: (ctx) => ctx.locals[O_LIMITED] ?? 0,
    after: (ctx) => clearOp(ctx),
    onTake: (ctx, k) => {
      const swept = ctx.locals[W_CUR] ?? 0;
      if (k >= 0 && ((ctx.ghost[ghost.holders(k)] ?? 0) & (1 << swept)) === 0) ctx.violate('wrong-owner-swept', `failed task ${k}, which lane ${swept} never held`);
    },
  });
  const nextSlot: Step = {
    label: 'sw.next-slot',
    local: true,
    run: (ctx) => {
      const s = (ctx.locals[W_SI] ?? 0) + 1;
      ctx.locals[W_SI] = s;
      return s < m.slots ? 'sw.owned' : 'sw.discard';
    },
  };
  const discard: Step = {
    label: 'sw.discard',
    run: (ctx) => {
      // FailureLog#discardAll: entries the dead lane left staged.
      const e = ctx.locals[W_EI] ?? 0;
      if (ctx.mem[m.log(e)] === logWriting(ctx.locals[W_CUR] ?? 0)) ctx.mem[m.log(e)] = LOG_DISCARDED;
      ctx.locals[W_EI] = e + 1;
      return e + 1 < m.entries ? 'sw.discard' : hooks.cancels === true ? 'sw.cancel' : 'sw.free-entry';
    },
  };
  const free: Step = {
    label: 'sw.free-entry',
    run: (ctx) => {
      // Tree#freeEntry: the journal cleared, then E_OWNER = 0 last.
      const current = ctx.locals[W_CUR] ?? 0;
      ctx.mem[m.journal(current, J_STEP)] = 0;
      ctx.mem[entry(current)] = 0;
      ctx.locals[W_SI] = 0;
      ctx.locals[W_EI] = 0;
      const outer = ctx.locals[W_OUTER] ?? -1;
      if (outer < 0) return END;
      // Back to the sweep that found this one.
      ctx.locals[W_CUR] = outer;
      ctx.locals[W_RI] = ctx.locals[W_OUTER_RI] ?? 0;
      ctx.locals[W_OUTER] = -1;
      ctx.locals[W_OUTER_RI] = 0;
      return (ctx.locals[W_RI] ?? 0) < m.lanes ? 'sw.resume' : 'sw.owned';
    },
  };
  return program(`sweep(l${dead})`, [
    { prefix: 'sw', steps: [claim] },
    ...recoverBlocks(m, ghost, 'sw.after-recover', !bugs.has('no-recover-wake'), { ...hooks, ownLevel: bugs.has('recover-own-level') }),
    { prefix: 'sw.lanes', steps: [skipResume, resume, owned, release] },
    ...failTasks,
    { prefix: 'sw.tail', steps: [nextSlot, discard, ...(hooks.cancels === true ? finishCancelSteps(m, (ctx) => ctx.locals[W_CUR] ?? 0, W_GI, 'sw.free-entry', hooks.wakeCancelled === true) : []), free] },
  ]);
}
