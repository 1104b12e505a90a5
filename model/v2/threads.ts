// Protocol v2's waiter (wait.ts waitSync over group.ts blocker()/outcome()) and sweeper (exits.ts
// sweep()), as explorer programs. The waiter carries the instant checks: when it returns, the zero
// it last read must not have hidden a counted task, and the failures it reports must include every
// failed completion that had lowered the count by the time it read that zero.
import type { GhostLayout } from '../ghost.js';
import { END, program, type Program, type Step, type StepContext } from '../program.js';
import { F, P, PENDING_WAITED, gen, lowerPending, owner, readyOf, ready, rem, state64, store64, type V2Bug } from './memory.js';

/** Waiter locals: the value it sleeps on, the task owed at its zero read (+ 1), the failed completions then, failures it read. */
const W_VALUE = 0;
const W_OWED = 1;
const W_FAILS = 2;
const W_FAILED = 3;
export const waiterLocals = (): number[] => [0, 0, 0, 0];

/** The wait loop of one waiter on the group. */
export function waiter(ghost: GhostLayout): Program {
  const sawZero = (ctx: StepContext): void => {
    ctx.locals[W_OWED] = ghost.owedTask(ctx.ghost) + 1;
    ctx.locals[W_FAILS] = ctx.ghost[ghost.failsLowered] ?? 0;
  };
  const reset = (ctx: StepContext): string => {
    ctx.locals.fill(0);
    return 'blocker';
  };
  const returns = (ctx: StepContext, failures: number): typeof END => {
    const owed = (ctx.locals[W_OWED] ?? 0) - 1;
    if (owed >= 0) ctx.violate('early-wake', `returned on a zero while task ${owed} was counted and not done`);
    const lowered = ctx.locals[W_FAILS] ?? 0;
    if (failures < lowered) ctx.violate('failure-order', `reports ${failures} failure(s), but ${lowered} failed completion(s) had lowered the count it saw at zero`);
    ctx.note(failures === 0 ? 'wait() resolves' : `wait() rejects with ${failures} failure(s)`);
    return END;
  };
  const steps: Step[] = [
    {
      label: 'blocker',
      run: (ctx) => {
        if ((ctx.mem[P] ?? 0) >>> 1 !== 0) return undefined;
        sawZero(ctx);
        return 'outcome';
      },
    },
    {
      // flagWaiting(): set the flag and learn, in the same atomic step, the value to sleep on.
      label: 'flag',
      run: (ctx) => {
        const before = ctx.mem[P] ?? 0;
        ctx.mem[P] = before | PENDING_WAITED;
        if (before >>> 1 === 0) return reset(ctx);
        ctx.locals[W_VALUE] = before | PENDING_WAITED;
        return undefined;
      },
    },
    {
      label: 'sleep',
      run: (ctx) => {
        const slept = ctx.wait(P, ctx.locals[W_VALUE] ?? 0);
        if (!slept) ctx.note('not-equal');
        return reset(ctx);
      },
    },
    {
      // outcome(): no failure ever recorded is a clean result at once.
      label: 'outcome',
      run: (ctx) => {
        const failed = ctx.mem[F] ?? 0;
        if (failed === 0) return returns(ctx, 0);
        ctx.locals[W_FAILED] = failed;
        return undefined;
      },
    },
    {
      // Failures were collected: pending again means RETRY; the zero read here is the one that counts.
      label: 'recheck',
      run: (ctx) => {
        if ((ctx.mem[P] ?? 0) >>> 1 !== 0) return reset(ctx);
        ctx.locals[W_OWED] = ghost.owedTask(ctx.ghost) + 1;
        return undefined;
      },
    },
    {
      label: 'resign',
      run: (ctx) => (ctx.mem[F] !== ctx.locals[W_FAILED] ? reset(ctx) : returns(ctx, ctx.locals[W_FAILED] ?? 0)),
    },
  ];
  return program('wait', [{ prefix: 'wait', steps }]);
}

/** Sweeper locals: slot scanned, its generation and units as snapshot, units taken, scratch. */
const S_SLOT = 0;
const S_GEN = 1;
const S_REM = 2;
const S_TAKEN = 3;
const S_SCRATCH = 4;
export const sweeperLocals = (): number[] => [0, 0, 0, 0, 0];

/** exits.ts sweep() after the end of thread `dead` (id written as slot owner): fail and complete what it owns. */
export function sweeper(dead: number, slots: number, ghost: GhostLayout, bugs: ReadonlySet<V2Bug>): Program {
  const scan: Step = {
    label: 'scan',
    run: (ctx) => {
      const s = ctx.locals[S_SLOT] ?? 0;
      const g = ctx.mem[gen(s)] ?? 0;
      const r = ctx.mem[rem(s)] ?? 0;
      // Slots.#snapshot (its four reads made one step) and the filter on the owner.
      if (r === 0 || ctx.mem[ready(s)] !== readyOf(g) || ctx.mem[owner(s)] !== dead) return 'next';
      ctx.locals[S_GEN] = g;
      ctx.locals[S_REM] = r;
      ctx.note(`slot ${s}: ${r} unit(s) of thread ${dead}`);
      return undefined;
    },
  };
  const take: Step = {
    label: 'take',
    run: (ctx) => {
      const s = ctx.locals[S_SLOT] ?? 0;
      const g = ctx.locals[S_GEN] ?? 0;
      const left = ctx.locals[S_REM] ?? 0;
      const current = state64(ctx.mem, s);
      if (current !== ((BigInt(g) << 32n) | BigInt(left))) {
        const seen = Number(current & 0xffffffffn);
        if (seen === 0 || Number(current >> 32n) !== g) return 'next';
        ctx.locals[S_REM] = seen;
        return 'take';
      }
      // take(..., Infinity): every unit left, the generation advanced.
      store64(ctx.mem, s, current - BigInt(left) + 0x1_0000_0000n);
      const k = ghost.take(ctx.ghost, s, left);
      ctx.locals[S_TAKEN] = left;
      if (k >= 0 && ((ctx.ghost[ghost.holders(k)] ?? 0) & (1 << dead)) === 0) {
        ctx.violate('wrong-owner-swept', `took task ${k} in slot ${s}, which thread ${dead} never held`);
      }
      ctx.note(`took ${left} of task ${k}`);
      return undefined;
    },
  };
  const fail: Step = { label: 'fail', run: (ctx) => void (ctx.mem[F] = (ctx.mem[F] ?? 0) + 1) };
  const next: Step = {
    label: 'next',
    local: true,
    run: (ctx) => {
      const s = (ctx.locals[S_SLOT] ?? 0) + 1;
      ctx.locals.fill(0);
      ctx.locals[S_SLOT] = s;
      return s >= slots ? END : 'scan';
    },
  };
  return program(`sweep(t${dead})`, [
    { prefix: 'sweep', steps: [scan, take, fail] },
    lowerPending('sweep.lower', S_TAKEN, S_SCRATCH, ghost.failsLowered, bugs),
    { prefix: 'sweep.loop', steps: [next] },
  ]);
}
