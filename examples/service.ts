// The service example of Go's waitgroup, ported: a TCP service whose accept loop, connections and
// requests are tasks of one wait group, so that close() is a graceful shutdown that loses nothing.
//
//   service (outer group)
//   ├── 'accept loop'            a task, done once the listener has closed
//   └── service/connections      the inner group, `outer.sub()`: it drains on the outer's cancel
//       ├── 'conn HOST:PORT'     one go() task per connection
//       └── 'request …'          one task per request, run on a piscina pool (TrackedPool)
//
// Protocol: newline-delimited text. `primes N` answers `N COUNT` (how many primes are <= N, counted
// in a worker thread); `crash` kills the worker thread mid-request; anything else answers `error`.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { Piscina } from 'piscina';
import { TaskGroupError, WaitGroup, WaitTimeoutError, type Task } from '../src/index.js';
import { TrackedPool } from '../src/integrations/piscina.js';
import type { Job } from '../workers/service-worker.js';

/** Options of `new Service()`. */
export interface ServiceOptions {
  /** The pool's task module. Default: the built workers/service-worker.js next to this example. */
  readonly worker?: string | URL;
  /** Most worker threads. Default 2. */
  readonly threads?: number;
  /** Most ms `close()` waits for the service to drain before forcing it down. Default 60 000. */
  readonly deadline?: number;
  /** Called once a request line has been handed to the pool (a hook for tests and logs). */
  readonly onRequest?: (line: string) => void;
}

/** Largest N of `primes N`: bounds the memory of one request. */
const MAX_N = 50_000_000;

/** A TCP service whose accept loop, connections and requests are tasks of `group`. */
export class Service {
  /** The outer group: the accept loop, and the inner group of connections and their requests. */
  readonly group = new WaitGroup({ name: 'service' });
  readonly #connections = this.group.sub('connections');
  readonly #sockets = new Set<Socket>();
  readonly #options: ServiceOptions;
  #pool: TrackedPool<Job, string> | undefined;
  #closing: Promise<unknown[]> | undefined;

  constructor(options: ServiceOptions = {}) {
    this.#options = options;
  }

  /**
   * Listens on `addr` ('host:port'; port 0 picks a free one) and starts serving.
   * @returns the address listened on
   */
  async start(addr: string): Promise<AddressInfo> {
    const at = addr.lastIndexOf(':');
    const threads = this.#options.threads ?? 2;
    const filename = String(this.#options.worker ?? new URL('../workers/service-worker.js', import.meta.url));
    // A fixed number of threads: TrackedPool refuses a pool that removes idle workers.
    const piscina = new Piscina({ filename, minThreads: threads, maxThreads: threads, atomics: 'async' });
    this.#pool = new TrackedPool(piscina, this.#connections);
    const server = createServer((socket) => {
      this.#accept(socket);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(addr.slice(at + 1)), addr.slice(0, at), resolve);
      });
    } catch (error) {
      this.#pool = undefined;
      await piscina.destroy();
      throw error;
    }
    // The accept loop is a task of the outer group: cancelling the group stops it, and the task is
    // done when the listener has closed, which Node reports once every connection has ended.
    const acceptLoop: Task = this.group.add('accept loop');
    this.group.signal.addEventListener('abort', () => server.close((error) => acceptLoop.done(error)), { once: true });
    return server.address() as AddressInfo;
  }

  /** Resolves once the service has shut down; rejects with `TaskGroupError` if any task failed. */
  wait(): Promise<void> {
    return this.group.wait();
  }

  /**
   * Graceful shutdown: stop accepting, let requests in flight answer, end every connection, then
   * wait for the outer group under the deadline and close the pool. Calling it again returns the same promise.
   * @returns every error met (failed tasks, a missed deadline); empty when the shutdown was clean
   */
  close(): Promise<unknown[]> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<unknown[]> {
    const pool = this.#pool;
    if (pool === undefined) return [];
    // The listener closes and every connection drains at once: both listen to the group's signal.
    this.group.cancel();
    const errors: unknown[] = [];
    let outcome = await settle(this.group.wait({ timeout: this.#options.deadline ?? 60_000 }));
    if (outcome instanceof WaitTimeoutError) {
      // Past the deadline: report what was pending, then force it down. The pool's shutdown fails
      // the requests still running; the connections end with their sockets.
      errors.push(outcome);
      for (const socket of this.#sockets) socket.destroy();
      await pool.shutdown({ deadline: 0 });
      outcome = await settle(this.group.wait());
    } else {
      // Nothing is pending: the pool closes at once. Its report repeats the failures of the inner
      // group, which the outer group's wait already gave, so it is not added again.
      await pool.shutdown();
    }
    if (outcome instanceof TaskGroupError) errors.push(...(outcome.errors as unknown[]));
    else if (outcome !== undefined) errors.push(outcome);
    return errors;
  }

  /** A new connection: a task of the inner group until its socket has closed. */
  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    this.#connections.go((signal) => this.#serve(socket, signal), `conn ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`);
  }

  async #serve(socket: Socket, signal: AbortSignal): Promise<void> {
    const closed = new Promise<Error | undefined>((resolve) => {
      let failure: Error | undefined;
      socket.on('error', (error) => (failure ??= error));
      socket.once('close', () => {
        this.#sockets.delete(socket);
        resolve(failure);
      });
    });
    const lines = createInterface({ input: socket, crlfDelay: Infinity });
    // Draining: stop reading. An idle connection ends now, a busy one once its answer is written.
    const drain = (): void => lines.close();
    if (signal.aborted) drain();
    signal.addEventListener('abort', drain, { once: true });
    socket.once('close', drain);
    try {
      for await (const line of lines) {
        socket.write(`${await this.#answer(line)}\n`);
        if (signal.aborted) break;
      }
    } finally {
      signal.removeEventListener('abort', drain);
      drain();
      socket.end();
      socket.resume(); // read to the client's end, so that the socket closes
    }
    const failure = await closed;
    if (failure !== undefined) throw failure;
  }

  /** One request: its CPU work runs on the pool, as a task of the inner group. */
  async #answer(line: string): Promise<string> {
    const job = parse(line);
    if (job === undefined || this.#pool === undefined) return 'error bad request';
    const answer = this.#pool.run(job, { label: `request ${line}` });
    this.#options.onRequest?.(line);
    try {
      return await answer;
    } catch {
      // Already a failure of the group (the pool's error, or WorkerExitedError): close() reports it.
      return 'error request failed';
    }
  }
}

function parse(line: string): Job | undefined {
  const words = line.trim().split(/\s+/);
  if (words.length === 1 && words[0] === 'crash') return { kind: 'crash' };
  const n = Number(words[1]);
  if (words.length === 2 && words[0] === 'primes' && Number.isInteger(n) && n >= 0 && n <= MAX_N) return { kind: 'primes', n };
  return undefined;
}

async function settle(promise: Promise<void>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}
