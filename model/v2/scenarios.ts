// Scenarios of protocol v2 (commit 6cab03b): two workers adding and completing tasks under one
// waiter, the same with deaths, and the Task.from() adopt race against the reuse of a slot.
import type { Model } from '../explorer.js';
import { GhostLayout, invariants, quiescentInvariants } from '../ghost.js';
import { program, type Block, type ThreadSpec } from '../program.js';
import { baseScope, sleeperCheck, sweepersOf, type Scenario, type Scope } from '../scope.js';
import { describe, memory, pendingUnits, rem, type V2Bug } from './memory.js';
import { add, done, from, share, workerLocals, type Worker } from './ops.js';
import { waiter, waiterLocals } from '../waiter.js';
import { sweeper, sweeperLocals, v2WaitWords } from './threads.js';

const SLOTS = 2;
const NAMES = ['A', 'B'];

const BUGS: Readonly<Record<V2Bug, string>> = {
  'claim-check-then-store': 'exactly-once',
  'lower-before-record': 'failure-order',
  'split-flag-check': 'lost-wakeup',
};

function bugsOf(scope: Scope): Set<V2Bug> {
  const bugs = new Set<V2Bug>();
  for (const bug of scope.bugs) {
    if (!(bug in BUGS)) throw new Error(`protocol v2 has no planted bug ${bug}; try ${Object.keys(BUGS).join(', ')}`);
    bugs.add(bug as V2Bug);
  }
  return bugs;
}

/** The model around some worker programs: a waiter, sweepers after every worker's end, the invariants. */
function assemble(name: string, scope: Scope, ghost: GhostLayout, workers: readonly ThreadSpec[], bugs: ReadonlySet<V2Bug>): Model {
  const wait: ThreadSpec = { name: 'wait', program: waiter(ghost, v2WaitWords), locals: waiterLocals(), mortal: false };
  const reader = { pending: pendingUnits, remaining: (mem: readonly number[]) => Array.from({ length: SLOTS }, (_, s) => mem[rem(s)] ?? 0) };
  return {
    name,
    memory: memory(SLOTS),
    ghost: ghost.initial(),
    threads: [...workers, wait],
    maxDeaths: scope.deaths,
    onEnd: sweepersOf(workers, scope, (worker, index) => ({
      name: `sweep(${worker.name})${index > 0 ? `#${index + 1}` : ''}`,
      program: sweeper(NAMES.indexOf(worker.name) + 1, SLOTS, ghost, bugs),
      locals: sweeperLocals(),
      mortal: scope.mortalSweepers,
    })),
    invariants: invariants(ghost),
    quiescent: quiescentInvariants(ghost, reader),
    sleeper: sleeperCheck(pendingUnits),
    describe: (view) => describe(view.mem, SLOTS, NAMES),
  };
}

function addDone(scope: Scope): Model {
  const bugs = bugsOf(scope);
  const ghost = new GhostLayout(2 * scope.rounds, SLOTS);
  const workers = NAMES.map((name, index): ThreadSpec => {
    const w: Worker = { id: index + 1, slots: SLOTS, ghost, bugs };
    const blocks: Block[] = [];
    for (let round = 0; round < scope.rounds; round++) {
      const k = index * scope.rounds + round;
      blocks.push(...add(w, `add${round}`, k, 0, 1), ...done(w, `done${round}`, 0, scope.failures && k === 0));
    }
    return { name, program: program(name, blocks), locals: workerLocals(1), mortal: index < scope.mortalWorkers };
  });
  return assemble('v2-add-done', scope, ghost, workers, bugs);
}

/**
 * A adds task 0, shares it with B, completes it, then adds task 1 (into the slot it just freed) and
 * completes that. B rebuilds task 0 (Task.from: adopt), completes it if it still can, and ends, so
 * its exit sweep runs. adopt()'s check and store are two steps: between them task 0 may complete and
 * task 1 take its slot, so B becomes the owner of A's task 1 and B's exit sweep fails it.
 */
function adoptRace(scope: Scope): Model {
  const bugs = bugsOf(scope);
  const ghost = new GhostLayout(2, SLOTS);
  const a: Worker = { id: 1, slots: SLOTS, ghost, bugs };
  const b: Worker = { id: 2, slots: SLOTS, ghost, bugs };
  const first = [...add(a, 'add0', 0, 0, 1), ...share(a, 'share0', 0), ...done(a, 'done0', 0, false)];
  const second = [...add(a, 'add1', 1, 0, 1), ...done(a, 'done1', 0, false)];
  const workers: ThreadSpec[] = [
    { name: 'A', program: program('A', [...first, ...second]), locals: workerLocals(1), mortal: scope.mortalWorkers > 0 },
    { name: 'B', program: program('B', [...from(b, 'from0', 0, 0, 0), ...done(b, 'done0', 0, false)]), locals: workerLocals(1), mortal: scope.mortalWorkers > 1 },
  ];
  return assemble('v2-adopt', scope, ghost, workers, bugs);
}

/** The v2 scenarios. */
export const v2Scenarios: readonly Scenario[] = [
  {
    name: 'v2-add-done',
    description: 'v2: workers A and B each add() and done() a task (A\'s first fails) while a thread waits; no death',
    scope: baseScope,
    deep: { ...baseScope, rounds: 2 },
    bugs: BUGS,
    known: [],
    fixes: {},
    build: addDone,
  },
  {
    name: 'v2-death',
    description: 'v2: as v2-add-done, and one worker may die at any step (then it is swept)',
    scope: { ...baseScope, deaths: 1 },
    deep: { ...baseScope, rounds: 2, deaths: 1 },
    bugs: {},
    // Death between publishing a slot and raising pending: the sweep lowers a count never raised
    // (early-wake). Death between taking a unit and lowering pending: the count never comes down
    // (hang, pending-exact). Death between lowering the count to zero and the notify: the waiter
    // is never woken (lost-wakeup). Death between claiming a slot and publishing it: no sweep sees
    // the task, whose slot leaks (every-unit-done, pending-exact).
    known: ['early-wake', 'hang', 'pending-exact', 'every-unit-done', 'lost-wakeup'],
    fixes: {},
    build: (scope) => ({ ...addDone(scope), name: 'v2-death' }),
  },
  {
    name: 'v2-adopt',
    description: 'v2: Task.from() adopts a task while its slot is freed and reused; the adopter\'s exit sweep fails the wrong task',
    scope: baseScope,
    deep: { ...baseScope, sweepers: 2 },
    bugs: {},
    known: ['wrong-owner-swept'],
    fixes: {},
    build: adoptRace,
  },
];
