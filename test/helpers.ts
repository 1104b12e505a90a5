// Helpers of the thread tests: start worker fixtures from dist/workers (built by `npm run build`),
// drive the agent worker (workers/agent.ts) by message, await events, and terminate every worker
// a test started (call `terminateAll` in afterEach).
import { Worker } from 'node:worker_threads';
import type { AgentData, ErrorReport, FromWorker, OpName, Ops, Reported } from '../workers/protocol.js';

const started = new Set<TestWorker>();

/**
 * Timeout of a blocking wait on the main thread, only so that a lost wake-up cannot block the test
 * process for good. Longer than the test timeout (vitest.config.ts), so that a wait that returns
 * because of it, rather than because the work was done, still fails the test. Waits that may hang
 * without blocking the main thread have no timeout: the test timeout stops them.
 */
export const BLOCK_GUARD_MS = 60_000;

/** The reply to a call that threw in the worker: `thrown` describes what was thrown. */
export class RemoteError extends Error {
  readonly thrown: Reported;

  constructor(op: string, thrown: Reported) {
    super(`${op} threw in the worker: ${'error' in thrown ? `${thrown.error.name}: ${thrown.error.message}` : String(thrown.value)}`);
    this.thrown = thrown;
  }
}

/** A worker fixture: its events, its exit, and (for the agent) calls to its operations. */
export class TestWorker {
  readonly worker: Worker;
  /** The worker's threadId, as `threadId` reads inside it. */
  readonly threadId: number;
  /** Resolves with the exit code once the worker exits. */
  readonly exited: Promise<number>;
  #nextId = 1;
  #gone: Error | undefined;
  #terminating = false;
  readonly #calls = new Map<number, { op: string; resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #events: { event: string; data: unknown }[] = [];
  readonly #listeners: { event: string; resolve: (data: unknown) => void; reject: (error: Error) => void }[] = [];

  constructor(fixture: string, workerData: unknown) {
    this.worker = new Worker(new URL(`../dist/workers/${fixture}.js`, import.meta.url), { workerData });
    this.threadId = this.worker.threadId;
    started.add(this);
    this.worker.on('message', (message: FromWorker) => {
      this.#receive(message);
    });
    this.worker.on('error', (error: Error) => {
      this.#fail(new Error(`worker ${this.threadId} (${fixture}) threw: ${error.stack ?? String(error)}`, { cause: error }));
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code: number) => {
        started.delete(this);
        this.#fail(new Error(`worker ${this.threadId} (${fixture}) exited with code ${code}`));
        resolve(code);
      });
    });
  }

  #receive(message: FromWorker): void {
    if ('event' in message) {
      const index = this.#listeners.findIndex((listener) => listener.event === message.event);
      const listener = index < 0 ? undefined : this.#listeners.splice(index, 1)[0];
      if (listener === undefined) this.#events.push({ event: message.event, data: message.data });
      else listener.resolve(message.data);
      return;
    }
    const call = this.#calls.get(message.id);
    if (call === undefined) return;
    this.#calls.delete(message.id);
    if ('thrown' in message) call.reject(new RemoteError(call.op, message.thrown));
    else call.resolve(message.value);
  }

  /** Rejects what still waits on a worker that died. Nothing is rejected after `terminate()`. */
  #fail(error: Error): void {
    this.#gone ??= error;
    if (this.#terminating) return;
    for (const call of this.#calls.values()) call.reject(error);
    for (const listener of this.#listeners) listener.reject(error);
    this.#calls.clear();
    this.#listeners.length = 0;
  }

  /** Runs an operation of the agent worker; rejects with RemoteError if it threw there. */
  call<K extends OpName>(op: K, args: Ops[K]['args']): Promise<Ops[K]['result']> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { op, resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  /** The data of the next event of that name (one already received, or the next to come). */
  event(name: string): Promise<unknown> {
    const index = this.#events.findIndex((event) => event.event === name);
    if (index >= 0) return Promise.resolve(this.#events.splice(index, 1)[0]?.data);
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    return new Promise((resolve, reject) => this.#listeners.push({ event: name, resolve, reject }));
  }

  async terminate(): Promise<void> {
    this.#terminating = true;
    await this.worker.terminate();
  }
}

/** Starts the agent worker with `marks` (see workers/sync.ts) and `data` as its workerData. */
export function startAgent(marks: Int32Array, data?: unknown): TestWorker {
  const workerData: AgentData = data === undefined ? { marks } : { marks, data };
  return new TestWorker('agent', workerData);
}

const fixtures = new Set<Worker>();

/** Starts the fixture dist/workers/NAME.js as a plain Worker; `terminateAll` ends it if it still runs. */
export function startFixture(fixture: string, workerData?: unknown): Worker {
  const worker = new Worker(new URL(`../dist/workers/${fixture}.js`, import.meta.url), { workerData });
  fixtures.add(worker);
  worker.once('exit', () => fixtures.delete(worker));
  return worker;
}

/** Terminates every worker started by these helpers that is still running. */
export async function terminateAll(): Promise<void> {
  await Promise.all([...started, ...fixtures].map((worker) => worker.terminate()));
  started.clear();
  fixtures.clear();
}

/** What `promise` rejected with; fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The error that an agent call threw in the worker; fails if the call succeeded or threw a non-Error. */
export async function remoteError(promise: Promise<unknown>): Promise<ErrorReport> {
  const error = await rejectionOf(promise);
  if (!(error instanceof RemoteError)) throw error;
  if (!('error' in error.thrown)) throw new Error(`the worker threw a non-Error: ${String(error.thrown.value)}`);
  return error.thrown.error;
}

/** The ErrorReport in a Reported, failing if the value is not an Error. */
export function errorOf(reported: Reported | undefined): ErrorReport {
  if (reported === undefined || !('error' in reported)) throw new Error(`expected an Error, got ${JSON.stringify(reported)}`);
  return reported.error;
}
