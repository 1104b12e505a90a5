// Protocol v2's worker operations as explorer steps, one step per atomic access of the real code:
// host.ts add(), task.ts done() (takeOwn for a task never shared, take() by compare-and-exchange
// once shared), share() and Task.from()'s adopt(). Plain writes that the real code makes between
// two atomics (a slot's owner and ready words) are one step, made visible all at once: the model
// is sequentially consistent, so it does not see what a weaker ordering of those writes could do.
import type { GhostLayout } from '../ghost.js';
import type { Block, Step, StepContext } from '../program.js';
import { F, LAST_UNIT, P, PENDING_UNIT, gen, int32, lowerPending, owner, readyOf, ready, rem, state64, stateAfter, store64, type V2Bug } from './memory.js';

/** Worker locals: claim attempt, units just taken, scratch, spare slot + 1, then 4 words per task handle. */
export const L_ATTEMPT = 0;
export const L_TAKEN = 1;
export const L_SCRATCH = 2;
export const L_SPARE = 3;
const HANDLES_AT = 4;
/** A handle's words: slot + 1 (0: no task), generation, remaining units as last seen, 1 while own (never shared). */
const H_SLOT = 0;
const H_GEN = 1;
const H_REM = 2;
const H_OWN = 3;
const at = (h: number, field: number): number => HANDLES_AT + h * 4 + field;

/** Locals of a worker holding at most `handles` tasks at once. */
export const workerLocals = (handles: number): number[] => new Array<number>(HANDLES_AT + handles * 4).fill(0);

/** What the operations of one worker share. */
export interface Worker {
  /** The thread id written as a slot's owner (1, 2, ...). */
  readonly id: number;
  readonly slots: number;
  readonly ghost: GhostLayout;
  readonly bugs: ReadonlySet<V2Bug>;
}

const slotOf = (ctx: StepContext, h: number): number => (ctx.locals[at(h, H_SLOT)] ?? 0) - 1;

/** host.ts add(): claim a slot (this thread's spare first, then a scan), write its metadata, raise pending. */
export function add(w: Worker, p: string, k: number, h: number, count: number): Block[] {
  const checkThenStore = w.bugs.has('claim-check-then-store');
  const claimed = (ctx: StepContext, s: number): undefined => {
    ctx.mem[rem(s)] = count;
    ctx.locals[L_ATTEMPT] = 0;
    ctx.locals[at(h, H_SLOT)] = s + 1;
    ctx.ghost[w.ghost.slotTask(s)] = k + 1;
    ctx.ghost[w.ghost.units(k)] = count;
    ctx.ghost[w.ghost.holders(k)] = (ctx.ghost[w.ghost.holders(k)] ?? 0) | (1 << w.id);
    ctx.note(`task ${k} in slot ${s}`);
    return undefined;
  };
  const claim: Step = {
    label: `${p}.claim`,
    run: (ctx) => {
      // Attempt 0 tries the slot this thread freed last (Slots.#spare), attempts 1..n scan the arena.
      let attempt = ctx.locals[L_ATTEMPT] ?? 0;
      const spare = (ctx.locals[L_SPARE] ?? 0) - 1;
      if (attempt === 0) ctx.locals[L_SPARE] = 0;
      if (attempt === 0 && spare < 0) attempt = 1;
      const s = attempt === 0 ? spare : attempt - 1;
      // The compare-and-exchange of the remaining units, 0 -> count (or, planted bug, only its load).
      if (ctx.mem[rem(s)] === 0) {
        if (!checkThenStore) return claimed(ctx, s);
        ctx.locals[L_SCRATCH] = s + 1;
        return `${p}.store`;
      }
      ctx.locals[L_ATTEMPT] = attempt + 1;
      if (attempt + 1 <= w.slots) return `${p}.claim`;
      ctx.note('every slot taken: add() throws');
      ctx.locals[L_ATTEMPT] = 0;
      return `${p}.end`;
    },
  };
  const store: Step = {
    label: `${p}.store`,
    run: (ctx) => {
      const s = (ctx.locals[L_SCRATCH] ?? 0) - 1;
      ctx.locals[L_SCRATCH] = 0;
      return claimed(ctx, s);
    },
  };
  const publish: Step = {
    label: `${p}.publish`,
    run: (ctx) => {
      const s = slotOf(ctx, h);
      // A plain read of the generation: the claim read from the step that last wrote it.
      const g = ctx.mem[gen(s)] ?? 0;
      ctx.locals[at(h, H_GEN)] = g;
      ctx.locals[at(h, H_REM)] = count;
      ctx.locals[at(h, H_OWN)] = 1;
      ctx.mem[owner(s)] = w.id;
      ctx.mem[ready(s)] = readyOf(g);
    },
  };
  const raise: Step = {
    label: `${p}.raise`,
    run: (ctx) => {
      ctx.mem[P] = int32((ctx.mem[P] ?? 0) + count * PENDING_UNIT);
      // From here on the add has counted the task: a wait that returns must have seen it done.
      ctx.ghost[w.ghost.added(k)] = 1;
    },
  };
  return [{ prefix: p, steps: checkThenStore ? [claim, store, publish, raise] : [claim, publish, raise] }];
}

/** task.ts done(): take a unit (takeOwn or compare-and-exchange), record a failure, lower pending. */
export function done(w: Worker, p: string, h: number, failed: boolean): Block[] {
  const lower = `${p}.lower`;
  const take: Step = {
    label: `${p}.take`,
    run: (ctx) => {
      const s = slotOf(ctx, h);
      const left = ctx.locals[at(h, H_REM)] ?? 0;
      // No task (add() threw, or the message never came), or complete as this handle knows: false.
      if (s < 0 || left === 0) return `${lower}.end`;
      const own = ctx.locals[at(h, H_OWN)] === 1;
      // done() takes one unit.
      const taken = 1;
      if (own) {
        // Slots.takeOwn: no other handle exists, so no compare. The last unit: one 64-bit add that
        // zeroes the units and advances the generation; another: a 32-bit subtraction of the units.
        if (left === 1) store64(ctx.mem, s, state64(ctx.mem, s) + LAST_UNIT);
        else ctx.mem[rem(s)] = ((ctx.mem[rem(s)] ?? 0) - 1) >>> 0;
      } else {
        const g = ctx.locals[at(h, H_GEN)] ?? 0;
        const expected = (BigInt(g) << 32n) | BigInt(left);
        const current = state64(ctx.mem, s);
        if (current !== expected) {
          // The compare-and-exchange failed: retry with what it saw, unless the task is gone.
          const seen = Number(current & 0xffffffffn);
          ctx.locals[at(h, H_REM)] = Number(current >> 32n) === g ? seen : 0;
          ctx.note(`expected ${left} left, saw ${seen} (generation ${Number(current >> 32n)})`);
          return ctx.locals[at(h, H_REM)] === 0 ? `${lower}.end` : `${p}.take`;
        }
        store64(ctx.mem, s, stateAfter(current, taken, left));
      }
      ctx.locals[at(h, H_REM)] = left - taken;
      if (left === taken && ctx.locals[L_SPARE] === 0) ctx.locals[L_SPARE] = s + 1;
      const k = w.ghost.take(ctx.ghost, s, taken);
      ctx.locals[L_TAKEN] = taken;
      ctx.note(`took ${taken} of task ${k} in slot ${s}${own ? ' (own)' : ''}`);
      return undefined;
    },
  };
  const fail: Step = { label: `${p}.fail`, run: (ctx) => void (ctx.mem[F] = (ctx.mem[F] ?? 0) + 1) };
  const lowering = lowerPending(lower, L_TAKEN, L_SCRATCH, failed ? w.ghost.failsLowered : undefined, w.bugs);
  if (!failed) return [{ prefix: p, steps: [take] }, lowering];
  // recordIn() before lowerPending(): whoever wakes on the zero finds the failure (unless planted otherwise).
  if (w.bugs.has('lower-before-record')) return [{ prefix: p, steps: [take] }, lowering, { prefix: `${p}.rec`, steps: [fail] }];
  return [{ prefix: p, steps: [take, fail] }, lowering];
}

/** Task#share() and postMessage: the handle stops being own (takes by compare-and-exchange from now on). */
export function share(w: Worker, p: string, h: number): Block[] {
  const post: Step = {
    label: `${p}.post`,
    run: (ctx) => {
      ctx.locals[at(h, H_OWN)] = 0;
      ctx.ghost[w.ghost.mailFull] = 1;
      ctx.ghost[w.ghost.mailSlot] = ctx.locals[at(h, H_SLOT)] ?? 0;
      ctx.ghost[w.ghost.mailGeneration] = ctx.locals[at(h, H_GEN)] ?? 0;
      ctx.ghost[w.ghost.mailUnits] = ctx.locals[at(h, H_REM)] ?? 0;
    },
  };
  return [{ prefix: p, steps: [post] }];
}

/** Task.from(): receive the handle from thread `sender`, then adopt() it: check the state, store the owner. */
export function from(w: Worker, p: string, h: number, sender: number, k: number): Block[] {
  const receive: Step = {
    label: `${p}.receive`,
    enabled: (ctx) => w.ghost.mailReady(ctx, sender),
    run: (ctx) => {
      if (ctx.ghost[w.ghost.mailFull] !== 1) return `${p}.end`;
      ctx.locals[at(h, H_SLOT)] = ctx.ghost[w.ghost.mailSlot] ?? 0;
      ctx.locals[at(h, H_GEN)] = ctx.ghost[w.ghost.mailGeneration] ?? 0;
      ctx.locals[at(h, H_REM)] = ctx.ghost[w.ghost.mailUnits] ?? 0;
      ctx.ghost[w.ghost.holders(k)] = (ctx.ghost[w.ghost.holders(k)] ?? 0) | (1 << w.id);
      return undefined;
    },
  };
  // Slots.adopt(): a load, a check, then a separate store: the check may be stale by the store.
  const check: Step = {
    label: `${p}.adopt-load`,
    run: (ctx) => {
      const s = slotOf(ctx, h);
      const ok = s >= 0 && ctx.mem[gen(s)] === ctx.locals[at(h, H_GEN)] && ctx.mem[rem(s)] !== 0;
      ctx.note(ok ? `slot ${s} still holds the task` : 'task already complete');
      return ok ? undefined : `${p}.end`;
    },
  };
  const store: Step = { label: `${p}.adopt-store`, run: (ctx) => void (ctx.mem[owner(slotOf(ctx, h))] = w.id) };
  return [{ prefix: p, steps: [receive, check, store] }];
}
