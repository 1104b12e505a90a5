// Waiting over linked groups (group.ts blocker() and #snapshot(), wait.ts waitSync()): a wait
// returns only if, at one instant, the group and every group it links to had nothing pending.
// Reading each group's pending word in turn is no such instant: tasks that hand work back and
// forth between linked groups, each adding its successor in the other group before completing,
// keep each word at zero when it is read (the v2 finding). The library reads every word twice,
// each with its group's `added` (counters.ts addedOf(): the sum of the lanes' cells, which grows
// with every add() before it returns); equal sums and zero counts on both passes prove no add
// happened in between. The model reads each pending word and each cell in a step of its own.
import { PENDING_WAITED } from '../../src/memory/layout.js';
import type { GhostLayout } from '../ghost.js';
import { END, program, type GuardContext, type Program, type Step, type StepContext } from '../program.js';
import { countOf, type V3Memory } from './memory.js';

/** Link-waiter locals: pass (0, 1), the group and lane being read, the cell sum, still, the blocker, the value to sleep on, then each group's first-pass `added`. */
const L_PASS = 0;
const L_G = 1;
const L_LANE = 2;
const L_SUM = 3;
const L_STILL = 4;
const L_BLOCK = 5;
const L_VALUE = 6;
const L_ADDED = 7;

/** Initial locals of a link waiter over `groups` groups. */
export const linkWaiterLocals = (groups: number): number[] => [0, 0, 0, 0, 1, 0, 0, ...new Array<number>(groups).fill(0)];

/**
 * The wait loop of a thread waiting for `groups[0]`, which links to the others.
 * @param snapshot - false: the planted bug single-read, each pending word read once in turn (v2's blocker())
 * @param start - when the wait is called (e.g. once the first task's add() has returned)
 */
export function linkWaiter(m: V3Memory, ghost: GhostLayout, groups: readonly number[], snapshot: boolean, start: (ctx: GuardContext) => boolean): Program {
  const group = (ctx: StepContext): number => groups[ctx.locals[L_G] ?? 0] ?? 0;
  const reset = (ctx: StepContext): string => {
    ctx.locals.fill(0);
    ctx.locals[L_STILL] = 1;
    return 'lw.pending';
  };
  const returns = (ctx: StepContext): typeof END => {
    // The snapshot: an instant in the reads' window at which no task of any linked group was owed.
    const owed = ghost.owedTask(ctx.ghost);
    if (ctx.ghost[ghost.cleared] !== 1 && owed >= 0) ctx.violate('early-wake', `returned though at no instant since its first read were the linked groups all done: task ${owed} was owed throughout`);
    ctx.note('wait() resolves');
    return END;
  };
  const steps: Step[] = [
    { label: 'lw.start', enabled: start, run: () => undefined },
    {
      // pendingOf(): the count of one group's pending word.
      label: 'lw.pending',
      run: (ctx) => {
        if ((ctx.locals[L_PASS] ?? 0) === 0 && (ctx.locals[L_G] ?? 0) === 0) ctx.ghost[ghost.cleared] = ghost.owedTask(ctx.ghost) < 0 ? 1 : 0;
        const g = group(ctx);
        if (countOf(ctx.mem[m.pendingOf(g)] ?? 0) !== 0) {
          ctx.locals[L_BLOCK] = g;
          ctx.note(`group ${g} has work pending`);
          return 'lw.flag';
        }
        ctx.locals[L_SUM] = 0;
        ctx.locals[L_LANE] = 0;
        return snapshot ? 'lw.cell' : 'lw.advance';
      },
    },
    {
      // addedOf(): one lane's cell, a plain read each.
      label: 'lw.cell',
      run: (ctx) => {
        const lane = ctx.locals[L_LANE] ?? 0;
        ctx.locals[L_SUM] = (ctx.locals[L_SUM] ?? 0) + (ctx.mem[m.cellOf(group(ctx), lane)] ?? 0);
        ctx.locals[L_LANE] = lane + 1;
        if (lane + 1 < m.lanes) return 'lw.cell';
        ctx.locals[L_LANE] = 0;
        return undefined;
      },
    },
    {
      label: 'lw.advance',
      local: true,
      run: (ctx) => {
        const at = ctx.locals[L_G] ?? 0;
        const sum = ctx.locals[L_SUM] ?? 0;
        ctx.locals[L_SUM] = 0;
        if ((ctx.locals[L_PASS] ?? 0) === 0) ctx.locals[L_ADDED + at] = sum;
        else if (ctx.locals[L_ADDED + at] !== sum) ctx.locals[L_STILL] = 0;
        if (at + 1 < groups.length) {
          ctx.locals[L_G] = at + 1;
          return 'lw.pending';
        }
        if (!snapshot) return returns(ctx);
        if ((ctx.locals[L_PASS] ?? 0) === 0) {
          ctx.locals[L_PASS] = 1;
          ctx.locals[L_G] = 0;
          return 'lw.pending';
        }
        if (ctx.locals[L_STILL] === 1) return returns(ctx);
        ctx.note('an add() came in between: read again');
        return reset(ctx);
      },
    },
    {
      // flagWaiting() on the blocker: set the flag and learn, in the same atomic step, the value to sleep on.
      label: 'lw.flag',
      run: (ctx) => {
        const word = m.pendingOf(ctx.locals[L_BLOCK] ?? 0);
        const before = ctx.mem[word] ?? 0;
        ctx.mem[word] = Number(BigInt(before) | PENDING_WAITED);
        if (countOf(before) === 0) return reset(ctx);
        ctx.locals[L_VALUE] = Number(BigInt(before) | PENDING_WAITED);
        return undefined;
      },
    },
    {
      label: 'lw.sleep',
      run: (ctx) => {
        if (!ctx.wait(m.pendingOf(ctx.locals[L_BLOCK] ?? 0), ctx.locals[L_VALUE] ?? 0)) ctx.note('not-equal');
        return reset(ctx);
      },
    },
  ];
  return program('wait', [{ prefix: 'lw', steps }]);
}
