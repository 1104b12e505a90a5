// Scenarios of protocol v3 (docs/protocol.md): the v2 scenarios again (two workers under one
// waiter, with deaths, and the adopt race), plus a shared task taken by two threads while one may
// die, and a sweeper that dies mid-sweep and is resumed by the sweeper of its own entry.
import { CANCEL_DONE, LOG_READY, PENDING_WAITED } from '../../src/memory/layout.js';
import { liveOwner } from '../../src/memory/registry.js';
import { generationOf, remainingOf } from '../../src/memory/slots.js';
import type { Invariant, Model, StateView } from '../explorer.js';
import { GhostLayout, invariants, quiescentInvariants } from '../ghost.js';
import { program, type Block, type Program, type ThreadSpec } from '../program.js';
import { baseScope, sleeperCheck, type Scenario, type Scope } from '../scope.js';
import { waiter, waiterLocals, type WaitWords } from '../waiter.js';
import { J_OWNER, V3Memory, countOf, describe, ownerGeneration, ownerLane } from './memory.js';
import { add, done, from, share, workerLocals, type V3Bug, type Worker } from './ops.js';
import { W_CUR } from './recover.js';
import { linkWaiter, linkWaiterLocals } from './links.js';
import { acquire, limitInvariants, limitRecovery } from './limit.js';
import { cancel, cancelInvariants, cancelWatcher } from './cancel.js';
import { sweeper, sweeperLocals, threadOf } from './sweep.js';


const BUGS: Readonly<Record<V3Bug, string>> = {
  'limit-check-then-add': 'limit-exceeded',
  'limit-no-lane-bit': 'running-exact',
  'no-recover-running-wake': 'lost-wakeup',
  'reason-after-claim': 'cancel-reason',
  'no-finish-cancel': 'hang',
  'no-lane-bit': 'pending-exact',
  'take-before-journal': 'hang',
  'adopt-check-then-store': 'owned-by-holder',
  'no-resume': 'entry-leak',
  'no-recover-wake': 'lost-wakeup',
  'release-any-empty': 'owned-by-holder',
  'no-level': 'pending-exact',
  'recover-own-level': 'pending-exact',
  'no-wake-cancel-done': 'lost-wakeup',
};

/** Proposed fixes to holes the model found that this branch may not fix in src/ itself. */
const FIXES: Readonly<Record<string, string>> = {};

/** The workers' programs (A, B, ...), given their Worker records (lanes 0, 1, ...). */
type Programs = (workers: readonly Worker[], scope: Scope) => Block[][];

/** What a scenario is made of. */
interface Shape {
  /** Tasks (add() calls) of the programs. */
  readonly tasks: number;
  /**
   * done() calls of the programs that fail: each stages a log entry, as does each sweep of a dead
   * thread's task (one per death at most here), so the log never runs out.
   */
  readonly failing: number;
  readonly programs: Programs;
  /** Workers (default 2) and slots (default 2). */
  readonly workers?: number;
  readonly slots?: number;
  /** Whether a thread waits for the group (default true). */
  readonly waiter?: boolean;
  /** Groups (`parents[g]`, -1 for the root 0; default one group) and each worker's group (default the root). */
  readonly parents?: readonly number[];
  readonly groups?: readonly number[];
  /** Each task's group, for added-exact (default: the group of the worker whose program adds it, rounds tasks each). */
  readonly taskGroups?: readonly number[];
  /** Task handles per worker (default 1): a death may leave that many tasks for its sweep to fail, each with a log entry. */
  readonly handles?: number;
  /** The groups' `limit` (default none): then the sweep carries out recovery's limit actions, and running counts are checked. */
  readonly limit?: number;
  /** Whether the programs cancel groups: the sweep finishes half-written cancellations, and the cancel words are checked. */
  readonly cancels?: boolean;
  /** The waiting thread's program and locals, instead of a waiter on the root (`clears`: the ghost tracks instants with nothing owed). */
  readonly waitFor?: { readonly program: (m: V3Memory, ghost: GhostLayout) => Program; readonly locals: readonly number[]; readonly clears?: boolean };
}

/** Builds a v3 model: the workers, a waiter, and sweepers (with lanes of their own) after every end. */
function build(name: string, scope: Scope, shape: Shape): Model {
  const { tasks, failing, programs } = shape;
  const workerCount = shape.workers ?? 2;
  const SLOTS = shape.slots ?? 2;
  const entries = failing + scope.deaths * (shape.handles ?? 1);
  const bugs = new Set<V3Bug>();
  for (const bug of scope.bugs) {
    if (bug === 'single-read' && shape.waitFor !== undefined) continue;
    if (!(bug in BUGS)) throw new Error(`protocol v3 has no planted bug ${bug}; try ${Object.keys(BUGS).join(', ')}`);
    bugs.add(bug as V3Bug);
  }
  for (const fix of scope.fixes) {
    if (!(fix in FIXES)) throw new Error(`protocol v3 has no proposed fix ${fix} open`);
  }
  // Lanes: A, B, then the sweepers of each, then (if sweepers may die) the sweepers of those.
  const names = ['A', 'B', 'C'].slice(0, workerCount);
  const sweeperOf = new Map<number, number[]>();
  const addSweepers = (dead: number, depth: number): void => {
    const lanes = Array.from({ length: scope.sweepers }, (_, i) => names.push(`S${names[dead] ?? dead}${scope.sweepers > 1 ? i + 1 : ''}`) - 1);
    sweeperOf.set(dead, lanes);
    if (scope.mortalSweepers && depth < scope.deaths) for (const lane of lanes) addSweepers(lane, depth + 1);
  };
  for (let lane = 0; lane < workerCount; lane++) addSweepers(lane, 1);
  const m = new V3Memory(names.length, SLOTS, entries, shape.parents ?? [-1]);
  const groupOf = (lane: number): number => shape.groups?.[lane] ?? 0;
  const taskGroups = shape.taskGroups ?? Array.from({ length: tasks }, (_, k) => groupOf(Math.floor(k / scope.rounds)));
  const ghost = new GhostLayout(tasks, SLOTS, shape.waitFor?.clears === true, shape.cancels === true);
  const sweeperLanes = new Set([...sweeperOf.values()].flat());
  const specs = new Map<number, ThreadSpec>();
  const spec = (lane: number, make: () => ThreadSpec): ThreadSpec => {
    const known = specs.get(lane) ?? make();
    specs.set(lane, known);
    return known;
  };
  const sweeperSpec = (dead: number, lane: number): ThreadSpec =>
    spec(lane, () => ({
      name: names[lane] ?? `l${lane}`,
      program: sweeper(m, ghost, dead, lane, sweeperLanes, bugs, { ...(shape.limit === undefined ? {} : limitRecovery(bugs.has('no-recover-running-wake'))), cancels: shape.cancels === true && !bugs.has('no-finish-cancel'), wakeCancelled: !bugs.has('no-wake-cancel-done') }),
      locals: sweeperLocals(),
      // A sweeper may die only if the scope has a sweeper for it in turn, and once it has claimed
      // the dead entry: one that dies before leaves the sweep to the other threads that got the
      // exit notice, which the scope does not model (--sweepers 2 does).
      mortal: sweeperOf.has(lane) ? (locals) => (locals[W_CUR] ?? -1) >= 0 : false,
      // Its own journal, and the journal of the entry it has claimed and sweeps.
      owns: (word, locals) => m.ownedBy(lane, word) || ((locals[W_CUR] ?? -1) >= 0 && m.ownedBy(locals[W_CUR] ?? 0, word)),
    }));
  const records = Array.from({ length: workerCount }, (_, lane): Worker => ({ m, ghost, lane, bugs, group: groupOf(lane) }));
  const workers = programs(records, scope).map((blocks, lane) => {
    const name = names[lane] ?? `l${lane}`;
    return spec(lane, () => ({ name, program: program(name, blocks), locals: workerLocals(shape.handles ?? 1), mortal: lane < scope.mortalWorkers, owns: (word) => m.ownedBy(lane, word) }));
  });
  if (workers.length !== workerCount) throw new Error(`${name}: ${workers.length} programs for ${workerCount} workers`);
  const laneOf = new Map([...specs.entries()].map(([lane, s]) => [s, lane]));
  const limits = shape.limit === undefined ? undefined : limitInvariants(m, shape.limit);
  const isCancelWord = (word: number): boolean => Array.from({ length: m.groups }, (_, g) => m.cancelOf(g)).includes(word);
  const isRunningWord = (word: number): boolean => Array.from({ length: m.groups }, (_, g) => m.runningOf(g)).includes(word);
  const words: WaitWords = {
    word: m.pending,
    count: countOf,
    flag: (mem) => {
      const before = mem[m.pending] ?? 0;
      mem[m.pending] = Number(BigInt(before) | PENDING_WAITED);
      return before;
    },
    flagged: (before) => Number(BigInt(before) | PENDING_WAITED),
    // Failures counted in every root (one, but in scenarios of linked groups), each failure once.
    failed: (mem) => m.parents.reduce((sum, parent, g) => sum + (parent < 0 ? countOf(mem[m.failedOf(g)] ?? 0) : 0), 0),
    published: (mem) => Array.from({ length: entries }, (_, e) => mem[m.log(e)]).filter((state) => state === LOG_READY).length,
  };
  // The root's tasks (every task, but in scenarios of linked groups, where each group is a root).
  const remaining = (mem: readonly number[]): number[] => Array.from({ length: SLOTS }, (_, s) => (m.within(mem[m.slotGroup(s)] ?? 0, 0) ? remainingOf(BigInt(mem[m.state(s)] ?? 0)) : 0));
  return {
    name,
    memory: m.initial(names.map((_, lane) => liveOwner(threadOf(lane)))),
    ghost: ghost.initial(),
    threads: shape.waiter === false ? workers : [...workers, { name: 'wait', program: shape.waitFor?.program(m, ghost) ?? waiter(ghost, words), locals: [...(shape.waitFor?.locals ?? waiterLocals())], mortal: false }],
    maxDeaths: scope.deaths,
    // Every worker's end is swept; a sweeper is swept only if it dies (it is a long-lived thread).
    onEnd: (ended, how) => {
      const lane = laneOf.get(ended) ?? specs.size;
      if (how === 'finished' && sweeperLanes.has(lane)) return [];
      return (sweeperOf.get(lane) ?? []).map((sweeperLane) => {
        const made = sweeperSpec(lane, sweeperLane);
        laneOf.set(made, sweeperLane);
        return made;
      });
    },
    invariants: [...invariants(ghost), ownedByHolder(m, ghost), ...(limits?.always ?? [])],
    quiescent: [...quiescentInvariants(ghost, { pending: (mem) => countOf(mem[m.pending] ?? 0), remaining }), ...(m.groups > 1 ? [groupsExact(m)] : []), ...endInvariants(m, ghost, sweeperLanes, words, taskGroups), ...(limits?.quiescent ?? []), ...(shape.cancels === true ? cancelInvariants(m) : [])],
    // A sleeper on a cancel word waits for CANCEL_DONE; on a running word, for a count below the limit; on a pending word, for zero.
    sleeper: (view, sleeper, word) => {
      const value = view.mem[word] ?? 0;
      const lost = (what: string): { name: string; message: string } => ({ name: 'lost-wakeup', message: `${sleeper.name} sleeps for ever at ${sleeper.label} though ${what}` });
      const hang = (what: string): { name: string; message: string } => ({ name: 'hang', message: `${sleeper.name} sleeps for ever at ${sleeper.label}: ${what}, and no thread is left to change it` });
      if (isCancelWord(word)) return value === CANCEL_DONE ? lost('the group is cancelled') : hang(`the cancel word is ${value}`);
      if (shape.limit !== undefined && isRunningWord(word)) return countOf(value) < shape.limit ? lost(`only ${countOf(value)} of ${shape.limit} running slots are taken`) : hang(`${countOf(value)} running slots are taken`);
      return sleeperCheck((mem) => countOf(mem[word] ?? 0))(view, sleeper, word);
    },
    describe: (view) => describe(m, view.mem, names),
  };
}

/**
 * At every state: a slot holding a task is owned, at the task's generation, by a thread that
 * holds a handle of it, so that the task fails if that thread dies, and no claim can take it.
 */
function ownedByHolder(m: V3Memory, ghost: GhostLayout): Invariant {
  return {
    name: 'owned-by-holder',
    check: (view) => {
      for (let s = 0; s < m.slots; s++) {
        const state = BigInt(view.mem[m.state(s)] ?? 0);
        if (remainingOf(state) === 0) continue;
        const owner = view.mem[m.owner(s)] ?? 0;
        const lane = ownerLane(owner) - 1;
        const k = (view.ghost[ghost.slotTask(s)] ?? 0) - 1;
        const holders = k < 0 ? 0 : (view.ghost[ghost.holders(k)] ?? 0);
        if (lane < 0 || ownerGeneration(owner) !== generationOf(state) || (holders & (1 << lane)) === 0) {
          return `slot ${s} holds task ${k} (generation ${generationOf(state)}) but its owner word names lane ${lane} at generation ${ownerGeneration(owner)}`;
        }
      }
      return undefined;
    },
  };
}

/**
 * At quiescence, with sub-groups: each group's pending count is the remaining units of the tasks
 * in its subtree (the root's is pending-exact), and its failures at least its subtree's root's.
 */
function groupsExact(m: V3Memory): Invariant {
  return {
    name: 'pending-exact',
    check: (view) => {
      for (let g = 1; g < m.groups; g++) {
        let live = 0;
        for (let s = 0; s < m.slots; s++) if (m.within(view.mem[m.slotGroup(s)] ?? 0, g)) live += remainingOf(BigInt(view.mem[m.state(s)] ?? 0));
        const pending = countOf(view.mem[m.pendingOf(g)] ?? 0);
        if (pending !== live) return `group ${g}'s pending is ${pending} but the slots of its subtree hold ${live} unit(s)`;
      }
      return undefined;
    },
  };
}

/** What must hold once every thread has ended: entries freed, slots given back, the log settled, `added` exact (each group's). */
function endInvariants(m: V3Memory, ghost: GhostLayout, sweeperLanes: ReadonlySet<number>, words: WaitWords, taskGroups: readonly number[]): Invariant[] {
  const ended = (view: StateView): boolean => view.threads.every((t) => t.status === 'finished' || t.status === 'dead');
  const check =
    (fn: (mem: readonly number[], ghostWords: readonly number[]) => string | undefined) =>
    (view: StateView): string | undefined =>
      ended(view) ? fn(view.mem, view.ghost) : undefined;
  return [
    {
      name: 'entry-leak',
      check: check((mem) => {
        for (let lane = 0; lane < m.lanes; lane++) {
          const owner = mem[m.journal(lane, J_OWNER)] ?? 0;
          if (owner !== 0 && !(sweeperLanes.has(lane) && owner === liveOwner(threadOf(lane)))) return `lane ${lane}'s registry entry is still held (${owner})`;
        }
        return undefined;
      }),
    },
    {
      name: 'slot-leak',
      check: check((mem) => {
        for (let s = 0; s < m.slots; s++) if (ownerLane(mem[m.owner(s)] ?? 0) !== 0) return `slot ${s} is still owned by lane ${ownerLane(mem[m.owner(s)] ?? 0) - 1}`;
        return undefined;
      }),
    },
    {
      name: 'log-settled',
      check: check((mem) => {
        for (let e = 0; e < m.entries; e++) if ((mem[m.log(e)] ?? 0) < 0) return `log entry ${e} is still staged by lane ${-(mem[m.log(e)] ?? 0) - 1}`;
        const published = words.published?.(mem) ?? 0;
        return published === words.failed(mem) ? undefined : `${words.failed(mem)} failure(s) counted, ${published} published`;
      }),
    },
    {
      name: 'added-exact',
      check: check((mem, ghostWords) => {
        for (let g = 0; g < m.groups; g++) {
          const cells = Array.from({ length: m.lanes }, (_, lane) => mem[m.cellOf(g, lane)] ?? 0).reduce((x, y) => x + y, 0);
          const units = Array.from({ length: ghost.tasks }, (_, k) => (m.within(taskGroups[k] ?? 0, g) ? (ghostWords[ghost.units(k)] ?? 0) : 0)).reduce((x, y) => x + y, 0);
          if (cells !== units) return `group ${g}'s added cells sum to ${cells}, the tasks that exist in its subtree have ${units} unit(s)`;
        }
        return undefined;
      }),
    },
  ];
}

/** Each worker adds and completes `rounds` tasks; the first task fails (with `failures`). */
const addDone: Programs = (workers, scope) =>
  workers.map((w, index) =>
    Array.from({ length: scope.rounds }, (_, r) => {
      const k = index * scope.rounds + r;
      return [...add(w, `add${r}`, k, 0, 1), ...done(w, `done${r}`, 0, scope.failures && k === 0)];
    }).flat(),
  );

/**
 * A adds task 0, shares it with B and completes it, then (`reuse`) adds task 1, into the slot it
 * may just have freed, and completes it; B adopts task 0 and completes it (as a failure, with
 * `failures`) if it still can.
 */
const adopt =
  (reuse: boolean): Programs =>
  ([a, b], scope) => {
    if (a === undefined || b === undefined) throw new Error('two workers');
    return [
      [...add(a, 'add0', 0, 0, 1), ...share(a, 'share0', 0), ...done(a, 'done0', 0, false), ...(reuse ? [...add(a, 'add1', 1, 0, 1), ...done(a, 'done1', 0, false)] : [])],
      [...from(b, 'from0', 0, 0, 0), ...done(b, 'done0', 0, scope.failures)],
    ];
  };

/** As adopt(false), and a third worker C adds and completes a task of its own, in the only slot. */
const releaseRace: Programs = (workers, scope) => {
  const c = workers[2];
  if (c === undefined) throw new Error('three workers');
  return [...adopt(false)(workers, scope), [...add(c, 'add0', 1, 0, 1), ...done(c, 'done0', 0, false)]];
};

/**
 * Worker A hands work back and forth between linked groups X (0) and Y (1): it adds task 0 in X,
 * then task 1 in Y before completing task 0, then task 2 in X before completing task 1, then
 * completes task 2. Work is pending in X or Y at every instant from the first add() on.
 */
const handOff: Programs = ([a]) => {
  if (a === undefined) throw new Error('one worker');
  const x: Worker = { ...a, group: 0 };
  const y: Worker = { ...a, group: 1 };
  return [[...add(x, 'add0', 0, 0, 1), ...add(y, 'add1', 1, 1, 1), ...done(x, 'done0', 0, false), ...add(x, 'add2', 2, 0, 1), ...done(y, 'done1', 1, false), ...done(x, 'done2', 0, false)]];
};

/** Each worker adds a task, takes a running slot of the group's `limit` (1), and completes the task (A's fails, with `failures`). */
const limited: Programs = (workers, scope) =>
  workers.map((w, index) => [...add(w, 'add0', index, 0, 1), ...acquire(w, 'go0', 0, 1), ...done(w, 'done0', 0, scope.failures && index === 0, true)]);

/** A and B each cancel the root, with reasons 1 and 2. */
const cancels: Programs = (workers) => workers.map((w, index) => cancel(w, 'cancel', 0, index + 1));

/** The v3 scenarios. */
export const v3Scenarios: readonly Scenario[] = [
  {
    name: 'v3-add-done',
    description: "v3: workers A and B each add() and done() a task (A's first fails) while a thread waits; no death",
    scope: baseScope,
    deep: { ...baseScope, rounds: 2 },
    bugs: {},
    known: [],
    fixes: {},
    build: (scope) => build('v3-add-done', scope, { tasks: 2 * scope.rounds, failing: scope.failures ? 1 : 0, programs: addDone }),
  },
  {
    name: 'v3-death',
    description: 'v3: as v3-add-done, and one worker may die at any step (then it is swept)',
    scope: { ...baseScope, deaths: 1 },
    deep: { ...baseScope, rounds: 2, deaths: 1 },
    test: { ...baseScope, deaths: 1, mortalWorkers: 1 },
    bugs: { 'no-lane-bit': BUGS['no-lane-bit'], 'take-before-journal': BUGS['take-before-journal'], 'no-recover-wake': BUGS['no-recover-wake'] },
    known: [],
    fixes: {},
    build: (scope) => build('v3-death', scope, { tasks: 2 * scope.rounds, failing: scope.failures ? 1 : 0, programs: addDone }),
  },
  {
    name: 'v3-adopt',
    description: 'v3: Task.from() adopts a task while its slot is freed and reused, B\'s done() fails; no death',
    scope: baseScope,
    deep: { ...baseScope, deaths: 1 },
    bugs: { 'adopt-check-then-store': BUGS['adopt-check-then-store'] },
    known: [],
    fixes: {},
    build: (scope) => build('v3-adopt', scope, { tasks: 2, failing: scope.failures ? 1 : 0, programs: adopt(true) }),
  },
  {
    name: 'v3-shared-death',
    description: 'v3: A shares a task with B, both complete it (B as a failure), one may die at any step: the tagged take, the confirmation, their recovery (rounds 2: and the reuse of v3-adopt)',
    scope: { ...baseScope, deaths: 1 },
    deep: { ...baseScope, rounds: 2, deaths: 1 },
    test: { ...baseScope, deaths: 1, mortalWorkers: 1 },
    bugs: {},
    known: [],
    fixes: {},
    build: (scope) => build('v3-shared-death', scope, { tasks: 2, failing: scope.failures ? 1 : 0, programs: adopt(scope.rounds > 1) }),
  },
  {
    name: 'v3-sweeper-death',
    description: 'v3: worker A alone adds and fails a task; it may die, then its sweeper may die mid-sweep, and the sweeper of the sweeper resumes',
    scope: { ...baseScope, deaths: 2, mortalSweepers: true },
    deep: { ...baseScope, deaths: 2, sweepers: 2, mortalSweepers: true },
    bugs: { 'no-resume': BUGS['no-resume'], 'no-recover-wake': BUGS['no-recover-wake'] },
    known: [],
    fixes: {},
    build: (scope) => build('v3-sweeper-death', scope, { tasks: scope.rounds, failing: scope.failures ? 1 : 0, programs: addDone, workers: 1 }),
  },
  {
    name: 'v3-subgroup',
    description: "v3: worker A adds and completes (as a failure) a task in a sub-group of the root while a thread waits for the root; A may die at any step, then its sweeper may die mid-sweep and be resumed: every laned step and its recovery at both levels of A's chain",
    scope: { ...baseScope, deaths: 2, mortalSweepers: true },
    deep: { ...baseScope, rounds: 2, deaths: 2, mortalSweepers: true },
    bugs: { 'no-level': BUGS['no-level'], 'recover-own-level': BUGS['recover-own-level'], 'no-recover-wake': BUGS['no-recover-wake'] },
    known: [],
    fixes: {},
    build: (scope) => build('v3-subgroup', scope, { tasks: scope.rounds, failing: scope.failures ? 1 : 0, programs: addDone, parents: [-1, 0], groups: [1], workers: 1 }),
  },
  {
    name: 'v3-subgroup-root',
    description: 'v3: as v3-subgroup, and worker B adds and completes a task in the root itself; A may die at any step (deep: A or B)',
    scope: { ...baseScope, deaths: 1, mortalWorkers: 1 },
    deep: { ...baseScope, deaths: 1 },
    // In npm test without deaths (the deaths of a sub-group's chain are v3-subgroup's); with them here.
    test: { ...baseScope, failures: false },
    bugs: {},
    known: [],
    fixes: {},
    build: (scope) => build('v3-subgroup-root', scope, { tasks: 2 * scope.rounds, failing: scope.failures ? 1 : 0, programs: addDone, parents: [-1, 0], groups: [1, 0] }),
  },
  {
    name: 'v3-links',
    description: 'v3: a thread waits for group X, linked to group Y (both roots), from the moment worker A has added a task to X; A hands work back and forth between X and Y (each task adds its successor in the other group before completing); with deaths, A may die at any step and is swept',
    scope: { ...baseScope, failures: false, deaths: 1 },
    deep: { ...baseScope, failures: false, deaths: 1, sweepers: 2 },
    // The planted bug single-read: v2's blocker(), each linked group's pending word read once in turn.
    bugs: { 'single-read': 'early-wake' },
    known: [],
    fixes: {},
    build: (scope) =>
      build('v3-links', scope, {
        tasks: 3,
        failing: 0,
        programs: handOff,
        workers: 1,
        slots: 3,
        handles: 2,
        parents: [-1, -1],
        taskGroups: [0, 1, 0],
        waitFor: {
          // wait() is called once A's first add() has returned (or A has died before).
          program: (m, ghost) => linkWaiter(m, ghost, [0, 1], !scope.bugs.includes('single-read'), (ctx) => (ctx.ghost[ghost.added(0)] ?? 0) === 1 || ctx.threads[0]?.status === 'dead'),
          locals: linkWaiterLocals(2),
          clears: true,
        },
      }),
  },
  {
    name: 'v3-limit',
    description: 'v3: workers A and B each add() a task, take the only running slot of the group\'s limit (1) by compare-and-exchange on H_RUNNING, or sleep until a release, and complete the task, which gives the slot back; A may die at any step and is swept (recovery of OP_LIMIT, PHASE_LIMIT, the held task\'s SLOT_LIMITED)',
    scope: { ...baseScope, deaths: 1, mortalWorkers: 1, failures: false },
    deep: { ...baseScope, deaths: 1 },
    bugs: { 'limit-check-then-add': BUGS['limit-check-then-add'], 'limit-no-lane-bit': BUGS['limit-no-lane-bit'], 'no-recover-running-wake': BUGS['no-recover-running-wake'] },
    known: [],
    fixes: {},
    build: (scope) => build('v3-limit', scope, { tasks: 2, failing: scope.failures ? 1 : 0, programs: limited, waiter: false, limit: 1 }),
  },
  {
    name: 'v3-cancel',
    description: "v3: workers A and B each cancel the group (reasons 1 and 2) while a thread watches its signal (watchCancel); one may die at any step and is swept: a claimed cancellation is finished with the reason its dead canceller journaled (finishCancel), and every reader of CANCEL_DONE reads the winner's reason",
    scope: { ...baseScope, deaths: 1, failures: false },
    deep: { ...baseScope, deaths: 1, failures: false, sweepers: 2 },
    // no-wake-cancel-done: the sweep finishing only a word that still names the dead thread, as it
    // did until the explorer found that a canceller dying between storing CANCEL_DONE and its
    // notify left every watcher asleep.
    bugs: { 'reason-after-claim': BUGS['reason-after-claim'], 'no-finish-cancel': BUGS['no-finish-cancel'], 'no-wake-cancel-done': BUGS['no-wake-cancel-done'] },
    known: [],
    fixes: {},
    build: (scope) =>
      build('v3-cancel', scope, { tasks: 0, failing: 0, programs: cancels, slots: 1, cancels: true, waitFor: { program: (m, ghost) => cancelWatcher(m, ghost, 0), locals: [0] } }),
  },
  {
    name: 'v3-release-race',
    description: "v3: as v3-shared-death without deaths or waiter, with one slot and a worker C adding a task of its own: B adopts the task as A takes its last unit, and B's exit sweep must not give back the slot A has not freed yet",
    scope: baseScope,
    deep: { ...baseScope, deaths: 1 },
    bugs: { 'release-any-empty': BUGS['release-any-empty'] },
    known: [],
    fixes: {},
    build: (scope) => build('v3-release-race', scope, { tasks: 2, failing: scope.failures ? 1 : 0, programs: releaseRace, workers: 3, slots: 1, waiter: false }),
  },
];
