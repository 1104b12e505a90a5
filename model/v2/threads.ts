// Protocol v2's sweeper (exits.ts sweep()) as an explorer program, and the words its waiter reads.
import type { GhostLayout } from '../ghost.js';
import { END, program, type Program, type Step } from '../program.js';
import type { WaitWords } from '../waiter.js';
import { F, P, PENDING_WAITED, gen, lowerPending, owner, readyOf, ready, rem, state64, store64, type V2Bug } from './memory.js';

/** What a v2 waiter reads: the Int32 pending word (units * 2 + flag) and H_FAILED. */
export const v2WaitWords: WaitWords = {
  word: P,
  count: (value) => value >>> 1,
  flag: (mem) => {
    const before = mem[P] ?? 0;
    mem[P] = before | PENDING_WAITED;
    return before;
  },
  flagged: (before) => before | PENDING_WAITED,
  failed: (mem) => mem[F] ?? 0,
};

/** Sweeper locals: slot scanned, its generation and units as snapshot, units taken, scratch. */
const S_SLOT = 0;
const S_GEN = 1;
const S_REM = 2;
const S_TAKEN = 3;
const S_SCRATCH = 4;
/** Initial locals of a sweeper. */
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
