// go() under `limit` (host.ts GroupHost#acquireRunning, releaseRunning; limit.ts untilReleased):
// a task takes one of its group's running slots by a compare-and-exchange on H_RUNNING that adds
// one and flips the lane's bit (OP_LIMIT phase 0 journaled before it), then marks its slot
// SLOT_LIMITED; its completion gives the slot back (PHASE_LIMIT) and wakes the threads asleep until
// a release. A thread that finds no slot free counts itself in H_LIMIT_WAITERS, reads the running
// word again and sleeps on it. Recovery (recoveryPlan's `release`, `running`, `unmark`) as steps.
import { OP_LIMIT, OP_NONE, PHASE_LIMIT, SLOT_LIMITED, step, stepOp } from '../../src/memory/layout.js';
import { remainingOf } from '../../src/memory/slots.js';
import type { Invariant } from '../explorer.js';
import type { Block, Step, StepContext } from '../program.js';
import { J_GROUP, J_SLOT, J_STEP, countOf, ownerLane, type V3Memory } from './memory.js';
import type { RecoverHooks } from './recover.js';
import { O_CUR, O_PARITY, OWN_AT, laned, wakeLimitWaiters } from './steps.js';
import type { Worker } from './ops.js';

/**
 * Task#acquireLimit() for the task in handle `h` (its slot is the handle's), retried after
 * untilReleased() until a running slot is free: GroupHost#acquireRunning.
 */
export function acquire(w: Worker, p: string, h: number, limit: number): Block[] {
  const bugs = w.bugs;
  const { m, lane } = w;
  const group = w.group ?? 0;
  const running = m.runningOf(group);
  const j = (field: number): number => m.journal(lane, field);
  const slot = (ctx: StepContext): number => ctx.locals[OWN_AT + h * 5] ?? -1;
  const journal: Step = {
    label: `${p}.journal`,
    run: (ctx) => {
      const parity = m.parity(lane, ctx.mem[running] ?? 0);
      ctx.locals[O_PARITY] = parity;
      ctx.mem[j(J_GROUP)] = group;
      ctx.mem[j(J_SLOT)] = slot(ctx);
      ctx.mem[j(J_STEP)] = step(OP_LIMIT, 0, 0, parity);
    },
  };
  const load: Step = {
    label: `${p}.load`,
    run: (ctx) => {
      const value = ctx.mem[running] ?? 0;
      if (countOf(value) >= limit) return `${p}.full`;
      ctx.locals[O_CUR] = value;
      return undefined;
    },
  };
  const cas: Step = {
    label: `${p}.cas`,
    run: (ctx) => {
      const seen = ctx.mem[running] ?? 0;
      if (seen !== ctx.locals[O_CUR] && !bugs.has('limit-check-then-add')) return `${p}.load`;
      const up = bugs.has('limit-no-lane-bit') ? 1n << 32n : (m.lane[lane]?.delta(1, ctx.locals[O_PARITY] === 1 ? 1 : 0) ?? 0n);
      ctx.mem[running] = Number(BigInt(seen) + up);
      ctx.locals[O_CUR] = 0;
      ctx.locals[O_PARITY] = 0;
      ctx.note(`running slot taken (${countOf(ctx.mem[running] ?? 0)} of ${limit})`);
      return undefined;
    },
  };
  const mark: Step = { label: `${p}.mark`, run: (ctx) => void (ctx.mem[m.slotFlags(slot(ctx))] = (ctx.mem[m.slotFlags(slot(ctx))] ?? 0) | SLOT_LIMITED) };
  const none: Step = {
    label: `${p}.none`,
    private: true,
    run: (ctx) => {
      ctx.mem[j(J_STEP)] = OP_NONE;
      return `${p}.end`;
    },
  };
  // No slot free: acquireRunning() returns false (journal cleared), then untilReleased().
  const full: Step = {
    label: `${p}.full`,
    private: true,
    run: (ctx) => {
      ctx.mem[j(J_STEP)] = OP_NONE;
      ctx.locals[O_CUR] = 0;
      ctx.locals[O_PARITY] = 0;
    },
  };
  const queue: Step = { label: `${p}.queue`, run: (ctx) => void (ctx.mem[m.limitWaitersOf(group)] = (ctx.mem[m.limitWaitersOf(group)] ?? 0) + 1) };
  const reread: Step = {
    label: `${p}.reread`,
    run: (ctx) => {
      const value = ctx.mem[running] ?? 0;
      if (countOf(value) < limit) return `${p}.unqueue`;
      ctx.locals[O_CUR] = value;
      return undefined;
    },
  };
  const sleep: Step = {
    label: `${p}.sleep`,
    run: (ctx) => {
      if (!ctx.wait(running, ctx.locals[O_CUR] ?? 0)) ctx.note('not-equal');
      ctx.locals[O_CUR] = 0;
    },
  };
  const unqueue: Step = {
    label: `${p}.unqueue`,
    run: (ctx) => {
      ctx.mem[m.limitWaitersOf(group)] = (ctx.mem[m.limitWaitersOf(group)] ?? 0) - 1;
      return `${p}.journal`;
    },
  };
  return [{ prefix: p, steps: [journal, load, cas, mark, none, full, queue, reread, sleep, unqueue] }];
}

/** recover()'s limit actions, and the `marked` fact of OP_LIMIT phase 0, as steps. */
export function limitRecovery(noRunningWake = false): RecoverHooks {
  return {
    noRunningWake,
    limit: (m, dead, group) => {
      // The operation the dead lane's journal names (recovery moves its phase and level, never its op).
      const op = (ctx: StepContext): number => stepOp(ctx.mem[m.journal(dead(ctx), J_STEP)] ?? 0);
      // `release`: PHASE_LIMIT of the dead lane's completion; `running`: OP_LIMIT phase 1.
      const release = laned(m, 'ra.release', (ctx) => m.runningOf(group(ctx)), { lane: dead, op, phase: PHASE_LIMIT }, () => -1, undefined, false);
      const running = laned(m, 'ra.running', (ctx) => m.runningOf(group(ctx)), { lane: dead, op: () => OP_LIMIT, phase: 1 }, () => -1, undefined, false);
      const unmark: Step = {
        label: 'ra.unmark',
        run: (ctx) => {
          const s = ctx.mem[m.journal(dead(ctx), J_SLOT)] ?? 0;
          if (ownerLane(ctx.mem[m.owner(s)] ?? 0) === dead(ctx) + 1) ctx.mem[m.slotFlags(s)] = (ctx.mem[m.slotFlags(s)] ?? 0) & ~SLOT_LIMITED;
          return 'rec.next';
        },
      };
      const back: Step = { label: 'ra.limit-done', local: true, run: () => 'rec.next' };
      return [
        release,
        { prefix: 'ra.release-wake', steps: wakeLimitWaiters(m, 'ra.release-wake', group) },
        { prefix: 'ra.release-back', steps: [{ ...back, label: 'ra.release-done' }] },
        running,
        { prefix: 'ra.running-wake', steps: wakeLimitWaiters(m, 'ra.running-wake', group) },
        { prefix: 'ra.running-back', steps: [back] },
        { prefix: 'ra.wake-running', steps: wakeLimitWaiters(m, 'ra.wake-running', group) },
        { prefix: 'ra.wake-running-back', steps: [{ ...back, label: 'ra.wake-running-done' }] },
        { prefix: 'ra.unmarking', steps: [unmark] },
      ];
    },
    marked: (ctx, m, lane, s) => s >= 0 && ((ctx.mem[m.slotFlags(s)] ?? 0) & SLOT_LIMITED) !== 0 && ownerLane(ctx.mem[m.owner(s)] ?? 0) === lane + 1,
  };
}

/**
 * At every state, no group runs more than `limit` functions (nor fewer than none); at
 * quiescence, its running count is the number of its live tasks that hold a running slot.
 */
export function limitInvariants(m: V3Memory, limit: number): { always: Invariant[]; quiescent: Invariant[] } {
  return {
    always: [
      {
        name: 'limit-exceeded',
        check: (view) => {
          for (let g = 0; g < m.groups; g++) {
            const n = countOf(view.mem[m.runningOf(g)] ?? 0);
            if (n > limit || n < 0) return `group ${g} counts ${n} running, its limit is ${limit}`;
          }
          return undefined;
        },
      },
    ],
    quiescent: [
      {
        name: 'running-exact',
        check: (view) => {
          for (let g = 0; g < m.groups; g++) {
            let held = 0;
            for (let s = 0; s < m.slots; s++) {
              const live = remainingOf(BigInt(view.mem[m.state(s)] ?? 0)) > 0;
              if (live && (view.mem[m.slotGroup(s)] ?? 0) === g && ((view.mem[m.slotFlags(s)] ?? 0) & SLOT_LIMITED) !== 0) held++;
            }
            const n = countOf(view.mem[m.runningOf(g)] ?? 0);
            if (n !== held) return `group ${g} counts ${n} running, ${held} live task(s) hold a running slot`;
          }
          return undefined;
        },
      },
    ],
  };
}
