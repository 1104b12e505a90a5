// Real worker threads: waiting in several threads at once, asynchronously and by blocking (the main
// thread included), failures and timeouts seen by every waiter, and what keeps a thread alive.
import { afterEach, describe, expect, it } from 'vitest';
import { TaskGroupError, WaitGroup, WaitTimeoutError } from '../src/index.js';
import { newMarks } from '../workers/sync.js';
import { BLOCK_GUARD_MS, TestWorker, errorOf, rejectionOf, remoteError, startAgent, terminateAll } from './helpers.js';

afterEach(terminateAll);

/** Mark counting the units the completing worker has done. */
const COMPLETED = 0;

/** `list` without one occurrence of each entry of `removed`. */
function without(list: readonly string[], removed: readonly string[]): string[] {
  const rest = [...list];
  for (const entry of removed) {
    const index = rest.indexOf(entry);
    if (index >= 0) rest.splice(index, 1);
  }
  return rest;
}

async function attached(wg: WaitGroup, count: number): Promise<TestWorker[]> {
  const marks = newMarks();
  const agents = Array.from({ length: count }, () => startAgent(marks, { wg: wg.share() }));
  await Promise.all(agents.map((agent) => agent.call('attach', { group: 'g', path: ['wg'] })));
  return agents;
}

describe('waiters in several threads', () => {
  it('wakes main wait(), a worker wait() and a worker waitSync() on the last completion', async () => {
    const wg = new WaitGroup({ name: 'many-waiters' });
    const gate = wg.add(2, 'gate');
    const [asyncWaiter, syncWaiter, completer] = (await attached(wg, 3)) as [TestWorker, TestWorker, TestWorker];
    await completer.call('attachTask', { task: 'gate', value: gate.share(), path: [] });
    let mainResolved = false;
    const onMain = wg.wait().then(() => {
      mainResolved = true;
    });
    const inWorker = asyncWaiter.call('wait', { group: 'g' });
    const blocked = syncWaiter.call('waitSync', { group: 'g' });
    await syncWaiter.event('blocking');
    // Main, the async waiter and the blocked worker all sleep before the first unit is done.
    expect(await completer.call('doneWhenWaiting', { group: 'g', waiters: 3, tasks: ['gate'], count: COMPLETED })).toEqual([true]);
    await asyncWaiter.call('ping', {});
    expect(mainResolved).toBe(false);
    expect(await rejectionOf(wg.wait({ timeout: 0 }))).toBeInstanceOf(WaitTimeoutError);
    expect((await completer.call('done', { task: 'gate' })).results).toEqual([true]);
    await onMain;
    // Each waiter saw nothing pending when it returned, and both units done.
    for (const woke of [await inWorker, await blocked]) {
      expect(woke.pending).toBe(0);
      expect(woke.marks[COMPLETED]).toBe(1);
    }
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it('returns waitSync() in a worker and on the blocked main thread when a worker completes the work', async () => {
    const wg = new WaitGroup({ name: 'both-blocked' });
    const work = wg.add(2, 'work');
    const [sleeper, completer] = (await attached(wg, 2)) as [TestWorker, TestWorker];
    await completer.call('attachTask', { task: 'work', value: work.share(), path: [] });
    const blocked = sleeper.call('waitSync', { group: 'g' });
    await sleeper.event('blocking');
    // The completer does both units only once main and the sleeper are both asleep on the group.
    const completed = completer.call('doneWhenWaiting', { group: 'g', waiters: 2, tasks: ['work', 'work'], count: COMPLETED });
    wg.waitSync({ timeout: BLOCK_GUARD_MS });
    expect(wg.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
    expect(await completed).toEqual([true, true]);
    const woke = await blocked;
    expect(woke.pending).toBe(0);
    expect(woke.marks[COMPLETED]).toBe(2);
  });

  it('rejects every waiter, waitSync() in a worker included, with the failures of any thread', async () => {
    const wg = new WaitGroup({ name: 'failing' });
    const [asyncWaiter, syncWaiter, failer] = (await attached(wg, 3)) as [TestWorker, TestWorker, TestWorker];
    const task = wg.add(2, 'to-fail');
    await failer.call('attachTask', { task: 't', value: task.share(), path: [] });
    const onMain = rejectionOf(wg.wait());
    const inWorker = remoteError(asyncWaiter.call('wait', { group: 'g' }));
    const blocked = remoteError(syncWaiter.call('waitSync', { group: 'g' }));
    await syncWaiter.event('blocking');
    const { stack } = await failer.call('done', { task: 't', error: { ctor: 'TypeError', message: 'bad input' } });
    expect(task.done()).toBe(true);

    const error = await onMain;
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).code).toBe('ERR_TASKS_FAILED');
    expect((error as TaskGroupError).errors).toHaveLength(1);
    for (const report of [await inWorker, await blocked]) {
      expect(report.code).toBe('ERR_TASKS_FAILED');
      expect(report.is).toContain('TaskGroupError');
      expect(report.errors).toHaveLength(1);
      const first = errorOf(report.errors?.[0]);
      expect(first).toMatchObject({ name: 'TypeError', message: 'bad input', stack });
      expect(first.is).toContain('TypeError');
      expect(report.origins).toEqual([{ threadId: failer.threadId, group: 'failing', label: 'to-fail' }]);
    }
  });

  it('times out with the pending tasks named by label and holding thread, in main and in a worker', async () => {
    const wg = new WaitGroup({ name: 'slow' });
    const [holder, waiter] = (await attached(wg, 2)) as [TestWorker, TestWorker];
    await holder.call('add', { group: 'g', task: 'h', label: 'held-in-worker' });
    const mainTask = wg.add('held-on-main');

    const error = await rejectionOf(wg.wait({ timeout: 0 }));
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).code).toBe('ERR_WAIT_TIMEOUT');
    const pending = (error as WaitTimeoutError).pending.map(({ label, threadId }) => ({ label, threadId }));
    expect(pending).toEqual(expect.arrayContaining([{ label: 'held-in-worker', threadId: holder.threadId }, { label: 'held-on-main', threadId: 0 }]));
    expect(pending).toHaveLength(2);

    for (const op of ['wait', 'waitSync'] as const) {
      const report = await remoteError(waiter.call(op, { group: 'g', timeout: 1 }));
      expect(report.code).toBe('ERR_WAIT_TIMEOUT');
      expect(report.is).toContain('WaitTimeoutError');
      expect(report.pending?.map(({ label, threadId }) => ({ label, threadId }))).toEqual(expect.arrayContaining(pending));
    }
    mainTask.done();
    await holder.call('done', { task: 'h' });
    await wg.wait();
  });
});

describe('wait({ cancelWhenDone }) across threads (issue 12)', () => {
  it("cancels the group in every thread when main's wait ends, as errgroup's Wait cancels its context", async () => {
    const wg = new WaitGroup({ name: 'errgroup' });
    const [agent] = (await attached(wg, 1)) as [TestWorker];
    const work = wg.add('work');
    await agent.call('attachTask', { task: 'work', value: work.share(), path: [] });
    const waited = wg.wait({ cancelWhenDone: true });
    expect(await agent.call('cancelled', { group: 'g' })).toBe(false);
    await agent.call('done', { task: 'work' });
    await waited;
    expect(wg.cancelled).toBe(true);
    expect(await agent.call('cancelled', { group: 'g' })).toBe(true);
    const aborted = await agent.call('abortReason', { group: 'g' });
    expect(errorOf(aborted.reason)).toMatchObject({ name: 'AbortError' });
  });

  it("cancels it on main when a worker's waitSync({ cancelWhenDone }) returns", async () => {
    const wg = new WaitGroup({ name: 'errgroup-sync' });
    const [agent] = (await attached(wg, 1)) as [TestWorker];
    const work = wg.add('work');
    const blocked = agent.call('waitSync', { group: 'g', cancelWhenDone: true });
    await agent.event('blocking');
    expect(wg.cancelled).toBe(false);
    work.done();
    expect((await blocked).pending).toBe(0);
    expect(wg.cancelled).toBe(true);
    expect(wg.signal.aborted).toBe(true);
  });
});

describe('what keeps a thread alive', () => {
  it('keeps a worker alive while its only activity is a wait, until main completes the task', async () => {
    const wg = new WaitGroup({ name: 'keepalive' });
    const task = wg.add('finished-by-main');
    const worker = new TestWorker('keepalive', { wg: wg.share() });
    const { before, during } = (await worker.event('waiting')) as { before: string[]; during: string[] };
    // The wait holds something that keeps the event loop alive (it would exit now otherwise)...
    expect(without(during, before)).not.toEqual([]);
    task.done();
    const resolved = (await worker.event('resolved')) as { pending: number; dryWhileWaiting: boolean; after: string[] };
    // ...never let the loop run dry while it waited, and let go of what it held once it resolved.
    expect(resolved).toMatchObject({ pending: 0, dryWhileWaiting: false });
    expect(without(resolved.after, before)).toEqual([]);
    expect(await worker.exited).toBe(0);
  });

  it('lets a worker exit on its own when nothing waits, though it leaves tasks pending and watches signals', async () => {
    const wg = new WaitGroup({ name: 'left' });
    const worker = new TestWorker('idle', { wg: wg.share() });
    const left = (await worker.event('left')) as { own: { pending: number }; shared: { pending: number }; cancelled: boolean };
    expect(left).toMatchObject({ own: { pending: 1 }, shared: { pending: 1 }, cancelled: false });
    expect(await worker.exited).toBe(0);
    // The task it left in the shared group fails with its exit rather than hang the wait.
    const error = await rejectionOf(wg.wait());
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).origins.map((origin) => origin.threadId)).toEqual([worker.threadId]);
  });
});
