// Property tests: random sequences of operations on a group tree, checked against a simple model
// after every step (stats, cancelled, done() results) and at the end (the outcome of wait()).
// The multi-thread variant runs a sequence per Worker on one shared group (workers/property-worker.ts).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Task, TaskGroupError, WaitGroup, type WaitGroupStats } from '../src/index.js';
import type { PropertyWorkerData, PropertyWorkerResult, WorkerOp } from '../workers/property-worker.js';
import { TestWorker, terminateAll } from './helpers.js';

afterEach(terminateAll);

/** The model: per group its parent and own counters; per task its group and remaining units. */
class Model {
  readonly groups: { parent: number; added: number; pending: number; failed: number; cancelled: boolean }[] = [];
  readonly tasks: { g: number; remaining: number }[] = [];
  /** Failures in record order, with their group. */
  readonly failures: { g: number; value: unknown }[] = [];

  constructor() {
    this.addGroup(-1);
  }

  addGroup(parent: number): number {
    this.groups.push({ parent, added: 0, pending: 0, failed: 0, cancelled: false });
    return this.groups.length - 1;
  }

  within(g: number, ancestor: number): boolean {
    for (let at = g; at >= 0; at = this.groups[at]?.parent ?? -1) if (at === ancestor) return true;
    return false;
  }

  stats(of: number): WaitGroupStats {
    const mine = this.groups.filter((_, g) => this.within(g, of));
    const sum = (key: 'added' | 'pending' | 'failed'): number => mine.reduce((total, group) => total + group[key], 0);
    return { added: sum('added'), done: sum('added') - sum('pending'), failed: sum('failed'), pending: sum('pending') };
  }

  cancelled(g: number): boolean {
    return this.groups.some((group, at) => group.cancelled && this.within(g, at));
  }

  add(g: number, count: number): number {
    const group = this.groups[g];
    if (group === undefined) throw new Error(`no group ${g}`);
    group.added += count;
    group.pending += count;
    return this.tasks.push({ g, remaining: count }) - 1;
  }

  /** One unit of task `t` completes: what its done() must return. */
  done(t: number, failed: boolean, value: unknown): boolean {
    const task = this.tasks[t];
    const group = this.groups[task?.g ?? -1];
    if (task === undefined || group === undefined || task.remaining === 0) return false;
    task.remaining--;
    group.pending--;
    if (failed) {
      group.failed++;
      this.failures.push({ g: task.g, value });
    }
    return true;
  }

  failuresOf(g: number): unknown[] {
    return this.failures.filter((f) => this.within(f.g, g)).map((f) => f.value);
  }
}

async function outcome(wg: WaitGroup): Promise<unknown> {
  return wg.wait({ timeout: 10_000 }).then(
    () => 'resolved',
    (error: unknown) => error,
  );
}

/** The wait outcome the model predicts: resolves iff no failure, else exactly these failures in order. */
async function expectOutcome(wg: WaitGroup, expected: readonly unknown[], same: (a: unknown, b: unknown) => boolean): Promise<void> {
  const result = await outcome(wg);
  if (expected.length === 0) {
    expect(result).toBe('resolved');
    return;
  }
  expect(result).toBeInstanceOf(TaskGroupError);
  const { errors, omitted } = result as TaskGroupError;
  expect([errors.length, omitted]).toEqual([expected.length, 0]);
  expected.forEach((value, i) => expect(same(errors[i], value), `failure ${i}`).toBe(true));
}

const group = fc.nat({ max: 7 });
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('add' as const), g: group, count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('done' as const), t: fc.nat({ max: 60 }), how: fc.constantFrom('ok', 'null', 'error', 'zero', 'string') }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('go' as const), g: group, how: fc.constantFrom('ok', 'throw', 'throw undefined', 'async ok', 'async fail') }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('settle' as const), a: fc.nat({ max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('sub' as const), g: group }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cancel' as const), g: group }) },
  // Another handle on a task, as another thread's Task.from() makes: from then on the task's units
  // are taken by compare-and-exchange, and a handle kept past its task's end meets the slot's next task.
  { weight: 2, arbitrary: fc.record({ k: fc.constant('share' as const), t: fc.nat({ max: 60 }) }) },
);

interface Async {
  readonly task: number;
  readonly settle: () => Promise<void>;
  readonly fails: unknown;
  settled: boolean;
}

describe('one thread', () => {
  it('stats, cancelled, done() results and the wait outcome follow the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const model = new Model();
        const groups = [new WaitGroup({ name: 'property' })];
        /** Index for index with model.tasks; undefined for the tasks of go(). */
        const handles: (Task | undefined)[] = [];
        /** More handles on the tasks of `handles`, rebuilt from share(). */
        const aliases: { t: number; handle: Task }[] = [];
        /** Every handle of every task added, with its task's index. */
        const all = (): { t: number; handle: Task }[] => [...handles.entries()].flatMap(([t, handle]) => (handle === undefined ? [] : [{ t, handle }])).concat(aliases);
        const asyncs: Async[] = [];
        let made = 0;
        const newError = (): Error => new Error(`failure ${made++}`);
        const value = (how: string): unknown => (how === 'zero' ? 0 : how === 'string' ? `failure ${made++}` : newError());
        const at = (g: number): [number, WaitGroup] => {
          const found = groups[g % groups.length];
          if (found === undefined) throw new Error('no groups');
          return [g % groups.length, found];
        };
        const settle = async (a: Async): Promise<void> => {
          a.settled = true;
          await a.settle();
          model.done(a.task, a.fails !== undefined, a.fails);
        };
        const check = (): void => {
          groups.forEach((wg, g) => {
            expect(wg.stats()).toEqual(model.stats(g));
            expect(wg.cancelled).toBe(model.cancelled(g));
            expect(wg.pendingTasks()).toHaveLength(model.tasks.filter((t) => t.remaining > 0 && model.within(t.g, g)).length);
          });
        };
        for (const o of ops) {
          if (o.k === 'add') {
            const [g, wg] = at(o.g);
            handles.push(wg.add(o.count));
            model.add(g, o.count);
          } else if (o.k === 'done') {
            const every = all();
            const chosen = every[o.t % Math.max(1, every.length)];
            if (chosen === undefined) continue;
            const failed = o.how !== 'ok' && o.how !== 'null';
            const error = failed ? value(o.how) : o.how === 'null' ? null : undefined;
            expect(chosen.handle.done(error)).toBe(model.done(chosen.t, failed, error));
          } else if (o.k === 'share') {
            const every = all();
            const chosen = every[o.t % Math.max(1, every.length)];
            if (chosen === undefined) continue;
            const alias = Task.from(chosen.handle.share());
            expect(alias.remaining).toBe(model.tasks[chosen.t]?.remaining);
            aliases.push({ t: chosen.t, handle: alias });
          } else if (o.k === 'go') {
            const [g, wg] = at(o.g);
            const task = model.add(g, 1);
            handles.push(undefined);
            if (o.how.startsWith('async')) {
              const fails = o.how === 'async fail' ? newError() : undefined;
              let release = (): void => undefined;
              const gate = new Promise<void>((resolve, reject) => {
                release = () => (fails === undefined ? resolve() : reject(fails));
              });
              wg.go(() => gate);
              // Its function starts in a microtask: once it has, its then() is on the gate before
              // settle()'s, so the task is complete when settle() returns.
              await Promise.resolve();
              asyncs.push({ task, fails, settled: false, settle: () => (release(), gate.catch(() => undefined)) });
            } else {
              const thrown = o.how === 'throw' ? newError() : undefined;
              wg.go(() => {
                // eslint-disable-next-line @typescript-eslint/only-throw-error -- `throw undefined` is a case under test
                if (o.how !== 'ok') throw thrown;
              });
              await Promise.resolve(); // the function starts in a microtask
              model.done(task, o.how !== 'ok', thrown);
            }
          } else if (o.k === 'settle') {
            const open = asyncs.filter((a) => !a.settled);
            const chosen = open[o.a % Math.max(1, open.length)];
            if (chosen !== undefined) await settle(chosen);
          } else if (o.k === 'sub') {
            const [g, wg] = at(o.g);
            groups.push(wg.sub());
            model.addGroup(g);
          } else {
            const [g, wg] = at(o.g);
            wg.cancel();
            const cancelled = model.groups[g];
            if (cancelled) cancelled.cancelled = true;
          }
          check();
        }
        for (const a of asyncs.filter((x) => !x.settled)) await settle(a);
        handles.forEach((handle, t) => {
          if (handle === undefined) return;
          while (model.done(t, false, undefined)) expect(handle.done()).toBe(true);
          expect(handle.done()).toBe(false);
        });
        for (const { handle } of aliases) {
          expect(handle.remaining).toBe(0);
          expect(handle.done()).toBe(false);
        }
        check();
        for (const [g, wg] of groups.entries()) {
          expect(wg.signal.aborted).toBe(model.cancelled(g));
          await expectOutcome(wg, model.failuresOf(g), (a, b) => Object.is(a, b));
        }
      }),
      { numRuns: 100 },
    );
  });
});

const workerOp: fc.Arbitrary<WorkerOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('add' as const), g: group, count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('done' as const), t: fc.nat({ max: 60 }), fail: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('go' as const), g: group, fail: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('sub' as const), g: group }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cancel' as const), g: group }) },
);

/** What one worker's operations must do, with its failures named as the worker names them. */
function simulate(ops: readonly WorkerOp[], tag: string): { model: Model; returns: boolean[] } {
  const model = new Model();
  const returns: boolean[] = [];
  const added: number[] = [];
  let failures = 0;
  const failure = (fail: boolean): string | undefined => (fail ? `${tag}:${failures++}` : undefined);
  for (const op of ops) {
    if (op.k === 'add') added.push(model.add(op.g % model.groups.length, op.count));
    else if (op.k === 'done') {
      const t = added[op.t % Math.max(1, added.length)];
      if (t !== undefined) returns.push(model.done(t, op.fail, failure(op.fail)));
    } else if (op.k === 'go') model.done(model.add(op.g % model.groups.length, 1), op.fail, failure(op.fail));
    else if (op.k === 'sub') model.addGroup(op.g % model.groups.length);
    else {
      const cancelled = model.groups[op.g % model.groups.length];
      if (cancelled) cancelled.cancelled = true;
    }
  }
  return { model, returns };
}

const messageIs = (a: unknown, b: unknown): boolean => a instanceof Error && a.message === b;

describe('several threads on one shared group', () => {
  it('final stats, cancellation and wait outcome are those of the models summed over the threads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(workerOp, { maxLength: 30 }), { minLength: 2, maxLength: 3 }), async (plans) => {
        const wg = new WaitGroup({ name: 'threads' });
        const marks = new Int32Array(new SharedArrayBuffer(8));
        const tags = plans.map((_, i) => `w${i}`);
        const workers = plans.map((ops, i) => new TestWorker('property-worker', { wg: wg.share(), ops, tag: tags[i] ?? '', marks } satisfies PropertyWorkerData));
        await Promise.all(workers.map((w) => w.event('ready')));
        Atomics.store(marks, 0, 1);
        Atomics.notify(marks, 0);
        const results = (await Promise.all(workers.map((w) => w.event('result')))) as PropertyWorkerResult[];
        // Adopted before the workers may exit: a thread that exits holding tasks fails them.
        const leftovers = results.flatMap((r) => r.leftovers.map((shared) => Task.from(shared)));
        Atomics.store(marks, 1, 1);
        Atomics.notify(marks, 1);
        const sims = plans.map((ops, i) => simulate(ops, tags[i] ?? ''));
        const total = (key: keyof WaitGroupStats): number => sims.reduce((sum, { model }) => sum + model.stats(0)[key], 0);
        const rootCancelled = sims.some(({ model }) => model.groups[0]?.cancelled === true);
        sims.forEach(({ returns }, i) => expect(results[i]?.returns).toEqual(returns));
        expect(wg.stats()).toEqual({ added: total('added'), done: total('done'), failed: total('failed'), pending: total('pending') });
        expect(leftovers.reduce((sum, task) => sum + task.remaining, 0)).toBe(total('pending'));
        expect(wg.cancelled).toBe(rootCancelled);
        const subs = results.map((r) => r.subs.map((shared) => WaitGroup.from(shared)));
        sims.forEach(({ model }, i) =>
          subs[i]?.forEach((sub, s) => {
            expect(sub.stats()).toEqual(model.stats(s + 1));
            expect(sub.cancelled).toBe(rootCancelled || model.cancelled(s + 1));
          }),
        );
        for (const task of leftovers) while (task.done());
        expect(wg.stats().pending).toBe(0);
        const result = await outcome(wg);
        if (total('failed') === 0) expect(result).toBe('resolved');
        else {
          expect(result).toBeInstanceOf(TaskGroupError);
          const { errors, origins } = result as TaskGroupError;
          expect(errors).toHaveLength(total('failed'));
          sims.forEach(({ model }, i) => {
            const mine = errors.flatMap((e, at) => (e instanceof Error && e.message.startsWith(`${tags[i] ?? ''}:`) ? [[e.message, origins[at]?.threadId]] : []));
            expect(mine).toEqual(model.failuresOf(0).map((message) => [message, workers[i]?.threadId]));
          });
        }
        for (const [i, { model }] of sims.entries()) {
          for (const [s, sub] of (subs[i] ?? []).entries()) await expectOutcome(sub, model.failuresOf(s + 1), messageIs);
        }
        await terminateAll();
      }),
      { numRuns: 20, endOnFailure: true },
    );
  });
});
