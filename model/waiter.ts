// The wait loop (wait.ts waitSync over group.ts blocker() and outcome()), the same in protocol v2
// and v3 but for the words it reads. It carries the checks that need an instant, not a state: when
// it returns, the zero it last read must not have hidden a task whose add() had returned and whose
// units were not all taken; the failures it reports must include every failed completion that had
// lowered the count by the time it read that zero; and every failure counted must be readable.
import type { GhostLayout } from './ghost.js';
import { END, program, type Program, type Step, type StepContext } from './program.js';

/** How a protocol's waiter reads and flags its group's words. */
export interface WaitWords {
  /** The word it sleeps on. */
  readonly word: number;
  /** Pending units in the word's value. */
  count(value: number): number;
  /** flagWaiting(): sets the waiter flag in one atomic step; returns the value before. */
  flag(mem: number[]): number;
  /** The value to sleep on, after a flag that read `before`. */
  flagged(before: number): number;
  /** The group's failure count. */
  failed(mem: readonly number[]): number;
  /** Failures published in the log (a counted failure not yet published would be reported as omitted). */
  published?(mem: readonly number[]): number;
}

/** Waiter locals: the value it sleeps on, the task owed at its zero read (+ 1), the failed completions then, failures it read. */
const W_VALUE = 0;
const W_OWED = 1;
const W_FAILS = 2;
const W_FAILED = 3;

/** Initial locals of a waiter. */
export const waiterLocals = (): number[] => [0, 0, 0, 0];

/** The wait loop of one waiter on the group. */
export function waiter(ghost: GhostLayout, words: WaitWords): Program {
  const pendingNow = (ctx: StepContext): number => words.count(ctx.mem[words.word] ?? 0);
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
        if (pendingNow(ctx) !== 0) return undefined;
        ctx.locals[W_OWED] = ghost.owedTask(ctx.ghost) + 1;
        ctx.locals[W_FAILS] = ctx.ghost[ghost.failsLowered] ?? 0;
        return 'outcome';
      },
    },
    {
      // flagWaiting(): set the flag and learn, in the same atomic step, the value to sleep on.
      label: 'flag',
      run: (ctx) => {
        const before = words.flag(ctx.mem);
        if (words.count(before) === 0) return reset(ctx);
        ctx.locals[W_VALUE] = words.flagged(before);
        return undefined;
      },
    },
    {
      label: 'sleep',
      run: (ctx) => {
        if (!ctx.wait(words.word, ctx.locals[W_VALUE] ?? 0)) ctx.note('not-equal');
        return reset(ctx);
      },
    },
    {
      // outcome(): no failure ever recorded is a clean result at once.
      label: 'outcome',
      run: (ctx) => {
        const failed = words.failed(ctx.mem);
        if (failed === 0) return returns(ctx, 0);
        // collect(): the failures counted must be in the log, or the wait reports them as omitted.
        const published = words.published === undefined ? failed : words.published(ctx.mem);
        if (published < failed) ctx.violate('failure-unpublished', `${failed} failure(s) counted but ${published} published in the log`);
        ctx.locals[W_FAILED] = failed;
        return undefined;
      },
    },
    {
      // Failures were collected: pending again means RETRY; the zero read here is the one that counts.
      label: 'recheck',
      run: (ctx) => {
        if (pendingNow(ctx) !== 0) return reset(ctx);
        ctx.locals[W_OWED] = ghost.owedTask(ctx.ghost) + 1;
        return undefined;
      },
    },
    {
      label: 'resign',
      run: (ctx) => {
        const collected = ctx.locals[W_FAILED] ?? 0;
        return words.failed(ctx.mem) !== collected ? reset(ctx) : returns(ctx, collected);
      },
    },
  ];
  return program('wait', [{ prefix: 'wait', steps }]);
}
