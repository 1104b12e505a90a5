// Scenarios 1 and 6, one thread: what an add() + done() pair costs next to the raw atomics it is
// made of and next to a single-thread wait group, and whether that cost grows with the number of
// tasks pending in the group.
import { WaitGroup as JpWaitGroup } from '@jpwilliams/waitgroup';
import { DEFAULT_CAPACITY, WaitGroup, type Task } from '../src/index.js';
import { alternate, gc, progress, samplesOf, type Scenario } from './scenario.js';
import { clock, type Row } from './stats.js';

// One loop per subject, each called with one kind of argument only, so that V8 inlines the pair in
// its loop alike for all three (a shared loop taking a callback would add a call to each pair,
// which is a large share of the raw pair's cost). Each function holds a single loop and is warmed
// up by a call of n/10 pairs not timed (warm()): V8 shares one inlining budget among all the call
// sites of a function, so a second, warm-up loop in the same function would halve it.

/** ns per add().done() pair on `wg`. */
function oursLoop(wg: WaitGroup, n: number): number {
  const start = clock();
  for (let i = 0; i < n; i++) wg.add().done();
  return (clock() - start) / n;
}

/** ns per Atomics.add + Atomics.sub pair on a SharedArrayBuffer word. */
function rawLoop(counter: Int32Array, n: number): number {
  const start = clock();
  for (let i = 0; i < n; i++) {
    Atomics.add(counter, 0, 1);
    Atomics.sub(counter, 0, 1);
  }
  return (clock() - start) / n;
}

/** ns per add() + done() pair of @jpwilliams/waitgroup. */
function jpLoop(group: JpWaitGroup, n: number): number {
  const start = clock();
  for (let i = 0; i < n; i++) {
    group.add();
    group.done();
  }
  return (clock() - start) / n;
}

/** Runs `loop` for n/10 pairs untimed, then returns its timing of n pairs. */
function warm<T>(loop: (subject: T, n: number) => number, subject: T, n: number): number {
  loop(subject, Math.ceil(n / 10));
  return loop(subject, n);
}

export const addDone: Scenario = {
  id: 1,
  name: 'add-done',
  run: async (settings) => {
    const n = settings.quick ? 20_000 : 1_000_000;
    const rounds = samplesOf(settings, 9);
    const ours: number[] = [];
    const raw: number[] = [];
    const jp: number[] = [];
    const wg = new WaitGroup({ name: 'bench' });
    const counter = new Int32Array(new SharedArrayBuffer(64));
    const jpGroup = new JpWaitGroup();
    progress(`1: ${rounds} x ${n} pairs each of ours, raw Atomics, @jpwilliams/waitgroup`);
    await alternate(rounds, [
      () => {
        ours.push(warm(oursLoop, wg, n));
        return Promise.resolve();
      },
      () => {
        raw.push(warm(rawLoop, counter, n));
        return Promise.resolve();
      },
      () => {
        jp.push(warm(jpLoop, jpGroup, n));
        return Promise.resolve();
      },
    ]);
    const title = `add()+done() pair, 1 thread, ${n.toLocaleString('en')} times`;
    const floor = jp.length > 0 && raw.length > 0 ? Math.min(...jp) < Math.min(...raw) : false;
    return [
      {
        id: '1a',
        title,
        ours: { label: 'add().done()', unit: 'ns', samples: ours },
        baseline: { label: 'Atomics.add+sub', unit: 'ns', samples: raw },
        goal: { text: '<= 3x', max: 3 },
      },
      {
        id: '1b',
        title,
        ours: { label: 'add().done()', unit: 'ns', samples: ours },
        baseline: { label: '@jpwilliams/waitgroup', unit: 'ns', samples: jp },
        goal: { text: '< 1x (faster)', max: 1 },
        note: floor
          ? 'the single-thread package (a plain field += 1, no atomics, no handle) is faster than the raw Atomics pair itself (row 1c): no shared-memory wait group can beat it'
          : 'see row 1c',
      },
      {
        id: '1c',
        title: 'context: the single-thread package against the raw Atomics floor',
        ours: { label: '@jpwilliams/waitgroup', unit: 'ns', samples: jp },
        baseline: { label: 'Atomics.add+sub', unit: 'ns', samples: raw },
        goal: { text: 'context' },
      },
    ];
  },
};

/** `count` tasks added to `wg` and held, as a user holds the tasks in flight. */
function fill(wg: WaitGroup, count: number): Task[] {
  const held: Task[] = [];
  for (let i = 0; i < count; i++) held.push(wg.add());
  return held;
}

export const pending: Scenario = {
  id: 6,
  name: 'pending',
  run: async (settings) => {
    const levels = settings.quick ? [10, 1_000, 10_000] : [10, 10_000, 1_000_000];
    const n = settings.quick ? 20_000 : 1_000_000;
    const rounds = samplesOf(settings, 7);
    const costs = levels.map((): number[] => []);
    progress(`6: ${rounds} rounds of ${n} add()+done() pairs with ${levels.join(' / ')} tasks pending`);
    await alternate(
      rounds,
      levels.map((level, index) => () => {
        gc();
        const wg = new WaitGroup({ name: `pending-${level}`, capacity: Math.max(DEFAULT_CAPACITY, level + 64) });
        const held = fill(wg, level);
        // Collected now, so that no collection the filling started runs during the timed loop.
        gc();
        costs[index]?.push(warm(oursLoop, wg, n));
        for (const task of held) task.done();
        if (wg.stats().pending !== 0) throw new Error(`scenario 6: ${wg.stats().pending} tasks left pending`);
        return Promise.resolve();
      }),
    );
    const base = { label: `${levels[0] ?? 0} pending`, unit: 'ns', samples: costs[0] ?? [] };
    return levels.slice(1).map(
      (level, index): Row => ({
        id: `6${String.fromCharCode(97 + index)}`,
        title: `add()+done() pair with ${level.toLocaleString('en')} tasks pending`,
        ours: { label: `${level.toLocaleString('en')} pending`, unit: 'ns', samples: costs[index + 1] ?? [] },
        baseline: base,
        goal: { text: '<= 1.5x', max: 1.5 },
      }),
    );
  },
};
