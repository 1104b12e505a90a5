// The terminate() storm (issue 10): a worker runs one operation of the public API in a tight loop
// (workers/storm.ts), the main thread terminates it after a random number of iterations, so V8
// stops it between two arbitrary steps of an operation, and then checks the group for the exact
// outcome the library promises: the tasks the worker held fail with WorkerExitedError and their
// units are completed by the sweep in this thread (the creating thread's 'exit' handler), so every
// wait settles, and every count is exact. A run that finds anything else is WRONG, with reasons.
//
// Public API only, so that it keeps working when the internals change. Used by test/storm.test.ts
// (a few kills per operation, in `npm test`) and by scripts/storm.ts (`npm run storm`, many kills).
// Nothing here sleeps: the kill point comes from the worker's own count of iterations, and the one
// timeout of each wait only keeps a hang from lasting for good.
import { Worker, threadId } from 'node:worker_threads';
import { TaskGroupError, WaitGroup } from '../src/index.js';
import {
  CANCEL_CODE,
  GIVEN_LABEL,
  ODD_REASONS,
  OP_ERROR_CODE,
  OWN_LABEL,
  SIGNAL_WORDS,
  STATE_FAILED,
  STATE_LOOPING,
  STATE_STARTING,
  STORM_OPS,
  W_COUNT,
  W_ODD,
  W_STATE,
  type StormInput,
  type StormOp,
} from '../workers/storm-protocol.js';

export { STORM_OPS, type StormOp };

/** The worker fixture: from test/, the build's copy; from the build (dist/test/), its sibling. */
const FIXTURE = import.meta.url.endsWith('.ts') ? new URL('../dist/workers/storm.js', import.meta.url) : new URL('../workers/storm.js', import.meta.url);

/** Longest a wait of the storm may last: only so that a hang fails the run instead of lasting. */
export const GUARD_MS = 10_000;

/** A seeded pseudo-random generator (mulberry32): numbers in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A seed for `op` derived from the run's seed, so each operation's kills do not depend on the others'. */
function seedOf(seed: number, op: StormOp): number {
  let hash = seed >>> 0;
  for (let i = 0; i < op.length; i++) hash = Math.imul(hash ^ op.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** A failure a wait reported, as the checks need it. */
interface Exited {
  readonly units: number;
  readonly label: string | undefined;
}

/** What the op-specific checks get once the worker is dead and swept. */
interface Seen {
  /** Iterations the worker finished (stored after each): the kill landed in iteration `count`. */
  readonly count: number;
  /** `added` of the root group, read after the sweep. */
  readonly added: number;
  /** The WorkerExitedErrors of the dead worker that the wait reported. */
  readonly exited: readonly Exited[];
  /** Failures with the operation's own code (done-error). */
  readonly opErrors: number;
}

/** One operation's side of a kill: what the main thread makes, holds and checks. */
interface Scenario {
  readonly group: WaitGroup;
  /** What the worker gets besides the op, the group and the signal words. */
  readonly data: Pick<StormInput, 'tasks' | 'groups'>;
  /** Units the main thread itself still holds after the kill: what must stay pending. */
  held(): number;
  /** Completes what the main thread holds, before the wait; returns what went wrong. */
  release(count: number): string[];
  /** Checks of the counts, once the failures are known; returns what went wrong. */
  check(seen: Seen): string[];
  /** Checks that the group still works after the storm; returns what went wrong. */
  after(): Promise<string[]>;
}

const nothing = (): string[] => [];
const none = (): Promise<string[]> => Promise.resolve([]);

function codeOf(value: unknown): string | undefined {
  const code = (value as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The checks shared by the operations whose every iteration adds `per` units and completes them
 * before the next: `added` is `per` times the finished iterations, plus the units of the iteration
 * the kill landed in if it had added them, which it had if one of its tasks was swept.
 */
function iterationCounts(seen: Seen, per: number, maxExited: number): string[] {
  const wrong: string[] = [];
  const extra = seen.added - per * seen.count;
  if (extra < 0 || extra > per) wrong.push('added is not the units the worker added');
  else if (seen.exited.length > 0 && extra !== per) wrong.push('a swept task whose units were not counted as added');
  if (seen.exited.length > maxExited) wrong.push('more WorkerExitedErrors than tasks the worker held');
  const units = seen.exited.reduce((sum, e) => sum + e.units, 0);
  if (units > per) wrong.push('WorkerExitedError units exceed what the worker held');
  return wrong;
}

function scenario(op: StormOp): Scenario {
  switch (op) {
    case 'add-done':
    case 'sub-add-done':
    case 'add-count': {
      const per = op === 'add-count' ? 3 : 1;
      return {
        group: new WaitGroup({ name: op, capacity: 1024, maxGroups: 16 }),
        data: {},
        held: () => 0,
        release: nothing,
        check: (seen) => [...iterationCounts(seen, per, 1), ...(seen.opErrors > 0 ? ['an operation error from an operation that fails nothing'] : [])],
        after: none,
      };
    }
    case 'done-error':
      return {
        // Every unit fails: keep them all, so the WorkerExitedError is never among the omitted.
        group: new WaitGroup({ name: op, capacity: 1024, maxGroups: 16, maxFailures: 1 << 20, failureBytes: 1 << 28 }),
        data: {},
        held: () => 0,
        release: nothing,
        check: (seen) => {
          const wrong = iterationCounts(seen, 1, 1);
          // Each unit failed exactly once: by its done(error), or by the sweep.
          if (seen.opErrors + seen.exited.length !== seen.added) wrong.push('failures are not one per unit added');
          if (seen.opErrors < seen.count || seen.opErrors > seen.count + 1) wrong.push('operation errors are not one per iteration');
          return wrong;
        },
        after: none,
      };
    case 'shared-done': {
      const group = new WaitGroup({ name: op, capacity: 8192, maxGroups: 16 });
      // Ours until the worker rebuilds them, one per iteration; the rest stay ours.
      const given = Array.from({ length: 2048 }, () => group.add(GIVEN_LABEL));
      return {
        group,
        data: { tasks: given.map((task) => task.share()) },
        held: () => given.reduce((sum, task) => sum + task.remaining, 0),
        release: (count) => {
          const wrong = new Set<string>();
          given.forEach((task, i) => {
            const remaining = task.remaining;
            if (i < count && remaining !== 0) wrong.add('a task the worker completed is still pending');
            if (i > count && remaining !== 1) wrong.add('a task the worker never reached is complete');
            if (remaining > 0 && !task.done()) wrong.add("the main thread's done() of a task it holds returned false");
          });
          return [...wrong];
        },
        check: (seen) => {
          const wrong: string[] = [];
          const own = seen.added - given.length;
          if (own < seen.count || own > seen.count + 1) wrong.push('added is not the units the worker added');
          else if (seen.exited.some((e) => e.label === OWN_LABEL) && own !== seen.count + 1) wrong.push('a swept task whose units were not counted as added');
          if (seen.exited.length > 1) wrong.push('more WorkerExitedErrors than tasks the worker held');
          if (seen.exited.some((e) => e.units !== 1)) wrong.push('WorkerExitedError units exceed what the worker held');
          if (seen.opErrors > 0) wrong.push('an operation error from an operation that fails nothing');
          return wrong;
        },
        after: none,
      };
    }
    case 'task-from': {
      const units = 1_000_000;
      const group = new WaitGroup({ name: op, capacity: 1024, maxGroups: 16 });
      const task = group.add(units, 'many units');
      return {
        group,
        data: { tasks: [task.share()] },
        // The worker rebuilt it in its first iteration: its, not ours, from then on.
        held: () => 0,
        release: () => (task.done() ? ['a stale handle took a unit of a task its dead owner held'] : []),
        check: (seen) => {
          const wrong: string[] = [];
          if (seen.added !== units) wrong.push('added is not the units the main thread added');
          const [exited, ...more] = seen.exited;
          if (exited === undefined) wrong.push('the rebuilt task did not fail with WorkerExitedError');
          else if (exited.units < units - seen.count - 1 || exited.units > units - seen.count) wrong.push('WorkerExitedError units are not what the worker left');
          if (more.length > 0) wrong.push('more WorkerExitedErrors than tasks the worker held');
          return wrong;
        },
        after: none,
      };
    }
    case 'go-limit': {
      const group = new WaitGroup({ name: op, limit: 1, capacity: 1024, maxGroups: 16 });
      return {
        group,
        data: {},
        held: () => 0,
        release: nothing,
        check: (seen) => iterationCounts(seen, 1, 1),
        after: async () => {
          const wrong: string[] = [];
          // Written by the functions, which start in a microtask after go() or tryGo() returns.
          const ran: { first?: true; inner?: boolean; later?: true } = {};
          const started = group.tryGo(() => {
            ran.first = true;
            // With limit 1 and this function running, nothing else may start.
            ran.inner = group.tryGo(() => undefined);
          });
          await turn();
          if (!started) wrong.push('limit slot leaked: tryGo() refused with nothing running');
          else if (ran.first !== true) wrong.push('tryGo() did not run its function');
          if (ran.inner === true) wrong.push('limit exceeded: two functions ran at once under limit 1');
          // go() only once tryGo() proved a slot free: a go() that queues for good would keep the
          // thread alive.
          if (started && ran.inner !== true) {
            group.go(() => {
              ran.later = true;
            });
            await turn();
            if (ran.later !== true) wrong.push('go() queued with nothing running');
          }
          return wrong;
        },
      };
    }
    case 'cancel': {
      const count = 1024;
      const group = new WaitGroup({ name: op, capacity: 1024, maxGroups: 16_384 });
      const subs = Array.from({ length: count }, (_, i) => group.sub(`given ${i}`));
      return {
        group,
        data: { groups: subs.map((sub) => sub.share()) },
        held: () => 0,
        release: nothing,
        check: (seen) => {
          const wrong = new Set(iterationCounts(seen, 1, 1));
          if (group.cancelled) wrong.add("the root was cancelled by a sub-group's cancel()");
          // Even iteration 2j cancels given sub-group j; the kill landed in iteration `reached`.
          const reached = seen.count;
          subs.forEach((sub, j) => {
            if (2 * j > reached) {
              if (sub.cancelled) wrong.add('a sub-group the worker never reached is cancelled');
              return;
            }
            if (2 * j < reached && !sub.cancelled) wrong.add('a sub-group the worker cancelled is not cancelled');
            try {
              // Read in this order: `signal` aborts at once (when it is made) for a group cancelled already.
              const cancelled = sub.cancelled;
              const signal = sub.signal;
              const aborted = signal.aborted;
              const reason: unknown = signal.reason;
              if (cancelled !== aborted) wrong.add(cancelled ? 'cancelled, but its signal did not abort' : 'its signal aborted, but it is not cancelled');
              if (aborted && codeOf(reason) !== CANCEL_CODE) wrong.add('its signal aborted with another reason');
            } catch (error) {
              wrong.add(`reading the signal of a cancelled sub-group threw ${codeOf(error) ?? String(error)}`);
            }
          });
          return [...wrong];
        },
        after: () => {
          const wrong: string[] = [];
          const fresh = group.sub('fresh');
          if (fresh.cancelled || fresh.signal.aborted) wrong.push('a fresh sub-group is cancelled already');
          const reason = new Error('fresh');
          fresh.cancel(reason);
          if (!fresh.cancelled) wrong.push('cancel() of a fresh sub-group did not cancel it');
          else if (!fresh.signal.aborted || fresh.signal.reason !== reason) wrong.push("a fresh sub-group's signal did not abort with its reason");
          if (group.cancelled || group.signal.aborted) wrong.push("the root was cancelled by a sub-group's cancel()");
          return Promise.resolve(wrong);
        },
      };
    }
    case 'link': {
      const group = new WaitGroup({ name: op, capacity: 1024, maxGroups: 16 });
      const a = group.sub('a');
      const b = group.sub('b');
      a.link(b);
      return {
        group,
        data: { groups: [a.share(), b.share()] },
        held: () => 0,
        release: nothing,
        check: (seen) => {
          const wrong: string[] = [];
          const extra = seen.added - 2 * seen.count;
          if (extra < 0 || extra > 2) wrong.push('added is not the units the worker added');
          else if (seen.exited.length > extra) wrong.push('a swept task whose units were not counted as added');
          if (seen.exited.length > 2) wrong.push('more WorkerExitedErrors than tasks the worker held');
          if (seen.exited.some((e) => e.units !== 1)) wrong.push('WorkerExitedError units exceed what the worker held');
          if (a.stats().pending !== 0 || b.stats().pending !== 0) wrong.push('a linked sub-group has units pending');
          return wrong;
        },
        after: async () => {
          const wrong: string[] = [];
          // a's wait covers b (linked) and reports both groups' failures; b's only its own.
          const failedA = a.stats().failed;
          const failedB = b.stats().failed;
          for (const [which, waited, expected] of [
            ['a', a, failedA + failedB],
            ['b', b, failedB],
          ] as const) {
            const outcome = await settle(waited);
            const failed = unsettled(outcome, `wait() on linked group ${which}`);
            if (failed !== undefined) wrong.push(failed);
            else if (outcome.kind === 'settled' && outcome.errors.length + outcome.omitted !== expected) wrong.push(`wait() on linked group ${which} reported other failures than it holds`);
          }
          return wrong;
        },
      };
    }
  }
}

/** What a wait came to: the failures it reported (none when it resolved), a timeout, or another error. */
type Settled =
  | { readonly kind: 'settled'; readonly errors: readonly unknown[]; readonly origins: readonly { readonly label?: string }[]; readonly omitted: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'threw'; readonly error: unknown };

async function settle(group: WaitGroup): Promise<Settled> {
  try {
    await group.wait({ timeout: GUARD_MS });
    return { kind: 'settled', errors: [], origins: [], omitted: 0 };
  } catch (error) {
    if (error instanceof TaskGroupError) return { kind: 'settled', errors: error.errors, origins: error.origins, omitted: error.omitted };
    if (codeOf(error) === 'ERR_WAIT_TIMEOUT') return { kind: 'timeout' };
    return { kind: 'threw', error };
  }
}

/** What went wrong with a wait that did not settle, or undefined. */
function unsettled(outcome: Settled, what: string): string | undefined {
  if (outcome.kind === 'timeout') return `${what} timed out`;
  if (outcome.kind === 'threw') return `${what} threw ${codeOf(outcome.error) ?? String(outcome.error)}`;
  return undefined;
}

/** Workers of the storm still running: `terminateStorms()` ends them (tests call it in afterEach). */
const live = new Set<Worker>();

/** Terminates every storm worker still running. */
export async function terminateStorms(): Promise<void> {
  await Promise.all([...live].map((worker) => worker.terminate()));
  live.clear();
}

/** The outcome of one kill. */
export interface KillResult {
  readonly op: StormOp;
  /** Iterations the main thread waited for before terminating the worker. */
  readonly target: number;
  /** Iterations the worker had finished when it died. */
  readonly count: number;
  /** What was wrong; empty for a run with the outcome the library promises. */
  readonly wrong: readonly string[];
}

/** Most iterations before the kill, per operation: each kill waits for 1 to this many, log-uniformly. */
const MAX_TARGET: Readonly<Record<StormOp, number>> = {
  'add-done': 20_000,
  'sub-add-done': 20_000,
  'done-error': 400,
  'add-count': 20_000,
  'shared-done': 1000,
  'task-from': 5000,
  'go-limit': 20_000,
  cancel: 800,
  link: 5000,
};

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Starts the worker on `op`, terminates it after `target` iterations (at least 1), lets the sweep
 * run, and checks the group.
 */
export async function killOnce(op: StormOp, target: number): Promise<KillResult> {
  const wrong: string[] = [];
  const plan = scenario(op);
  const { group } = plan;
  const words = new Int32Array(new SharedArrayBuffer(SIGNAL_WORDS * 4));
  const input: StormInput = { op, group: group.share(), words, ...plan.data };
  const worker = new Worker(FIXTURE, { workerData: input });
  live.add(worker);
  // The worker's threadId reads -1 once it has exited.
  const dead = worker.threadId;
  let thrown: { code?: string } | undefined;
  worker.on('message', (message: { code?: string }) => (thrown = message));
  worker.on('error', (error: unknown) => (thrown = { code: codeOf(error) ?? String(error) }));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  try {
    const looping = Atomics.waitAsync(words, W_STATE, STATE_STARTING, GUARD_MS);
    if (looping.async) await Promise.race([looping.value, exited]);
    if (Atomics.load(words, W_STATE) === STATE_LOOPING) {
      // Spin, not sleep: the worker loops on the other core, and the kill should follow the
      // target as closely as the machine lets it.
      const deadline = performance.now() + GUARD_MS;
      while (Atomics.load(words, W_COUNT) < target && Atomics.load(words, W_STATE) === STATE_LOOPING) {
        if (performance.now() > deadline) {
          wrong.push('harness: the worker did not reach its target');
          break;
        }
      }
    }
    // The library's 'exit' listener (added when the worker was created) sweeps before terminate()
    // resolves; a turn later, whatever it scheduled has run too.
    await worker.terminate();
    await turn();
  } finally {
    live.delete(worker);
  }
  const state = Atomics.load(words, W_STATE);
  const count = Atomics.load(words, W_COUNT);
  if (state === STATE_FAILED || thrown !== undefined) wrong.push(`worker: the operation threw ${thrown?.code ?? 'an error without a code'}`);
  else if (state !== STATE_LOOPING) wrong.push('harness: the worker never started its loop');
  const odd = ODD_REASONS[Atomics.load(words, W_ODD)];
  if (odd !== undefined) wrong.push(odd);
  if (count < 1 && state === STATE_LOOPING) wrong.push('harness: killed before the first iteration finished');
  wrong.push(...(await inspect(plan, dead, count)));
  return { op, target, count, wrong };
}

/** The checks after the sweep: counts, the wait, and that the group still works. */
async function inspect(plan: Scenario, dead: number, count: number): Promise<string[]> {
  const { group } = plan;
  const wrong: string[] = [];
  const stats = group.stats();
  const held = plan.held();
  const pending = group.pendingTasks();
  // Units the pending tasks hold: more than the main thread's own means a task outlived the sweep.
  const inTasks = pending.reduce((sum, task) => sum + task.remaining, 0);
  if (stats.pending > 2 ** 30) wrong.push('pending wrapped below zero');
  else if (stats.pending > held) wrong.push(inTasks > held ? 'units left pending (in tasks)' : 'units left pending (no task holds them)');
  else if (stats.pending < held) wrong.push('pending is below what the main thread holds (a unit lowered that was never raised)');
  // The census (what a timeout's summary reads) names the same tasks as the slots, thread by thread.
  const summary = group.pendingSummary();
  const byThread = new Map<number, number>();
  for (const task of pending) byThread.set(task.threadId, (byThread.get(task.threadId) ?? 0) + 1);
  if (summary.count !== pending.length || [...summary.byThread].some(([thread, n]) => byThread.get(thread) !== n)) wrong.push('the census disagrees with the slots');
  if (pending.some((task) => task.threadId === dead)) wrong.push("a task of the dead thread's is still pending");
  else if (pending.some((task) => task.threadId !== threadId)) wrong.push("a task of another thread's is pending");
  wrong.push(...plan.release(count));

  // With units still pending the wait could only time out, or resolve early: both are said above.
  if (group.stats().pending !== 0) return wrong;
  const outcome = await settle(group);
  if (outcome.kind !== 'settled') return [...wrong, unsettled(outcome, 'wait() with nothing pending') ?? ''];
  const exited: Exited[] = [];
  let opErrors = 0;
  outcome.errors.forEach((error, i) => {
    const code = codeOf(error);
    if (code === 'ERR_WORKER_EXITED') {
      if ((error as { threadId?: unknown }).threadId !== dead) wrong.push('WorkerExitedError names another thread');
      exited.push({ units: Number((error as { units?: unknown }).units), label: outcome.origins[i]?.label });
    } else if (code === OP_ERROR_CODE) {
      opErrors++;
    } else {
      wrong.push(`unexpected failure ${code ?? String(error)}`);
    }
  });
  const after = group.stats();
  if (outcome.omitted > 0) wrong.push('harness: failures omitted');
  if (after.failed !== outcome.errors.length + outcome.omitted) wrong.push('failed is not the number of failures reported');
  wrong.push(...plan.check({ count, added: after.added, exited, opErrors }));

  // The group goes on working: a fresh task counts once and completes, with no overflow.
  try {
    const task = group.add('after the storm');
    if (group.stats().pending !== 1) wrong.push('a fresh add() did not count one unit');
    task.done();
    if (group.stats().pending !== 0) wrong.push('a fresh add().done() did not bring pending back');
  } catch (error) {
    wrong.push(`a fresh add() threw ${codeOf(error) ?? String(error)}`);
  }
  wrong.push(...(await plan.after()));
  const again = unsettled(await settle(group), 'a later wait()');
  if (again !== undefined) wrong.push(again);
  return wrong;
}

/** One operation's kills: how many went wrong, and why. */
export interface StormSummary {
  readonly op: StormOp;
  readonly kills: number;
  /** Kills with at least one reason. */
  readonly wrong: number;
  /** How many kills gave each reason. */
  readonly reasons: ReadonlyMap<string, number>;
  /** The kills themselves, in order. */
  readonly results: readonly KillResult[];
}

export interface StormOptions {
  readonly kills: number;
  readonly seed: number;
  /** Called after each kill, e.g. for progress. */
  readonly onKill?: (result: KillResult) => void;
}

/** Runs `kills` kills of `op`, each after a seeded random number of iterations. */
export async function storm(op: StormOp, options: StormOptions): Promise<StormSummary> {
  const random = prng(seedOf(options.seed, op));
  const results: KillResult[] = [];
  const reasons = new Map<string, number>();
  for (let kill = 0; kill < options.kills; kill++) {
    // Log-uniform: early kills (code not optimized yet) as often as late ones.
    const target = Math.max(1, Math.floor(MAX_TARGET[op] ** random()));
    const result = await killOnce(op, target);
    results.push(result);
    for (const reason of new Set(result.wrong)) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    options.onKill?.(result);
  }
  return { op, kills: results.length, wrong: results.filter((r) => r.wrong.length > 0).length, reasons, results };
}

/** The summaries as a table: op, kills, wrong, and the reasons with how many kills gave each. */
export function table(summaries: readonly StormSummary[]): string {
  const rows = summaries.map((s) => [
    s.op,
    String(s.kills),
    String(s.wrong),
    [...s.reasons]
      .sort((x, y) => y[1] - x[1])
      .map(([reason, n]) => `${n}x ${reason}`)
      .join('; ') || '-',
  ]);
  const header = ['op', 'kills', 'wrong', 'reasons (kills that gave each)'];
  // The last column is not padded: it is as long as its reasons.
  const widths = header.map((title, i) => (i === header.length - 1 ? title.length : Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length))));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : i === cells.length - 1 ? cell : cell.padStart(widths[i] ?? 0))).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
