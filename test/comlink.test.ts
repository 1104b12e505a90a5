// The comlink integration: groups and tasks cross as live objects, rejections keep their class,
// code and cause, and a call pending on a worker that dies fails its group task instead of hanging.
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { registerTransferHandlers, wrapWorker } from '../src/integrations/comlink.js';
import { Task, TaskGroupError, WaitGroup, WorkerExitedError } from '../src/index.js';
import type { Api } from '../workers/comlink-worker.js';
import { rejectionOf } from './helpers.js';

let worker: Worker;
beforeEach(() => {
  registerTransferHandlers();
  worker = new Worker(new URL('../dist/workers/comlink-worker.js', import.meta.url));
});
afterEach(async () => {
  await worker.terminate();
});

it('passes a WaitGroup argument as a live object of the same group', async () => {
  const wg = new WaitGroup({ name: 'comlink' });
  const api = wrapWorker<Api>(worker);
  expect(await api.addAndFinish(wg, 5)).toEqual({ added: 5, done: 5, failed: 0, pending: 0 });
  expect(wg.stats()).toEqual({ added: 5, done: 5, failed: 0, pending: 0 });
});

it('passes Task arguments and results as live tasks', async () => {
  const wg = new WaitGroup();
  const api = wrapWorker<Api>(worker);
  const made = await api.makeTask(wg);
  expect(made).toBeInstanceOf(Task);
  expect(wg.stats().pending).toBe(1);
  expect(made.done()).toBe(true);
  expect(await api.finish(wg.add('finished there'))).toBe(true);
  expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
});

it('keeps the class, code and cause of a rejection, in the call and in the group', async () => {
  const wg = new WaitGroup();
  const api = wrapWorker<Api>(worker);
  const direct = await api.fail().catch((e: unknown) => e);
  expect(direct).toBeInstanceOf(RangeError);
  expect(direct).toMatchObject({ code: 'E_REMOTE', cause: expect.any(TypeError) as unknown });
  wg.go(() => api.fail(), 'remote call');
  const error = await wg.wait().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TaskGroupError);
  expect((error as TaskGroupError).errors[0]).toMatchObject({ code: 'E_REMOTE', cause: expect.any(TypeError) as unknown });
});

it('fails, rather than hangs, a call pending on a worker that dies', async () => {
  const wg = new WaitGroup();
  const api = wrapWorker<Api>(worker);
  const id = worker.threadId;
  wg.go(() => api.crash(), 'doomed call');
  const error = await wg.wait({ timeout: 20_000 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TaskGroupError);
  expect((error as TaskGroupError).errors[0]).toBeInstanceOf(WorkerExitedError);
  expect((error as TaskGroupError).errors[0]).toMatchObject({ code: 'ERR_WORKER_EXITED', threadId: id, exitCode: 3 });
});

it('names the method whose call was pending in the WorkerExitedError', async () => {
  const api = wrapWorker<Api>(worker);
  const error = await rejectionOf(api.crash());
  expect(error).toBeInstanceOf(WorkerExitedError);
  expect(error).toMatchObject({ code: 'ERR_WORKER_EXITED', label: 'crash()', exitCode: 3 });
  // A call made once the worker is gone rejects at once, naming its method too.
  await expect(api.makeTask(new WaitGroup())).rejects.toMatchObject({ code: 'ERR_WORKER_EXITED', label: 'makeTask()' });
});
