// The service example (examples/service.ts) end to end, with real TCP clients on 127.0.0.1: a
// graceful close() lets requests in flight answer, refuses new connections, leaves nothing pending
// and reports a worker's crash. Events are ordered by the service's onRequest hook and by the
// clients' own reads, never by sleeps.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Service, type ServiceOptions } from '../examples/service.js';
import { WaitTimeoutError, WorkerExitedError } from '../src/index.js';
import { GUARD_MS } from '../workers/sync.js';

const worker = new URL('../dist/workers/service-worker.js', import.meta.url).href;
const services: Service[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(services.splice(0).map((service) => service.close()));
});

function service(options: ServiceOptions = {}): Service {
  const created = new Service({ worker, threads: 2, ...options });
  services.push(created);
  return created;
}

/** A client of the line protocol: `send` a line, `next` reads the next answer (undefined at the server's end). */
class Client {
  readonly #lines: AsyncIterator<string, unknown>;

  private constructor(readonly socket: Socket) {
    socket.on('error', () => undefined); // a reset in a forced shutdown surfaces as the end of the lines
    this.#lines = createInterface({ input: socket, crlfDelay: Infinity })[Symbol.asyncIterator]();
  }

  static async connect(port: number): Promise<Client> {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    await once(socket, 'connect');
    return new Client(socket);
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  async next(): Promise<string | undefined> {
    const { done, value } = await guard(this.#lines.next(), 'a read');
    return done === true ? undefined : value;
  }

  /** Sends a request and returns its answer. */
  async ask(line: string): Promise<string | undefined> {
    this.send(line);
    return this.next();
  }
}

/** What a connection attempt to `port` failed with; undefined if it connected. */
async function connectError(port: number): Promise<unknown> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  try {
    await once(socket, 'connect');
    return undefined;
  } catch (error) {
    return error;
  }
}

/** `promise`, or a rejection if it hangs: a guard against hangs, not a measure of time. */
async function guard<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${GUARD_MS} ms`)), GUARD_MS);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A hook for `onRequest` that calls `fn` on the first request line equal to `line`, synchronously,
 * just after that request went to the pool; `result` settles as what `fn` returned.
 */
function onLine<T>(line: string, fn: () => T): { hook: (request: string) => void; result: Promise<Awaited<T>> } {
  let call: ((value: T) => void) | undefined;
  const result = new Promise<Awaited<T>>((resolve) => {
    call = resolve as (value: T) => void;
  });
  return {
    hook: (request) => {
      if (request !== line || call === undefined) return;
      call(fn());
      call = undefined;
    },
    result,
  };
}

describe('Service (examples/service.ts)', () => {
  it('lets a request in flight at close() complete, then ends its connection', async () => {
    let pendingAtClose: number | undefined;
    const closing = onLine('primes 2000000', () => {
      pendingAtClose = svc.group.stats().pending;
      return svc.close();
    });
    const svc = service({ onRequest: closing.hook });
    const { port } = await svc.start('127.0.0.1:0');
    const client = await Client.connect(port);
    expect(await client.ask('primes 2000000')).toBe('2000000 148933');
    expect(await client.next()).toBeUndefined(); // the server ended the connection after answering
    expect(await guard(closing.result, 'close()')).toEqual([]);
    // close() was called while the accept loop, the connection and the request were all pending.
    expect(pendingAtClose).toBe(3);
    expect(svc.group.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
  });

  it('refuses new connections once close() has begun, while it drains the others', async () => {
    let refused: Promise<unknown> | undefined;
    const closing = onLine('primes 3000000', () => {
      const result = svc.close();
      refused = connectError(port);
      return result;
    });
    const svc = service({ onRequest: closing.hook });
    const { port } = await svc.start('127.0.0.1:0');
    const idle = await Client.connect(port);
    expect(await idle.ask('primes 10')).toBe('10 4'); // the server holds this connection now
    const busy = await Client.connect(port);
    expect(await busy.ask('primes 3000000')).toBe('3000000 216816');
    expect(await idle.next()).toBeUndefined(); // the idle connection was ended by the drain
    expect(await busy.next()).toBeUndefined();
    expect(await guard(closing.result, 'close()')).toEqual([]);
    if (refused === undefined) throw new Error('no connection was attempted during close()');
    expect(await guard(refused, 'a connection attempt')).toMatchObject({ code: 'ECONNREFUSED' });
    expect(await connectError(port)).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('returns from close() with nothing pending, however many requests were in flight', async () => {
    const line = 'primes 1000000';
    let started = 0;
    let closing: Promise<unknown[]> | undefined;
    const svc = service({
      onRequest: (request) => {
        if (request === line && ++started === 3) closing = svc.close();
      },
    });
    const { port } = await svc.start('127.0.0.1:0');
    const idle = await Client.connect(port);
    expect(await idle.ask('primes 100')).toBe('100 25');
    const busy = await Promise.all([1, 2, 3].map(() => Client.connect(port)));
    const answers = await Promise.all(busy.map((client) => client.ask(line)));
    expect(answers).toEqual(['1000000 78498', '1000000 78498', '1000000 78498']);
    if (closing === undefined) throw new Error('close() was never called');
    expect(await guard(closing, 'close()')).toEqual([]);
    expect(await guard(svc.close(), 'a second close()')).toEqual([]);
    // 1 accept loop + 4 connections + 4 requests, all done.
    expect(svc.group.stats()).toEqual({ added: 9, done: 9, failed: 0, pending: 0 });
    expect(svc.group.pendingTasks()).toEqual([]);
    await svc.group.wait({ timeout: 0 });
    await svc.wait();
  });

  it('past its deadline, reports what was pending and forces it down', async () => {
    const closing = onLine('primes 2000000', () => svc.close());
    const svc = service({ deadline: 0, onRequest: closing.hook });
    const { port } = await svc.start('127.0.0.1:0');
    const client = await Client.connect(port);
    client.send('primes 2000000');
    const errors = await guard(closing.result, 'close()');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(WaitTimeoutError);
    expect(errors[0]).toMatchObject({ code: 'ERR_WAIT_TIMEOUT' });
    const labels = (errors[0] as WaitTimeoutError).pending.map((task) => task.label);
    expect(labels).toHaveLength(3); // the accept loop, the connection and its request
    expect(labels).toContain('accept loop');
    // The forced request failed once: piscina's termination error or, if its thread's exit was
    // seen first, WorkerExitedError.
    expect(errors[1]).toBeInstanceOf(Error);
    expect(svc.group.stats()).toMatchObject({ pending: 0, failed: 1 });
  });

  it('reports a worker crash mid-request from close(), and keeps serving until then', async () => {
    const svc = service();
    const { port } = await svc.start('127.0.0.1:0');
    const client = await Client.connect(port);
    expect(await client.ask('crash')).toBe('error request failed');
    expect(await client.ask('primes 10')).toBe('10 4'); // the pool replaced the dead thread
    const errors = await guard(svc.close(), 'close()');
    expect(await client.next()).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(WorkerExitedError);
    expect(errors[0]).toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 1 });
    expect(svc.group.stats()).toEqual({ added: 4, done: 4, failed: 1, pending: 0 });
  });
});
