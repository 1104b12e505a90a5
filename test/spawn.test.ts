// spawn() starts a worker that joins a group, holding a task of the group until the worker calls
// ready() (or exits): a wait() started at once still waits for the work the worker registers.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { WaitGroup, WorkerExitedError, spawn, spawned } from '../src/index.js';
import { DONE, WAITING, type SpawnedData, type SpawnedMode } from '../workers/spawned.js';
import { newMarks, set } from '../workers/sync.js';
import { failureOf } from './outcomes.js';

const fixture = new URL('../dist/workers/spawned.js', import.meta.url);
const workers: Worker[] = [];

function start(group: WaitGroup, mode: SpawnedMode, label?: string): { worker: Worker; marks: Int32Array } {
  const marks = newMarks();
  const workerData: SpawnedData = { mode, marks };
  const worker = spawn(group, fixture, label === undefined ? { workerData } : { workerData, label });
  workers.push(worker);
  return { worker, marks };
}

function exited(worker: Worker): Promise<number> {
  return new Promise((resolve) => worker.once('exit', resolve));
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
});

describe('spawn()', () => {
  it('holds a wait() started at once until the worker has registered its work, and the work is done', async () => {
    const wg = new WaitGroup({ name: 'spawned' });
    const { marks } = start(wg, 'late-work');
    const waiting = wg.wait({ timeout: 20_000 });
    // The worker registers its work only now, well after the wait started.
    set(marks, WAITING);
    await waiting;
    expect(Atomics.load(marks, DONE)).toBe(1);
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it('passes workerData through as given', async () => {
    const wg = new WaitGroup();
    const { worker, marks } = start(wg, 'echo');
    const echoed = await new Promise((resolve) => worker.once('message', resolve));
    expect(echoed).toEqual({ mode: 'echo', marks });
    await wg.wait({ timeout: 20_000 });
  });

  it('fails the held task with ERR_WORKER_EXITED when the worker exits before it takes the group', async () => {
    const wg = new WaitGroup({ name: 'early exit' });
    const { worker } = start(wg, 'exit-early', 'start crashy');
    const id = worker.threadId;
    const failure = await failureOf(wg, { timeout: 20_000 });
    expect(failure.errors).toHaveLength(1);
    expect(failure.errors[0]).toBeInstanceOf(WorkerExitedError);
    expect(failure.errors[0]).toMatchObject({ code: 'ERR_WORKER_EXITED', threadId: id, exitCode: 3, label: 'start crashy' });
    expect(failure.origins[0]?.label).toBe('start crashy');
  });

  it('fails the held task with ERR_WORKER_EXITED when the worker ends without ready()', async () => {
    const wg = new WaitGroup({ name: 'forgot ready' });
    const { worker } = start(wg, 'forget');
    expect(await exited(worker)).toBe(0);
    const failure = await failureOf(wg, { timeout: 20_000 });
    expect(failure.errors).toHaveLength(1);
    expect(failure.errors[0]).toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 0 });
  });

  it('fails the held task with the error given to ready()', async () => {
    const wg = new WaitGroup({ name: 'not ready' });
    start(wg, 'not-ready');
    const failure = await failureOf(wg, { timeout: 20_000 });
    expect(failure.errors).toHaveLength(1);
    expect(failure.errors[0]).toMatchObject({ code: 'E_START' });
  });

  it('checks its arguments; a Worker that cannot start holds nothing', () => {
    const wg = new WaitGroup();
    expect(() => spawn({} as unknown as WaitGroup, fixture)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }) as Error);
    expect(() => spawn(wg, fixture, { label: 1 as unknown as string })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }) as Error);
    expect(() => spawn(wg, 'relative/path.js')).toThrow(expect.objectContaining({ code: 'ERR_WORKER_PATH' }) as Error);
    expect(wg.stats().pending).toBe(0);
  });
});

describe('spawned()', () => {
  it('throws ERR_NOT_SPAWNED in a thread spawn() did not start', () => {
    expect(() => spawned()).toThrow(expect.objectContaining({ code: 'ERR_NOT_SPAWNED' }) as Error);
  });
});
