// Real worker threads: failures recorded in one thread reach the waiters of another with their
// name, message, stack and origin; cancellation seen in every thread, by flag and by signal.
import { afterEach, describe, expect, it } from 'vitest';
import { TaskGroupError, WaitGroup, WaitTimeoutError } from '../src/index.js';
import { newMarks, reach } from '../workers/sync.js';
import { errorOf, rejectionOf, remoteError, startAgent, terminateAll, type TestWorker } from './helpers.js';

afterEach(terminateAll);

async function attached(wg: WaitGroup, marks = newMarks()): Promise<TestWorker> {
  const agent = startAgent(marks);
  await agent.call('attach', { group: 'g', value: { wg: wg.share() }, path: ['wg'] });
  return agent;
}

async function failuresOf(wait: Promise<void>): Promise<TaskGroupError> {
  const error = await rejectionOf(wait);
  expect(error).toBeInstanceOf(TaskGroupError);
  expect((error as TaskGroupError).code).toBe('ERR_TASKS_FAILED');
  return error as TaskGroupError;
}

describe('failures cross to the waiting thread', () => {
  it("brings a worker's done(err), go() throw and go() rejection to main, with stack and threadId", async () => {
    const wg = new WaitGroup({ name: 'remote-failures' });
    const agent = await attached(wg);
    await agent.call('add', { group: 'g', task: 't', label: 'by-done' });
    const byDone = await agent.call('done', { task: 't', error: { ctor: 'RangeError', message: 'out of range' } });
    const byThrow = await agent.call('go', { group: 'g', label: 'by-throw', behavior: { kind: 'throw', error: { ctor: 'TypeError', message: 'thrown' } } });
    const byReject = await agent.call('go', { group: 'g', label: 'by-reject', behavior: { kind: 'reject', error: { ctor: 'SyntaxError', message: 'rejected' } } });
    await agent.call('go', { group: 'g', label: 'by-undefined', behavior: { kind: 'throw' } });

    const error = await failuresOf(wg.wait());
    expect(error.errors).toHaveLength(4);
    const [range, type, syntax, undef] = error.errors as [Error, Error, Error, unknown];
    expect(range).toBeInstanceOf(RangeError);
    expect(range).toMatchObject({ name: 'RangeError', message: 'out of range', stack: byDone.stack });
    expect(type).toBeInstanceOf(TypeError);
    expect(type).toMatchObject({ name: 'TypeError', message: 'thrown', stack: byThrow.stack });
    expect(syntax).toBeInstanceOf(SyntaxError);
    expect(syntax).toMatchObject({ name: 'SyntaxError', message: 'rejected', stack: byReject.stack });
    expect(undef).toBeUndefined();
    expect(error.cause).toBe(range);
    expect(error.origins).toEqual(
      ['by-done', 'by-throw', 'by-reject', 'by-undefined'].map((label) => ({ threadId: agent.threadId, group: 'remote-failures', label })),
    );
    expect(wg.stats()).toEqual({ added: 4, done: 4, failed: 4, pending: 0 });
  });

  it("names a worker's first failure, class and message, in the TaskGroupError's message on main (issue 12)", async () => {
    const wg = new WaitGroup({ name: 'logged' });
    const agent = await attached(wg);
    await agent.call('go', { group: 'g', label: 'parse', behavior: { kind: 'reject', error: { ctor: 'SyntaxError', message: 'unexpected token' } } });
    await agent.call('go', { group: 'g', label: 'second', behavior: { kind: 'throw' } });
    const error = await failuresOf(wg.wait());
    // The message is what an uncaught error prints in a log: it must be enough to act on.
    for (const part of ['2 tasks', 'logged', 'SyntaxError', 'unexpected token', 'parse']) expect(error.message).toContain(part);
  });

  it('brings a failure recorded on main to a waiting worker', async () => {
    const wg = new WaitGroup({ name: 'main-failure' });
    const agent = await attached(wg);
    const task = wg.add('on-main');
    const waiting = remoteError(agent.call('wait', { group: 'g' }));
    await agent.call('ping', {});
    const failure = new RangeError('main failed');
    task.done(failure);
    const report = await waiting;
    expect(report).toMatchObject({ code: 'ERR_TASKS_FAILED', omitted: 0 });
    expect(report.is).toContain('TaskGroupError');
    expect(report.origins).toEqual([{ threadId: 0, group: 'main-failure', label: 'on-main' }]);
    const first = errorOf(report.errors?.[0]);
    expect(first).toMatchObject({ name: 'RangeError', message: 'main failed', stack: failure.stack });
    expect(first.is).toContain('RangeError');
  });

  it('keeps the failures of several workers in record order, large ones included, and counts the rest', async () => {
    const wg = new WaitGroup({ name: 'many-failures', maxFailures: 10 });
    const marks = newMarks();
    const agents = [await attached(wg, marks), await attached(wg, marks), await attached(wg, marks)];
    // Each failure is larger than the log's first chunk: every worker grows the shared log.
    const large = 'x'.repeat(100_000);
    await Promise.all(agents.map((agent) => agent.call('add', { group: 'g', task: 't', count: 5 })));
    await Promise.all(agents.map((agent, i) => agent.call('done', { task: 't', times: 5, error: { ctor: 'Error', message: `${i}:${large}` } })));
    const error = await failuresOf(wg.wait());
    expect(error.errors).toHaveLength(10);
    expect(error.omitted).toBe(5);
    error.errors.forEach((failure, i) => {
      const thread = agents.findIndex((agent) => agent.threadId === error.origins[i]?.threadId);
      expect(failure).toMatchObject({ name: 'Error', message: `${thread}:${large}` });
    });
    // A worker's wait sees the same failures, in the same order.
    const [first] = agents as [TestWorker];
    const report = await remoteError(first.call('wait', { group: 'g' }));
    expect(report.origins).toEqual(error.origins);
    expect(report.omitted).toBe(5);
    expect(report.errors?.map((failure) => errorOf(failure).message)).toEqual(error.errors.map((failure) => (failure as Error).message));
    expect(wg.stats()).toEqual({ added: 15, done: 15, failed: 15, pending: 0 });
  });
});

describe('cancellation across threads', () => {
  it('stops a CPU-bound loop in a worker that polls `cancelled`', async () => {
    const STARTED = 0;
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'spinning' });
    const agent = await attached(wg, marks);
    const spinning = agent.call('spin', { group: 'g', started: STARTED });
    await reach(marks, STARTED, 1);
    expect(wg.cancelled).toBe(false);
    wg.cancel(new Error('stop spinning'));
    expect(await spinning).toBeGreaterThanOrEqual(1000);
    expect(await agent.call('stats', { group: 'g' })).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
  });

  it.each([
    ['an Error', new RangeError('shutting down'), { error: { name: 'RangeError', message: 'shutting down' } }],
    ['a string', 'shutting down', { value: 'shutting down' }],
    ['a 50 000-character string', 'y'.repeat(50_000), { value: 'y'.repeat(50_000) }],
    ['no reason', undefined, { error: { name: 'AbortError' } }],
  ])("aborts a worker's signal when main cancels with %s", async (_, reason, expected) => {
    const wg = new WaitGroup({ name: 'cancelled-by-main' });
    const agent = await attached(wg);
    const aborted = agent.call('abortReason', { group: 'g' });
    await agent.event('listening');
    if (reason === undefined) wg.cancel();
    else wg.cancel(reason);
    const { already, reason: seen } = await aborted;
    expect(already).toBe(false);
    expect(seen).toMatchObject(expected);
    if (reason instanceof Error) expect(errorOf(seen).is).toContain('RangeError');
    if (reason === undefined) expect(errorOf(seen).is).toContain('DOMException');
    // A signal asked for after the cancellation is aborted at once.
    const late = await attached(wg);
    expect((await late.call('abortReason', { group: 'g' })).already).toBe(true);
  });

  it("reaches main's signal when a worker cancels", async () => {
    const wg = new WaitGroup({ name: 'cancelled-by-worker' });
    const agent = await attached(wg);
    const signal = wg.signal;
    const aborted = new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
    await agent.call('cancel', { group: 'g', reason: { error: { ctor: 'TypeError', message: 'worker gave up' } } });
    expect(wg.cancelled).toBe(true);
    const reason = await aborted;
    expect(reason).toBeInstanceOf(TypeError);
    expect(reason).toMatchObject({ name: 'TypeError', message: 'worker gave up' });
  });

  it("cancels the group on main at a worker's first failure with cancelOnError", async () => {
    const wg = new WaitGroup({ name: 'fail-fast', cancelOnError: true });
    const agent = await attached(wg);
    const signal = wg.signal;
    const aborted = new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
    const other = wg.add('other');
    await agent.call('add', { group: 'g', task: 't', count: 2, label: 'failing' });
    expect(wg.cancelled).toBe(false);
    await agent.call('done', { task: 't', error: { ctor: 'RangeError', message: 'first' } });
    expect(wg.cancelled).toBe(true);
    await agent.call('done', { task: 't', error: { ctor: 'TypeError', message: 'second' } });
    const reason = await aborted;
    expect(reason).toBeInstanceOf(RangeError);
    expect(reason).toMatchObject({ message: 'first' });
    // Cancelling completed nothing: the wait still waits for the other task.
    expect(await rejectionOf(wg.wait({ timeout: 0 }))).toBeInstanceOf(WaitTimeoutError);
    other.done();
    const error = await failuresOf(wg.wait());
    expect(error.errors.map((e) => (e as Error).message)).toEqual(['first', 'second']);
  });

  it('does not complete tasks: a wait after cancel() still waits for the task held in a worker', async () => {
    const wg = new WaitGroup({ name: 'cancelled-pending' });
    const agent = await attached(wg);
    await agent.call('add', { group: 'g', task: 't', label: 'still-running' });
    let resolved = false;
    const waiting = wg.wait().then(() => {
      resolved = true;
    });
    wg.cancel('stop');
    expect(await agent.call('cancelled', { group: 'g' })).toBe(true);
    const timeout = await rejectionOf(wg.wait({ timeout: 0 }));
    expect(timeout).toBeInstanceOf(WaitTimeoutError);
    expect((timeout as WaitTimeoutError).pending.map(({ label, threadId }) => ({ label, threadId }))).toEqual([{ label: 'still-running', threadId: agent.threadId }]);
    expect(resolved).toBe(false);
    expect(wg.stats().pending).toBe(1);
    expect((await agent.call('done', { task: 't' })).results).toEqual([true]);
    await waiting;
    expect(resolved).toBe(true);
  });
});
