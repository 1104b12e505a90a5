// A comlink worker whose failures cross as shared-waitgroup 0.1.0 sent them: `{ envelope }`, the
// failure envelope alone, with no wire version. Stands for another version of the library on the
// worker's side of a comlink channel.
import { parentPort, threadId } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { registerTransferHandlers } from '../src/integrations/comlink.js';
import { encodeFailure } from '../src/errors/envelope.js';

registerTransferHandlers();
const current = Comlink.transferHandlers.get('throw') as Comlink.TransferHandler<{ value: unknown }, unknown>;
Comlink.transferHandlers.set('throw', {
  canHandle: (value): value is { value: unknown } => current.canHandle(value),
  serialize: ({ value }: { value: unknown }) => [{ envelope: encodeFailure(value, { threadId, group: 'comlink' }) }, []],
  deserialize: (wire: unknown) => current.deserialize(wire),
} satisfies Comlink.TransferHandler<{ value: unknown }, unknown>);

const api = {
  fail(): Promise<void> {
    return Promise.reject(Object.assign(new RangeError('rejected in an older worker'), { code: 'E_OLD' }));
  },
};

/** The API as the main thread sees it. */
export type OldApi = typeof api;

if (parentPort === null) throw new Error('comlink-old-wire.ts runs as a worker');
Comlink.expose(api, nodeEndpoint(parentPort));
