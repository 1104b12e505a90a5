/**
 * The comlink integration. Runs on both sides of a thread boundary: every thread that talks comlink
 * needs `registerTransferHandlers()`, which `exposeToParent()` and `wrapWorker()` call for you.
 * comlink is an optional peer dependency, loaded only by code that imports this entry point.
 * @module shared-waitgroup/comlink
 */
import { parentPort, threadId, type Transferable, type Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { decodeFailure, encodeFailure } from '../errors/envelope.js';
import { WaitGroupError, WorkerExitedError, describe } from '../errors/errors.js';
import { WaitGroup } from '../group/group.js';
import { checkSharedGroup, checkSharedTask, type SharedTask, type SharedWaitGroup } from '../memory/share.js';
import { Task } from '../group/task.js';

/**
 * Version of what our 'throw' handler puts on the wire. A thread that reads another version (or a
 * failure sent without our handlers) rejects with ERR_COMLINK_MISMATCH.
 */
const WIRE_VERSION = 2;

/** A failure as comlink's own 'throw' handler sends it, and reads it. */
interface ComlinkThrown {
  readonly isError: boolean;
  readonly value: unknown;
}

/**
 * What our 'throw' handler puts on the wire: the failure in a full-fidelity envelope, with the
 * wire's version; and, in comlink's own shape, what a thread without our handlers should throw
 * instead: an ERR_COMLINK_MISMATCH error (comlink assigns its properties to an Error) whose cause
 * describes the failure.
 */
interface ThrownWire extends ComlinkThrown {
  readonly isError: true;
  readonly value: { readonly name: string; readonly code: 'ERR_COMLINK_MISMATCH'; readonly message: string; readonly cause: unknown };
  readonly envelope: Uint8Array;
  readonly wire: number;
}

type ThrowHandler = Comlink.TransferHandler<{ value: unknown }, unknown>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** True for what some version of our 'throw' handler sent (0.1.0 sent `{ envelope }` alone). */
function isOurs(wire: unknown): wire is Partial<ThrownWire> & { readonly envelope: Uint8Array } {
  return isObject(wire) && wire['envelope'] instanceof Uint8Array;
}

/** A structured-cloneable description of a failure, for a thread that cannot read the envelope. */
function snapshot(value: unknown): unknown {
  if (!(value instanceof Error)) return describe(value);
  const code = (value as { code?: unknown }).code;
  const text = (part: unknown): string => (typeof part === 'string' ? part : describe(part));
  const plain = { name: text(value.name), message: text(value.message), stack: text(value.stack) };
  return typeof code === 'string' || typeof code === 'number' ? { ...plain, code } : plain;
}

function toWire(value: unknown): ThrownWire {
  return {
    isError: true,
    value: {
      name: 'WaitGroupError',
      code: 'ERR_COMLINK_MISMATCH',
      message:
        `thread ${threadId} sent a failure encoded by shared-waitgroup's comlink transfer handlers, which this thread did not ` +
        'register: call registerTransferHandlers() here (wrapWorker() does) to receive it in full; its description is the cause',
      cause: snapshot(value),
    },
    envelope: encodeFailure(value, { threadId, group: 'comlink' }),
    wire: WIRE_VERSION,
  };
}

/** What a failure sent in comlink's own shape rebuilds to, as comlink itself rebuilds it. */
function comlinkValue(original: ThrowHandler, wire: unknown): unknown {
  try {
    original.deserialize(wire);
  } catch (error) {
    return error;
  }
  return undefined;
}

let registered = false;

/**
 * Teaches comlink, in the calling thread, to pass `WaitGroup` and `Task` arguments and return values
 * as live objects of the same group, and to carry thrown errors with their class, `code`, `cause`
 * and other properties (comlink's own handler keeps only message, name and stack). Every thread that
 * uses comlink needs it; calling it again does nothing. `exposeToParent()` and `wrapWorker()` call it
 * for you. comlink applies handlers to top-level arguments and return values only (not to values
 * nested in objects: share() those yourself).
 *
 * A failure sent by a thread with these handlers to a thread without them (a plain `Comlink.wrap()`)
 * arrives there as an Error with code `ERR_COMLINK_MISMATCH`, a description of the failure
 * (`{ name, message, stack, code }`) as its `cause`. A failure sent in another version's format
 * arrives as a `WaitGroupError` `ERR_COMLINK_MISMATCH`, the failure (rebuilt where possible) as its `cause`.
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
    serialize: ({ value }) => [toWire(value), []],
    deserialize: (wire) => {
      // comlink's own shape: a thread that did not register us. Any comlink endpoint may send it;
      // wrapWorker() makes it a mismatch for its worker (see checkReplies).
      if (!isOurs(wire)) return original.deserialize(wire);
      const { value, origin } = decodeFailure(wire.envelope);
      if (wire.wire === WIRE_VERSION) throw value;
      // Another version: the envelope, if this thread can read it (an unreadable one has no origin), else its description.
      const readable = origin.threadId >= 0 || !isObject(wire.value);
      throw new WaitGroupError(
        'ERR_COMLINK_MISMATCH',
        `a comlink call failed in a thread whose shared-waitgroup sends failures in another format (version ${describe(wire.wire)}, ` +
          `this thread reads version ${WIRE_VERSION}): install one version of shared-waitgroup; the failure, as far as it could be read, is the cause`,
        { cause: readable ? value : wire.value.cause },
      );
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
 * `Comlink.wrap()` for a worker thread, with this library's transfer handlers registered (no need
 * to call `registerTransferHandlers()` first), whose pending calls reject with `WorkerExitedError`
 * (code `ERR_WORKER_EXITED`, `label` the method called, e.g. `'index()'`) if the worker exits,
 * instead of never settling as comlink's do. A call made inside `wg.go()` so fails its group task
 * rather than hang the group.
 *
 * The worker must have registered the handlers too (`exposeToParent()` does): a failure it sends
 * without them (comlink's own format, which drops `code`, class and `cause`) rejects with a
 * `WaitGroupError` `ERR_COMLINK_MISMATCH` whose `cause` is the failure as comlink rebuilt it. (Such a
 * worker cannot receive a group or a task at all: comlink throws in it, an uncaught exception (the
 * `Worker`'s `'error'` event), it exits, and the call rejects with `ERR_WORKER_EXITED`.)
 * @param worker - the worker that `expose()`s the object (see `exposeToParent()`)
 * @returns comlink's remote proxy, guarded
 * @throws {WaitGroupError} ERR_COMLINK_MISMATCH (as a call's rejection) for a failure the worker sent without
 *   this library's handlers, or in another version's format
 * @throws {WorkerExitedError} ERR_WORKER_EXITED (as a call's rejection) when the worker exits with the call pending, or before it
 * @example
 * ```ts
 * // main.ts
 * import { Worker } from 'node:worker_threads';
 * import { WaitGroup } from 'shared-waitgroup';
 * import { wrapWorker } from 'shared-waitgroup/comlink';
 * import type { Api } from '../worker.js';
 *
 * const worker = new Worker(new URL('./worker.js', import.meta.url));
 * const api = wrapWorker<Api>(worker);
 * const group = new WaitGroup();
 * await api.crawl(group, ['https://example.com/']); // the group travels as a live group
 * await group.wait(); // waits for the fetches the worker started
 * await worker.terminate();
 * ```
 */
export function wrapWorker<T>(worker: Worker): Comlink.Remote<T> {
  registerTransferHandlers();
  const id = worker.threadId;
  // One 'exit' listener for every call: a listener per pending call would pass EventEmitter's limit.
  const pending = new Set<(exitCode: number) => void>();
  let exitCode: number | undefined;
  worker.once('exit', (code: number) => {
    exitCode = code;
    for (const reject of pending) reject(code);
    pending.clear();
  });
  const race = <V>(call: PromiseLike<V>, label: string): Promise<V> =>
    new Promise<V>((resolve, reject) => {
      const exited = (code: number): void => {
        reject(new WorkerExitedError(id, code, label, 1));
      };
      if (exitCode !== undefined) {
        exited(exitCode);
        return;
      }
      pending.add(exited);
      call.then(
        (value) => {
          pending.delete(exited);
          resolve(value);
        },
        (error: unknown) => {
          pending.delete(exited);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the call's rejection passes through as it is
          reject(error);
        },
      );
    });
  return guard(Comlink.wrap<T>(nodeEndpoint(checkReplies(worker))), race, []);
}

/** Races a comlink call with the worker's exit; `label` names the call in the WorkerExitedError. */
type Race = <V>(call: PromiseLike<V>, label: string) => Promise<V>;

/** A proxy over comlink's proxy: every call and every awaited property races the worker's exit. */
function guard<T extends object>(remote: T, race: Race, path: readonly string[]): T {
  const name = path.join('.');
  return new Proxy(remote, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof property === 'symbol' || typeof value !== 'function') return value;
      if (property === 'then') {
        const then = value as (resolve: (v: unknown) => void, reject: (e: unknown) => void) => void;
        return (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) =>
          race(new Promise((res, rej) => { then(res, rej); }), name).then(resolve, reject);
      }
      return guard(value as T & object, race, [...path, property]);
    },
    apply(target, thisArg, args) {
      return race(Reflect.apply(target as (...a: unknown[]) => Promise<unknown>, thisArg, args), `${name}()`);
    },
    construct(target, args) {
      return race(Reflect.construct(target as new (...a: unknown[]) => Promise<unknown>, args), `new ${name}()`);
    },
  });
}

/** What comlink's Node adapter needs of a worker. */
interface MessageTarget {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  off(event: 'message', listener: (data: unknown) => void): unknown;
}

/**
 * `worker` as comlink's Node adapter sees it, except that a reply carrying a failure in comlink's
 * own shape (the worker did not register our handlers) is changed into our wire format for an
 * ERR_COMLINK_MISMATCH error, whose cause is that failure as comlink rebuilds it.
 */
function checkReplies(worker: Worker): MessageTarget {
  const id = worker.threadId;
  const listeners = new Map<(data: unknown) => void, (data: unknown) => void>();
  const check = (data: unknown): unknown => {
    if (!isObject(data) || data['type'] !== 'HANDLER' || data['name'] !== 'throw' || isOurs(data['value'])) return data;
    const original = Comlink.transferHandlers.get('throw') as ThrowHandler;
    const cause = comlinkValue(original, data['value']);
    const error = new WaitGroupError(
      'ERR_COMLINK_MISMATCH',
      `worker ${id} sent a failure without shared-waitgroup's comlink transfer handlers, so its code, class and cause were lost: ` +
        'expose with exposeToParent(), or call registerTransferHandlers() in the worker before Comlink.expose(); the failure is the cause',
      { cause },
    );
    return { ...data, value: toWire(error) };
  };
  return {
    postMessage: (message, transfer) => {
      worker.postMessage(message, transfer);
    },
    on: (event, listener) => {
      const checked = (data: unknown): void => {
        listener(check(data));
      };
      listeners.set(listener, checked);
      return worker.on(event, checked);
    },
    off: (event, listener) => {
      const checked = listeners.get(listener);
      listeners.delete(listener);
      return checked === undefined ? worker : worker.off(event, checked);
    },
  };
}
