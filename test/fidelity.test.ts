// The error-fidelity table, in both directions of the trip: thrown in a worker and seen on the
// main thread, and thrown on the main thread and seen by a worker that waits.
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskGroupError, WaitGroup, registerErrorClass } from '../src/index.js';
import { RegisteredError, cases, summarize } from '../workers/fidelity-cases.js';
import { startFixture, terminateAll } from './helpers.js';


function next(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

afterEach(terminateAll);

registerErrorClass(RegisteredError);

describe('errors thrown in a worker, seen by the main thread', async () => {
  const wg = new WaitGroup({ name: 'fidelity' });
  const worker = startFixture('fidelity', { mode: 'throw', group: wg.share() });
  const workerThread = worker.threadId;
  const { sent } = (await next(worker)) as { sent: Record<string, unknown> };
  const outcome = await wg.wait().then(
    () => undefined,
    (error: unknown) => error,
  );
  await worker.terminate();

  it('rejects with every failure, in the order thrown, labelled with its case', () => {
    expect(outcome).toBeInstanceOf(TaskGroupError);
    const error = outcome as TaskGroupError;
    expect(error.origins.map((o) => o.label)).toEqual(cases.map((c) => c.name));
    expect(new Set(error.origins.map((o) => o.threadId))).toEqual(new Set([workerThread]));
  });

  cases.forEach((c, i) => {
    it(c.name, () => {
      const received: unknown = (outcome as TaskGroupError).errors[i];
      expect(c.check(received, sent[c.name])).toEqual([]);
    });
  });
});

describe('errors thrown on the main thread, seen by a worker that waits', () => {
  it('every case arrives intact', async () => {
    const wg = new WaitGroup({ name: 'fidelity-back' });
    const values = cases.map((c) => c.make());
    const summaries = Object.fromEntries(cases.map((c, i) => [c.name, summarize(values[i])]));
    const gate = wg.add('gate');
    const worker = startFixture('fidelity', { mode: 'wait', group: wg.share(), summaries });
    expect(await next(worker)).toBe('waiting');
    cases.forEach((c, i) => {
      wg.go(() => {
        throw values[i];
      }, c.name);
    });
    const reply = next(worker);
    gate.done();
    const { problems } = (await reply) as { problems: Record<string, string[]> };
    expect(problems).toEqual(Object.fromEntries(cases.map((c) => [c.name, []])));
  });
});
