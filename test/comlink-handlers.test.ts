// The comlink transfer handlers on both sides of a channel: wrapWorker() registers what it needs
// itself, and a mismatch between the sides (one side without the handlers, or another version of
// them) rejects with ERR_COMLINK_MISMATCH, the failure as its cause, never with `undefined`.
//
// Handlers are registered per thread, for good: this file's tests run in order, the one that needs
// this thread without them first (vitest gives each test file a process of its own).
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { afterEach, describe, expect, it } from 'vitest';
import { wrapWorker } from '../src/integrations/comlink.js';
import { WaitGroup, WaitGroupError } from '../src/index.js';
import type { Api } from '../workers/comlink-worker.js';
import type { OldApi } from '../workers/comlink-old-wire.js';
import type { PlainApi } from '../workers/comlink-plain.js';
import { rejectionOf } from './helpers.js';

const workers: Worker[] = [];

function start(fixture: string): Worker {
  const worker = new Worker(new URL(`../dist/workers/${fixture}.js`, import.meta.url));
  workers.push(worker);
  return worker;
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
});

describe('one side without the handlers', () => {
  it('this thread without them (plain Comlink.wrap), the worker with them: ERR_COMLINK_MISMATCH, not undefined', async () => {
    expect(Comlink.transferHandlers.has('shared-waitgroup')).toBe(false);
    const api = Comlink.wrap<Api>(nodeEndpoint(start('comlink-worker')));
    const error = await rejectionOf(api.fail());
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'ERR_COMLINK_MISMATCH', cause: { name: 'RangeError', code: 'E_REMOTE' } });
  });

  it('wrapWorker() registers them itself: the failure arrives in full', async () => {
    const worker = start('comlink-worker');
    const api = wrapWorker<Api>(worker);
    expect(Comlink.transferHandlers.has('shared-waitgroup')).toBe(true);
    const error = await rejectionOf(api.fail());
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'E_REMOTE', cause: expect.any(TypeError) as unknown });
    const wg = new WaitGroup();
    expect(await api.addAndFinish(wg, 2)).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it('the worker without them (plain Comlink.expose) behind wrapWorker(): ERR_COMLINK_MISMATCH, its failure as the cause', async () => {
    const api = wrapWorker<PlainApi>(start('comlink-plain'));
    expect(await api.echo('fine')).toBe('fine');
    const error = await rejectionOf(api.fail());
    expect(error).toBeInstanceOf(WaitGroupError);
    expect(error).toMatchObject({ code: 'ERR_COMLINK_MISMATCH', cause: { name: 'RangeError', message: 'rejected in a plain worker' } });
  });
  it('the worker without them cannot take a group: it exits (comlink throws in it), and the call rejects with ERR_WORKER_EXITED', async () => {
    const worker = start('comlink-plain');
    const thrown = new Promise((resolve) => worker.once('error', resolve));
    const api = wrapWorker<PlainApi>(worker);
    const error = await rejectionOf(api.echo(new WaitGroup() as unknown as string));
    expect(error).toMatchObject({ code: 'ERR_WORKER_EXITED', label: 'echo()' });
    expect(await thrown).toBeInstanceOf(Error);
  });
});

describe('another version on the other side', () => {
  it("a failure in another version's wire format: ERR_COMLINK_MISMATCH, the failure as the cause", async () => {
    const api = wrapWorker<OldApi>(start('comlink-old-wire'));
    const error = await rejectionOf(api.fail());
    expect(error).toBeInstanceOf(WaitGroupError);
    expect(error).toMatchObject({ code: 'ERR_COMLINK_MISMATCH' });
    expect((error as Error).cause).toBeInstanceOf(RangeError);
    expect((error as Error).cause).toMatchObject({ code: 'E_OLD' });
  });
});
