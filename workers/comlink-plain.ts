// A comlink worker that never registered shared-waitgroup's transfer handlers: plain
// Comlink.expose(), so its failures cross in comlink's own shape (message, name, stack).
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

const api = {
  echo(value: string): string {
    return value;
  },
  fail(): Promise<void> {
    return Promise.reject(Object.assign(new RangeError('rejected in a plain worker'), { code: 'E_PLAIN' }));
  },
};

/** The API as the main thread sees it. */
export type PlainApi = typeof api;

if (parentPort === null) throw new Error('comlink-plain.ts runs as a worker');
Comlink.expose(api, nodeEndpoint(parentPort));
