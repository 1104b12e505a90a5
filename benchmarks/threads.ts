// Scenarios 2, 5 and 8: work completed in worker threads. 2: completions from two workers into one
// group while the main thread awaits wait(); 5: failures delivered in full; 8: three threads
// hammering add/done on one group. Each against what users would otherwise write.
import { TaskGroupError, WaitGroup } from '../src/index.js';
import { withAgents, type Agents } from './agent.js';
import { alternate, progress, samplesOf, type Scenario } from './scenario.js';
import { clock } from './stats.js';

const MS = 1e6;

async function settle(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Resolves once the agents' ports have delivered `total` messages, each passed to `each`. */
function messages(agents: Agents, total: number, each: (message: unknown) => void = () => undefined): Promise<void> {
  let count = 0;
  return new Promise((resolve) => {
    const listener = (message: unknown): void => {
      each(message);
      if (++count !== total) return;
      for (const port of agents.ports) port.off('message', listener);
      resolve();
    };
    for (const port of agents.ports) port.on('message', listener);
  });
}

export const completions: Scenario = {
  id: 2,
  name: 'completions',
  run: async (settings) => {
    const total = settings.quick ? 10_000 : 100_000;
    const per = total / 2;
    // Each sample lasts a few ms: one time slice lost to another process is a large outlier, so many samples.
    const rounds = samplesOf(settings, 15);
    const ours: number[] = [];
    const posted: number[] = [];
    const raw: number[] = [];
    const addDone: number[] = [];
    progress(`2: ${rounds} rounds of ${total} completions from 2 workers, 4 ways`);
    await withAgents(2, async (agents) => {
      const series = [
        async (into: number[]) => {
          const wg = new WaitGroup({ name: 'countdown' });
          const tasks = [wg.add(per, 'worker 1'), wg.add(per, 'worker 2')];
          const started = await agents.start(tasks.map((task) => ({ op: 'done', task: task.share(), n: per })));
          const waited = wg.wait();
          const start = started.go();
          await waited;
          into.push((clock() - start) / MS);
          await started.finished;
        },
        async (into: number[]) => {
          const started = await agents.start([0, 1].map(() => ({ op: 'post', n: per })));
          const received = messages(agents, total);
          const start = started.go();
          await received;
          into.push((clock() - start) / MS);
          await started.finished;
        },
        async (into: number[]) => {
          const counter = new Int32Array(new SharedArrayBuffer(4));
          counter[0] = total;
          const started = await agents.start([0, 1].map(() => ({ op: 'count-down', counter, n: per })));
          const result = Atomics.waitAsync(counter, 0, total);
          const start = started.go();
          if (result.async) await result.value;
          into.push((clock() - start) / MS);
          await started.finished;
        },
        async (into: number[]) => {
          // Each completion its own task, added and done in the worker: the workers' own work.
          const wg = new WaitGroup({ name: 'add-done' });
          const started = await agents.start([0, 1].map(() => ({ op: 'add-done', group: wg.share(), n: per })));
          const start = started.go();
          await started.finished;
          await wg.wait();
          into.push((clock() - start) / MS);
        },
      ];
      // A round not kept: JIT warm-up of both sides.
      for (const run of series) await run([]);
      await alternate(
        rounds,
        [ours, posted, raw, addDone].map((into, i) => () => series[i]?.(into) ?? Promise.resolve()),
      );
    });
    const title = `${total.toLocaleString('en')} completions from 2 workers, main awaits`;
    return [
      {
        id: '2a',
        title,
        ours: { label: 'task.done() + wait()', unit: 'ms', samples: ours },
        baseline: { label: 'postMessage per completion', unit: 'ms', samples: posted },
        goal: { text: '<= 0.1x (10x faster)', max: 0.1 },
      },
      {
        id: '2b',
        title,
        ours: { label: 'task.done() + wait()', unit: 'ms', samples: ours },
        baseline: { label: 'Atomics countdown, notify at 0', unit: 'ms', samples: raw },
        goal: { text: '<= 1.5x', max: 1.5 },
      },
      {
        id: '2c',
        title: `context: each completion its own add().done() in the worker`,
        ours: { label: 'add().done() + wait()', unit: 'ms', samples: addDone },
        baseline: { label: 'Atomics countdown, notify at 0', unit: 'ms', samples: raw },
        goal: { text: 'reported' },
      },
    ];
  },
};

/** What a failure received by the main thread kept of the thrown error (class, code, cause). */
function faithful(value: unknown): boolean {
  return value instanceof RangeError && (value as { code?: unknown }).code === 'E_BENCH' && value.cause instanceof TypeError;
}

export const failures: Scenario = {
  id: 5,
  name: 'failures',
  run: async (settings) => {
    const total = settings.quick ? 1_000 : 10_000;
    const per = total / 2;
    const rounds = samplesOf(settings, 7);
    const ours: number[] = [];
    const posted: number[] = [];
    const phases = { record: [] as number[], decode: [] as number[] };
    const lost = { ours: 0, oursFields: 0, posted: 0, postedFields: 0 };
    progress(`5: ${rounds} rounds of ${total} failing tasks from 2 workers`);
    await withAgents(2, async (agents) => {
      const runOurs = async (into: number[]): Promise<void> => {
        const wg = new WaitGroup({ name: 'failures', maxFailures: total, failureBytes: 256 * 1024 * 1024 });
        // Held by the main thread until both workers are through, so that the wait cannot end
        // between one worker's tasks and the other's.
        const guard = wg.add('guard');
        const started = await agents.start([0, 1].map(() => ({ op: 'fail', group: wg.share(), n: per })));
        // Waiting from the start, as a user would (the baseline's main thread receives as they come).
        const waited = settle(wg.wait());
        const start = started.go();
        await started.finished;
        const recorded = clock();
        guard.done();
        const outcome = await waited;
        const end = clock();
        into.push((end - start) / MS);
        phases.record.push((recorded - start) / MS);
        phases.decode.push((end - recorded) / MS);
        if (!(outcome instanceof TaskGroupError)) throw new Error('scenario 5: wait() did not reject with TaskGroupError');
        lost.ours += total - outcome.errors.length + outcome.omitted;
        lost.oursFields += outcome.errors.filter((error) => !faithful(error)).length;
      };
      const runPosted = async (into: number[]): Promise<void> => {
        let unfaithful = 0;
        const started = await agents.start([0, 1].map(() => ({ op: 'post-error', n: per })));
        const received = messages(agents, total, (message) => {
          if (!faithful(message)) unfaithful++;
        });
        const start = started.go();
        await received;
        into.push((clock() - start) / MS);
        await started.finished;
        lost.postedFields += unfaithful;
      };
      await runOurs([]);
      await runPosted([]);
      phases.record.length = 0;
      phases.decode.length = 0;
      await alternate(rounds, [() => runOurs(ours), () => runPosted(posted)]);
    });
    const checked = (rounds + 1) * total;
    const mid = (values: number[]): string => ([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN).toFixed(0);
    return [
      {
        id: '5a',
        title: `${total.toLocaleString('en')} failing tasks from 2 workers, all delivered`,
        ours: { label: 'done(error) + wait()', unit: 'ms', samples: ours },
        baseline: { label: 'postMessage(error)', unit: 'ms', samples: posted },
        goal: {
          text: '<= 2x (>= 0.5x rate), none lost',
          max: 2,
          check: {
            ok: lost.ours === 0 && lost.oursFields === 0,
            why: `ours: ${mid(phases.record)} ms until both workers had recorded theirs (the waiting main thread rebuilds them meanwhile), then ${mid(phases.decode)} ms until wait() settled (medians, warm-up round excluded); ours lost ${lost.ours} of ${checked} failures and altered ${lost.oursFields} (class, code, cause); postMessage altered ${lost.postedFields} of ${checked} (it drops \`code\`)`,
          },
        },
      },
    ];
  },
};

export const contention: Scenario = {
  id: 8,
  name: 'contention',
  run: async (settings) => {
    const n = settings.quick ? 20_000 : 300_000;
    const rounds = samplesOf(settings, 7);
    const ours: number[] = [];
    const raw: number[] = [];
    progress(`8: ${rounds} rounds of ${n} add/done pairs in each of 3 threads on one group`);
    await withAgents(2, async (agents) => {
      const runOurs = async (into: number[], count: number): Promise<void> => {
        const wg = new WaitGroup({ name: 'contention' });
        const started = await agents.start([0, 1].map(() => ({ op: 'add-done', group: wg.share(), n: count })));
        const start = started.go();
        for (let i = 0; i < count; i++) wg.add().done();
        await started.finished;
        into.push((clock() - start) / (3 * count));
        if (wg.stats().added !== 3 * count || wg.stats().pending !== 0) throw new Error('scenario 8: lost an add or a done');
      };
      const runRaw = async (into: number[], count: number): Promise<void> => {
        const counter = new Int32Array(new SharedArrayBuffer(4));
        const started = await agents.start([0, 1].map(() => ({ op: 'add-sub', counter, n: count })));
        const start = started.go();
        for (let i = 0; i < count; i++) {
          Atomics.add(counter, 0, 1);
          Atomics.sub(counter, 0, 1);
        }
        await started.finished;
        into.push((clock() - start) / (3 * count));
      };
      await runOurs([], n / 10);
      await runRaw([], n / 10);
      await alternate(rounds, [() => runOurs(ours, n), () => runRaw(raw, n)]);
    });
    return [
      {
        id: '8a',
        title: `contention: 2 workers + main, ${n.toLocaleString('en')} add/done pairs each, one group`,
        ours: { label: 'add().done()', unit: 'ns/pair', samples: ours },
        baseline: { label: 'Atomics.add+sub, one word', unit: 'ns/pair', samples: raw },
        goal: { text: '<= 2x', max: 2 },
        note: 'aggregate wall time / (3 x pairs): three threads on two cores',
      },
    ];
  },
};
