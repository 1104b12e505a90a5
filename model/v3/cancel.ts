// cancel() (cancel.ts markCancelled, finishCancel, watchCancel): the canceller journals its
// reason's fields (E_REASON_*), then claims the group's cancel word NONE -> writing(lane) by
// compare-and-exchange, copies the fields to the header, stores CANCEL_DONE and notifies. A
// canceller that dies after its claim leaves the word naming it: the sweep of its entry finishes
// the cancellation with the reason it journaled (finishCancel). A watcher sleeps on the word until
// it reads CANCEL_DONE. The model's reasons are numbers (a reason's three fields as one word).
import { CANCEL_DONE, CANCEL_NONE, cancelWriting } from '../../src/memory/layout.js';
import type { Invariant } from '../explorer.js';
import type { GhostLayout } from '../ghost.js';
import { END, program, type Block, type Program, type Step, type StepContext } from '../program.js';
import { J_REASON, type V3Memory } from './memory.js';
import type { Worker } from './ops.js';

/** markCancelled() of group `group` by worker `w`, with reason `reason` (a positive number). */
export function cancel(w: Worker, p: string, group: number, reason: number): Block[] {
  const { m, lane, ghost } = w;
  const word = m.cancelOf(group);
  const load: Step = { label: `${p}.load`, run: (ctx) => (ctx.mem[word] === CANCEL_NONE ? undefined : `${p}.end`) };
  // The reason's fields go to the journal first: a sweeper that finds the word still naming us copies them from there.
  const journal: Step = { label: `${p}.journal`, run: (ctx) => void (ctx.mem[m.journal(lane, J_REASON)] = reason) };
  const claim: Step = {
    label: `${p}.claim`,
    run: (ctx) => {
      if (ctx.mem[word] !== CANCEL_NONE) return `${p}.end`;
      ctx.mem[word] = cancelWriting(lane);
      // The reason every reader must see once the word is CANCEL_DONE.
      ctx.ghost[ghost.claimedReason] = reason;
      ctx.note(`claims the cancellation with reason ${reason}`);
      return undefined;
    },
  };
  const copy: Step = { label: `${p}.copy`, run: (ctx) => void (ctx.mem[m.reasonOf(group)] = ctx.mem[m.journal(lane, J_REASON)] ?? 0) };
  const done: Step = { label: `${p}.done`, run: (ctx) => void (ctx.mem[word] = CANCEL_DONE) };
  const notify: Step = {
    label: `${p}.notify`,
    run: (ctx) => {
      ctx.note(`woke ${ctx.notify(word)}`);
    },
  };
  const planted = w.bugs.has('reason-after-claim') ? [load, claim, journal] : [load, journal, claim];
  return [{ prefix: p, steps: [...planted, copy, done, notify] }];
}

/**
 * exits.ts sweepLane()'s finishCancel() over every group, for the swept lane `cur(ctx)`: a cancel
 * word still naming it is finished with its journaled reason. Steps from `sw.cancel` on, using
 * local `gi` as the loop counter; they end by going to `next`.
 * @param wakeDone - also notify the cancel word of every group already cancelled, as finishCancel()
 *   does (a canceller may have died between storing CANCEL_DONE and its notify); false plants the old bug
 */
export function finishCancelSteps(m: V3Memory, cur: (ctx: StepContext) => number, gi: number, next: string, wakeDone: boolean): Step[] {
  const group = (ctx: StepContext): number => ctx.locals[gi] ?? 0;
  const on = (ctx: StepContext): string => {
    const g = group(ctx) + 1;
    ctx.locals[gi] = g < m.groups ? g : 0;
    return g < m.groups ? 'sw.cancel' : next;
  };
  return [
    {
      label: 'sw.cancel',
      run: (ctx) => {
        const state = ctx.mem[m.cancelOf(group(ctx))];
        if (state === cancelWriting(cur(ctx))) return undefined;
        // As finishCancel(): the dead thread may have stored CANCEL_DONE and died before its notify.
        if (wakeDone && state === CANCEL_DONE) return 'sw.cancel-notify';
        return on(ctx);
      },
    },
    { label: 'sw.cancel-copy', run: (ctx) => void (ctx.mem[m.reasonOf(group(ctx))] = ctx.mem[m.journal(cur(ctx), J_REASON)] ?? 0) },
    {
      label: 'sw.cancel-cas',
      run: (ctx) => {
        const word = m.cancelOf(group(ctx));
        if (ctx.mem[word] !== cancelWriting(cur(ctx))) return on(ctx);
        ctx.mem[word] = CANCEL_DONE;
        ctx.note(`finished the cancellation of group ${group(ctx)}`);
        return undefined;
      },
    },
    {
      label: 'sw.cancel-notify',
      run: (ctx) => {
        ctx.note(`woke ${ctx.notify(m.cancelOf(group(ctx)))}`);
        return on(ctx);
      },
    },
  ];
}

/** watchCancel(): load the word; at CANCEL_DONE read the reason; else sleep on the value read. */
export function cancelWatcher(m: V3Memory, ghost: GhostLayout, group: number): Program {
  const word = m.cancelOf(group);
  const steps: Step[] = [
    {
      label: 'cw.arm',
      run: (ctx) => {
        const state = ctx.mem[word] ?? 0;
        if (state === CANCEL_DONE) return undefined;
        ctx.locals[0] = state;
        return 'cw.sleep';
      },
    },
    {
      label: 'cw.reason',
      run: (ctx) => {
        const reason = ctx.mem[m.reasonOf(group)] ?? 0;
        if (reason !== ctx.ghost[ghost.claimedReason]) ctx.violate('cancel-reason', `read reason ${reason}, the cancellation was claimed with reason ${ctx.ghost[ghost.claimedReason] ?? 0}`);
        ctx.note(`signal aborts with reason ${reason}`);
        return END;
      },
    },
    {
      label: 'cw.sleep',
      run: (ctx) => {
        if (!ctx.wait(word, ctx.locals[0] ?? 0)) ctx.note('not-equal');
        ctx.locals[0] = 0;
        return 'cw.arm';
      },
    },
  ];
  return program('watch', [{ prefix: 'cw', steps }]);
}

/** Once every thread has ended, no cancel word is left half-written (naming a canceller). */
export function cancelInvariants(m: V3Memory): Invariant[] {
  return [
    {
      name: 'cancel-unfinished',
      check: (view) => {
        if (!view.threads.every((t) => t.status === 'finished' || t.status === 'dead')) return undefined;
        for (let g = 0; g < m.groups; g++) {
          const state = view.mem[m.cancelOf(g)] ?? 0;
          if (state !== CANCEL_NONE && state !== CANCEL_DONE) return `group ${g}'s cancel word is left claimed (${state}) by a thread that is gone`;
        }
        return undefined;
      },
    },
  ];
}
