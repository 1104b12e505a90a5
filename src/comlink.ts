/**
 * The comlink integration. Runs on both sides of a thread boundary: call
 * `registerTransferHandlers()` in every thread that talks comlink. comlink is an optional peer
 * dependency, loaded only by code that imports this entry point.
 * @module shared-waitgroup/comlink
 */
import { parentPort, threadId, type Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { decodeFailure, encodeFailure } from './envelope.js';
import { WaitGroupError, WorkerExitedError } from './errors.js';
import { WaitGroup } from './group.js';
import { checkSharedGroup, checkSharedTask, type SharedTask, type SharedWaitGroup } from './share.js';
import { Task } from './task.js';

/** What our 'throw' handler puts on the wire: the failure in a full-fidelity envelope. */
interface ThrownWire {
  readonly envelope: Uint8Array;
}

type ThrowHandler = Comlink.TransferHandler<{ value: unknown }, unknown>;

let registered = false;

/**
 * Teaches comlink, in the calling thread, to pass `WaitGroup` and `Task` arguments and return values
 * as live objects of the same group, and to carry thrown errors with their class, `code`, `cause`
 * and other properties (comlink's own handler keeps only message, name and stack). Call it in every
 * thread that uses comlink; calling it again does nothing. comlink applies handlers to top-level
 * arguments and return values only (not to values nested in objects: share() those yourself).
 * `exposeToParent()` calls it for you; on the other side, call it before the first `wrapWorker()` call.
 */
export function registerTransferHandlers(): void {
  if (registered) return;
  registered = true;
  const group: Comlink.TransferHandler<WaitGroup, SharedWaitGroup> = {
    canHandle: (value): value is WaitGroup => value instanceof WaitGroup,
    serialize: (wg) => [wg.share(), []],
    deserialize: (shared) => {
      checkSharedGroup(shared);
      return WaitGroup.from(shared);
    },
  };
  const task: Comlink.TransferHandler<Task, SharedTask> = {
    canHandle: (value): value is Task => value instanceof Task,
    serialize: (t) => [t.share(), []],
    deserialize: (shared) => {
      checkSharedTask(shared);
      return Task.from(shared);
    },
  };
  Comlink.transferHandlers.set('shared-waitgroup', group);
  Comlink.transferHandlers.set('shared-waitgroup/task', task);
  const original = Comlink.transferHandlers.get('throw') as ThrowHandler | undefined;
  if (original === undefined) return;
  const faithful: ThrowHandler = {
    canHandle: (value): value is { value: unknown } => original.canHandle(value),
    serialize: ({ value }) => [{ envelope: encodeFailure(value, { threadId, group: 'comlink' }) } satisfies ThrownWire, []],
    deserialize: (wire) => {
      // A thread that did not register us sends comlink's own shape: let comlink read it.
      if (typeof wire !== 'object' || wire === null || !((wire as Partial<ThrownWire>).envelope instanceof Uint8Array)) return original.deserialize(wire);
      throw decodeFailure((wire as ThrownWire).envelope).value;
    },
  };
  Comlink.transferHandlers.set('throw', faithful);
}

/**
 * `Comlink.expose()` of `value` to the thread that created this worker, over `parentPort`, with
 * this library's transfer handlers registered: the worker side of `wrapWorker()`.
 * @param value - the object whose methods the parent calls
 * @throws {WaitGroupError} ERR_NOT_A_WORKER when called outside a worker thread
 * @example
 * ```ts
 * // worker.ts
 * import type { WaitGroup } from 'shared-waitgroup';
 * import { exposeToParent } from 'shared-waitgroup/comlink';
 *
 * const api = {
 *   crawl(group: WaitGroup, urls: string[]) {
 *     for (const url of urls) group.go((signal) => fetch(url, { signal }), url);
 *   },
 * };
 * export type Api = typeof api;
 * exposeToParent(api);
 * ```
 */
export function exposeToParent(value: unknown): void {
  if (parentPort === null) throw new WaitGroupError('ERR_NOT_A_WORKER', 'exposeToParent() runs in a worker thread; this is the main thread');
  registerTransferHandlers();
  Comlink.expose(value, nodeEndpoint(parentPort));
}

/**
 * `Comlink.wrap()` for a worker thread, whose pending calls reject with `WorkerExitedError`
 * (code `ERR_WORKER_EXITED`) if the worker exits, instead of never settling as comlink's do. A call
 * made inside `wg.go()` so fails its group task rather than hang the group.
 * @param worker - the worker that `expose()`s the object (see `exposeToParent()`)
 * @returns comlink's remote proxy, guarded
 * @example
 * ```ts
 * // main.ts
 * import { Worker } from 'node:worker_threads';
 * import { WaitGroup } from 'shared-waitgroup';
 * import { registerTransferHandlers, wrapWorker } from 'shared-waitgroup/comlink';
 * import type { Api } from './worker.js';
 *
 * registerTransferHandlers();
 * const worker = new Worker(new URL('./worker.js', import.meta.url));
 * const api = wrapWorker<Api>(worker);
 * const group = new WaitGroup();
 * await api.crawl(group, ['https://example.com/']); // the group travels as a live group
 * await group.wait(); // waits for the fetches the worker started
 * await worker.terminate();
 * ```
 */
export function wrapWorker<T>(worker: Worker): Comlink.Remote<T> {
  const id = worker.threadId;
  const exited = new Promise<never>((_, reject) => {
    worker.once('exit', (code: number) => {
      reject(new WorkerExitedError(id, code, 'a comlink call', 1));
    });
  });
  exited.catch(() => undefined); // a rejection nobody races is not an error
  return guard(Comlink.wrap<T>(nodeEndpoint(worker)), exited);
}

/** A proxy over comlink's proxy: every call and every awaited property races the worker's exit. */
function guard<T extends object>(remote: T, exited: Promise<never>): T {
  return new Proxy(remote, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof property === 'symbol' || typeof value !== 'function') return value;
      if (property === 'then') {
        const then = value as (resolve: (v: unknown) => void, reject: (e: unknown) => void) => void;
        return (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) =>
          Promise.race([new Promise((res, rej) => { then(res, rej); }), exited]).then(resolve, reject);
      }
      return guard(value as T & object, exited);
    },
    apply(target, thisArg, args) {
      return Promise.race([Reflect.apply(target as (...a: unknown[]) => unknown, thisArg, args), exited]);
    },
  });
}
