// Worker fixture for the comlink integration: exposes an API whose arguments and results are
// groups and tasks, one that throws a rich error, and one that crashes with a call pending.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { registerTransferHandlers } from '../src/integrations/comlink.js';
import type { Task, WaitGroup, WaitGroupStats } from '../src/index.js';

registerTransferHandlers();

const api = {
  addAndFinish(wg: WaitGroup, count: number): WaitGroupStats {
    for (let i = 0; i < count; i++) wg.add(`remote ${i}`).done();
    return wg.stats();
  },
  makeTask(wg: WaitGroup): Task {
    return wg.add('made in the worker');
  },
  finish(task: Task): boolean {
    return task.done();
  },
  fail(): Promise<void> {
    return Promise.reject(Object.assign(new RangeError('rejected in the worker'), { code: 'E_REMOTE', cause: new TypeError('the reason') }));
  },
  crash(): Promise<never> {
    setImmediate(() => process.exit(3));
    return new Promise(() => undefined);
  },
};

/** The API as the main thread sees it. */
export type Api = typeof api;

if (parentPort === null) throw new Error('comlink-worker.ts runs as a worker');
Comlink.expose(api, nodeEndpoint(parentPort));
