// Ghost words: bookkeeping that no thread of the library reads, kept beside the simulated memory so
// that invariants can say what *should* be true. Each task of a scenario (one add() call) has a
// number fixed when the scenario is written; the ghost words record, per task, how many units it
// was created with, how many were taken (by a done(), or by a sweep), whether its add() finished,
// and which threads held a handle of it. The same layout serves every protocol version.
import type { Invariant, StateView } from './explorer.js';
import type { GuardContext } from './program.js';

/** Index of each ghost word, for a scenario with `tasks` tasks and `slots` slots. */
export class GhostLayout {
  readonly tasks: number;
  readonly slots: number;
  /** Failed completions that have lowered the pending count (see the waiter's failure check). */
  readonly failsLowered = 0;
  /** A one-message mailbox between two threads (a `postMessage` of a shared task): full, slot, generation, units. */
  readonly mailFull = 1;
  readonly mailSlot = 2;
  readonly mailGeneration = 3;
  readonly mailUnits = 4;
  readonly #tasksAt = 5;
  /**
   * With `clears`, a word a waiter resets when it begins a snapshot (1 if no task is owed then,
   * else 0) and a take sets to 1 when it leaves no task owed: whether, since the waiter began,
   * there was an instant with nothing owed (see owedTask()). -1 when the layout has none.
   */
  readonly cleared: number;
  /** With `cancels`, the reason of the cancellation whose claim won (0: none yet); -1 when the layout has none. */
  readonly claimedReason: number;

  constructor(tasks: number, slots: number, clears = false, cancels = false) {
    this.tasks = tasks;
    this.slots = slots;
    this.cleared = clears ? this.#tasksAt + tasks * 4 + slots : -1;
    this.claimedReason = cancels ? this.#tasksAt + tasks * 4 + slots + (clears ? 1 : 0) : -1;
  }

  /** Units task `k` was created with (0 until its slot is claimed). */
  units(k: number): number {
    return this.#tasksAt + k * 4;
  }

  /** Units of task `k` taken so far, by anyone. More than `units` means a unit done twice. */
  taken(k: number): number {
    return this.#tasksAt + k * 4 + 1;
  }

  /** 1 once task `k`'s add() has counted it as pending: from then on a wait must wait for it. */
  added(k: number): number {
    return this.#tasksAt + k * 4 + 2;
  }

  /** Bit mask of the thread ids that hold a handle of task `k`: the threads a sweep may fail it for. */
  holders(k: number): number {
    return this.#tasksAt + k * 4 + 3;
  }

  /** Task number + 1 of the task that last claimed slot `s` (0: never claimed). */
  slotTask(s: number): number {
    return this.#tasksAt + this.tasks * 4 + s;
  }

  /** The initial ghost words. */
  initial(): number[] {
    return new Array<number>(this.#tasksAt + this.tasks * 4 + this.slots + (this.cleared >= 0 ? 1 : 0) + (this.claimedReason >= 0 ? 1 : 0)).fill(0);
  }

  /** A task added and not yet fully taken, or -1: what a waiter must not return while it exists. */
  owedTask(ghost: readonly number[]): number {
    for (let k = 0; k < this.tasks; k++) {
      if ((ghost[this.added(k)] ?? 0) !== 0 && (ghost[this.taken(k)] ?? 0) < (ghost[this.units(k)] ?? 0)) return k;
    }
    return -1;
  }

  /** Whether the message in the mailbox is there, or can never come (its sender ended first). */
  mailReady(ctx: GuardContext, sender: number): boolean {
    const status = ctx.threads[sender]?.status;
    return (ctx.ghost[this.mailFull] ?? 0) !== 0 || status === 'finished' || status === 'dead';
  }

  /** Counts `taken` units of whatever task holds slot `s` (a unit taken from a free slot counts against task -1). */
  take(ghost: number[], s: number, taken: number): number {
    const k = (ghost[this.slotTask(s)] ?? 0) - 1;
    if (k >= 0) ghost[this.taken(k)] = (ghost[this.taken(k)] ?? 0) + taken;
    if (this.cleared >= 0 && this.owedTask(ghost) < 0) ghost[this.cleared] = 1;
    return k;
  }
}

/** How invariants read a protocol's memory, whatever its layout. */
export interface MemoryReader {
  /** The pending units the waiters see (signed: a count lowered below zero shows negative). */
  pending(mem: readonly number[]): number;
  /** Remaining units of every occupied slot. */
  remaining(mem: readonly number[]): number[];
}

/** The invariants every protocol version must keep, in terms of the ghost words. */
export function invariants(ghost: GhostLayout): Invariant[] {
  return [
    {
      name: 'exactly-once',
      check: (view) => {
        for (let k = 0; k < ghost.tasks; k++) {
          const taken = view.ghost[ghost.taken(k)] ?? 0;
          const units = view.ghost[ghost.units(k)] ?? 0;
          if (taken > units) return `task ${k} had ${units} unit(s) and ${taken} were taken: a unit done twice`;
        }
        return undefined;
      },
    },
  ];
}

/** What must hold once nothing can move: every unit done once, the pending count exact, no slot leaked. */
export function quiescentInvariants(ghost: GhostLayout, memory: MemoryReader): Invariant[] {
  const ended = (view: StateView): boolean => view.threads.every((t) => t.status === 'finished' || t.status === 'dead');
  return [
    {
      name: 'pending-exact',
      check: (view) => {
        const live = memory.remaining(view.mem).reduce((a, b) => a + b, 0);
        const pending = memory.pending(view.mem);
        return pending === live ? undefined : `pending is ${pending} but the occupied slots hold ${live} unit(s)`;
      },
    },
    {
      name: 'every-unit-done',
      check: (view) => {
        if (!ended(view)) return undefined;
        for (let k = 0; k < ghost.tasks; k++) {
          const taken = view.ghost[ghost.taken(k)] ?? 0;
          const units = view.ghost[ghost.units(k)] ?? 0;
          if (taken < units) return `every thread has ended (and been swept) but task ${k} has ${units - taken} unit(s) never done: its slot leaks`;
        }
        return undefined;
      },
    },
  ];
}
