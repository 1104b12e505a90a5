// Nothing lost, nothing late: 4 workers complete 10 000 tasks a round, 1 000 of them failing, and
// every wait of every round (on the main thread, and blocking in another worker) reports exactly
// the failures of the rounds so far: none missing, none twice, none from a later round.
import { afterEach, expect, it } from 'vitest';
import { TaskGroupError, WaitGroup } from '../src/index.js';
import { FINISHED, RELEASED } from '../workers/load-marks.js';
import { newMarks, reach, set } from '../workers/sync.js';
import { startFixture, terminateAll } from './helpers.js';

afterEach(terminateAll);

const WORKERS = 4;
const ROUNDS = 3;
const TASKS = 2500;
const EVERY = 10;

function expected(round: number): string[] {
  const messages: string[] = [];
  for (let r = 1; r <= round; r++) {
    for (let w = 0; w < WORKERS; w++) for (let i = 0; i < TASKS; i += EVERY) messages.push(`round ${r} worker ${w} task ${i}`);
  }
  return messages.sort();
}

it('reports exactly the failures before each completion, in every round, to every waiter', async () => {
  const wg = new WaitGroup({ name: 'load', maxFailures: ROUNDS * WORKERS * (TASKS / EVERY) });
  const marks = newMarks();
  const data = { group: wg.share(), marks, rounds: ROUNDS, tasks: TASKS, every: EVERY };
  for (let index = 0; index < WORKERS; index++) startFixture('load', { ...data, role: 'worker', index });
  const waiter = startFixture('load', { ...data, role: 'waiter', index: -1 });
  const reports: { round: number; failures: number; messages: string[] }[] = [];
  waiter.on('message', (report: (typeof reports)[number]) => reports.push(report));

  for (let round = 1; round <= ROUNDS; round++) {
    const gate = wg.add('gate');
    // Waiting from before the work starts, so the wait overlaps the failures as they are recorded.
    const outcome = wg.wait({ timeout: 20_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    set(marks, RELEASED, round);
    await reach(marks, FINISHED, WORKERS * round);
    const report = new Promise((resolve) => waiter.once('message', resolve));
    gate.done();
    const error = await outcome;
    expect(error).toBeInstanceOf(TaskGroupError);
    const messages = (error as TaskGroupError).errors.map((e) => (e as Error).message);
    expect(messages).toHaveLength(round * WORKERS * (TASKS / EVERY));
    expect([...messages].sort()).toEqual(expected(round));
    expect((error as TaskGroupError).omitted).toBe(0);
    await report;
    const seen = reports[round - 1];
    expect(seen?.round).toBe(round);
    expect(seen?.failures).toBe(messages.length);
    expect([...(seen?.messages ?? [])].sort()).toEqual(expected(round));
  }
  expect(wg.stats()).toEqual({ added: ROUNDS * (WORKERS * TASKS + 1), done: ROUNDS * (WORKERS * TASKS + 1), failed: ROUNDS * WORKERS * (TASKS / EVERY), pending: 0 });
});

it('keeps memory bounded: the first maxFailures in full, the rest counted', async () => {
  const wg = new WaitGroup({ name: 'bounded', maxFailures: 100 });
  for (let i = 0; i < 1000; i++) wg.add().done(new Error(`failure ${i}`));
  const error = await wg.wait().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TaskGroupError);
  expect((error as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(Array.from({ length: 100 }, (_, i) => `failure ${i}`));
  expect((error as TaskGroupError).omitted).toBe(900);
  expect(wg.stats().failed).toBe(1000);
});

it('keeps memory bounded by bytes: failures past failureBytes are counted, with a stand-in while room remains', async () => {
  const wg = new WaitGroup({ name: 'bytes', failureBytes: 64 * 1024 });
  for (let i = 0; i < 50; i++) wg.add().done(new Error('x'.repeat(10_000)));
  const error = await wg.wait().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TaskGroupError);
  const { errors, omitted } = error as TaskGroupError;
  expect(errors.length + omitted).toBe(50);
  expect(omitted).toBeGreaterThan(0);
  expect(errors.length).toBeGreaterThan(0);
});
