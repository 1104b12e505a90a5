// What every scenario is parameterized by, and how one is registered for the CLI and the tests.
import type { Model, SleeperCheck } from './explorer.js';
import type { ThreadSpec } from './program.js';

/** The bounds of one exploration. */
export interface Scope {
  /** add()/done() pairs per worker. */
  readonly rounds: number;
  /** Most thread deaths in one run. */
  readonly deaths: number;
  /** How many of the workers may die (the first ones: A, then B). */
  readonly mortalWorkers: number;
  /** Sweepers started per ended worker (every thread holding the tree sweeps: 2 models a race of sweeps). */
  readonly sweepers: number;
  /** Whether a sweeper may itself die (it counts against `deaths`). */
  readonly mortalSweepers: boolean;
  /** Whether the first done() of the first worker fails (exercises the failure ordering). */
  readonly failures: boolean;
  /** Names of planted bugs to apply (mutations of the protocol). */
  readonly bugs: readonly string[];
  /** Names of proposed fixes to apply (changes to the protocol the model shows closing a hole). */
  readonly fixes: readonly string[];
}

/** A scenario the CLI and the tests can run. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** The scope of `npm run explore -- --scenario NAME`, and of the test. */
  readonly scope: Scope;
  /** The scope of `--deep`. */
  readonly deep: Scope;
  /** The scope of the vitest run, when smaller than `scope` (all of them must run in well under a minute). */
  readonly test?: Scope;
  /** Planted bugs it accepts, with what each should make the explorer report. */
  readonly bugs: Readonly<Record<string, string>>;
  /** Violations the scenario is known to have (a model of a protocol with a known hole); empty: none. */
  readonly known: readonly string[];
  /** Proposed fixes it accepts, with what each closes: with all of them, `known` must be empty. */
  readonly fixes: Readonly<Record<string, string>>;
  readonly build: (scope: Scope) => Model;
}

/** The usual scope: no death, one sweeper, one round. */
export const baseScope: Scope = { rounds: 1, deaths: 0, mortalWorkers: 2, sweepers: 1, mortalSweepers: false, failures: true, bugs: [], fixes: [] };

/** The thread asleep for ever is a lost wake-up if what it waits for holds, else a hang (units nobody completes). */
export function sleeperCheck(pending: (mem: readonly number[]) => number): SleeperCheck {
  return (view, sleeper) => {
    const units = pending(view.mem);
    return units === 0
      ? { name: 'lost-wakeup', message: `${sleeper.name} sleeps for ever at ${sleeper.label} though pending is 0` }
      : { name: 'hang', message: `${sleeper.name} sleeps for ever at ${sleeper.label}: pending is ${units} and no thread is left to complete it` };
  };
}

/**
 * Sweepers for each worker: started when it ends, dead or finished (the library sweeps after every
 * exit, since a thread may end holding tasks). `make(index)` builds the index-th sweeper of a worker.
 */
export function sweepersOf(workers: readonly ThreadSpec[], scope: Scope, make: (worker: ThreadSpec, index: number) => ThreadSpec): (ended: ThreadSpec) => readonly ThreadSpec[] {
  const byWorker = new Map<ThreadSpec, ThreadSpec[]>(workers.map((worker) => [worker, Array.from({ length: scope.sweepers }, (_, index) => make(worker, index))]));
  return (ended) => byWorker.get(ended) ?? [];
}
