// Real worker threads: one group shared by share() (nested in workerData and in message payloads),
// units added and completed in every thread, tasks moved between threads, and done() raced.
import { afterEach, describe, expect, it } from 'vitest';
import { Task, TaskGroupError, WaitGroup, WaitTimeoutError, WorkerExitedError, type PendingTask } from '../src/index.js';
import * as L from '../src/memory/layout.js';
import { newMarks, reach, set } from '../workers/sync.js';
import { errorOf, rejectionOf, startAgent, terminateAll, type TestWorker } from './helpers.js';

afterEach(terminateAll);

/** What a timeout reports of each pending task, without the time stamps. */
function held(pending: readonly PendingTask[]): { label: string | undefined; threadId: number; remaining: number }[] {
  return pending.map(({ label, threadId, remaining }) => ({ label, threadId, remaining })).sort((a, b) => String(a.label).localeCompare(String(b.label)));
}

async function timeoutOf(wg: WaitGroup): Promise<WaitTimeoutError> {
  const error = await rejectionOf(wg.wait({ timeout: 0 }));
  expect(error).toBeInstanceOf(WaitTimeoutError);
  expect((error as WaitTimeoutError).code).toBe('ERR_WAIT_TIMEOUT');
  return error as WaitTimeoutError;
}

describe('one group, units added and completed in several threads', () => {
  it('resolves the main wait exactly when the last unit held by any worker completes', async () => {
    const UNITS = 3000;
    const HOLD = 0; // marks HOLD + i release worker i's last unit
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'jobs' });
    const gate = wg.add('gate');
    const nested = { config: { stages: [{ name: 'parse' }, { groups: { jobs: wg.share() } }] } };
    const agents: TestWorker[] = [startAgent(marks, nested), startAgent(marks, nested), startAgent(marks)];
    const [first, second, third] = agents as [TestWorker, TestWorker, TestWorker];
    expect(await first.call('attach', { group: 'jobs', path: ['config', 'stages', 1, 'groups', 'jobs'] })).toBe('jobs');
    expect(await second.call('attach', { group: 'jobs', path: ['config', 'stages', 1, 'groups', 'jobs'] })).toBe('jobs');
    const payload = { envelope: [{ kind: 'job' }, { payload: { deep: { wg: wg.share() } } }] };
    expect(await third.call('attach', { group: 'jobs', value: payload, path: ['envelope', 1, 'payload', 'deep', 'wg'] })).toBe('jobs');

    const work = agents.map((agent, i) => agent.call('work', { group: 'jobs', units: UNITS, label: `last-${i}`, hold: HOLD + i }));
    await Promise.all(agents.map((agent) => agent.event('holding')));
    gate.done();

    expect(held((await timeoutOf(wg)).pending)).toEqual(agents.map((agent, i) => ({ label: `last-${i}`, threadId: agent.threadId, remaining: 1 })));
    const added = 3 * UNITS + 1;
    expect(wg.stats()).toEqual({ added, done: added - 3, failed: 0, pending: 3 });

    let resolved = false;
    const waiting = wg.wait().then(() => {
      resolved = true;
    });
    for (const [i, agent] of agents.entries()) {
      set(marks, HOLD + i);
      expect(await work[i]).toEqual({ added: UNITS, last: true });
      if (i === agents.length - 1) break;
      await agent.call('ping', {});
      expect(resolved).toBe(false);
      expect(held((await timeoutOf(wg)).pending)).toHaveLength(agents.length - 1 - i);
      expect(wg.stats().pending).toBe(agents.length - 1 - i);
    }
    await waiting;
    expect(resolved).toBe(true);
    expect(wg.stats()).toEqual({ added, done: added, failed: 0, pending: 0 });
    // Read from a worker, the counters are the same.
    expect(await third.call('stats', { group: 'jobs' })).toEqual({ added, done: added, failed: 0, pending: 0 });
  });

  it('completes in a worker a task made on main, and on main a task made in a worker', async () => {
    const agent = startAgent(newMarks());
    const wg = new WaitGroup({ name: 'handover' });
    const fromMain = wg.add(2, 'made-on-main');
    expect(await agent.call('attachTask', { task: 't', value: { batch: { items: [fromMain.share()] } }, path: ['batch', 'items', 0] })).toBe(2);
    // The rebuilding thread owns the task now.
    expect(held(wg.pendingTasks())).toEqual([{ label: 'made-on-main', threadId: agent.threadId, remaining: 2 }]);
    expect((await agent.call('done', { task: 't', times: 3 })).results).toEqual([true, true, false]);
    expect(fromMain.done()).toBe(false);
    expect(fromMain.remaining).toBe(0);
    await wg.wait();

    await agent.call('attach', { group: 'g', value: { wg: wg.share() }, path: ['wg'] });
    const fromWorker = Task.from(await agent.call('add', { group: 'g', task: 'w', label: 'made-in-worker' }));
    expect(held(wg.pendingTasks())).toEqual([{ label: 'made-in-worker', threadId: 0, remaining: 1 }]);
    await timeoutOf(wg);
    expect(fromWorker.done()).toBe(true);
    expect((await agent.call('done', { task: 'w' })).results).toEqual([false]);
    await wg.wait();
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
  });

  it('a completed task shared and rebuilt in a worker takes nothing from, and never adopts, the next task in its slot', async () => {
    const agent = startAgent(newMarks());
    const wg = new WaitGroup({ name: 'reuse', capacity: 1 });
    const first = wg.add('first');
    expect(first.done()).toBe(true);
    const stale = first.share();
    // With capacity 1 the next task must take the same slot.
    const next = wg.add('next');
    expect(await agent.call('attachTask', { task: 'stale', value: stale, path: [] })).toBe(0);
    expect((await agent.call('done', { task: 'stale', times: 2 })).results).toEqual([false, false]);
    expect(held(wg.pendingTasks())).toEqual([{ label: 'next', threadId: 0, remaining: 1 }]);
    // Had the worker adopted the slot, its exit would fail the task it never held.
    await agent.terminate();
    expect(next.remaining).toBe(1);
    expect(wg.stats()).toEqual({ added: 2, done: 1, failed: 0, pending: 1 });
    expect(next.done()).toBe(true);
    await wg.wait();
  });

  it('add(0) makes a task complete from the start, which a worker rebuilds as complete (issue 12)', async () => {
    const agent = startAgent(newMarks());
    const wg = new WaitGroup({ name: 'empty', capacity: 1 });
    const holding = wg.add('held');
    const empty = wg.add(0, 'no items');
    expect(await agent.call('attachTask', { task: 'empty', value: empty.share(), path: [] })).toBe(0);
    expect((await agent.call('done', { task: 'empty', times: 2 })).results).toEqual([false, false]);
    // The worker owns nothing: its exit fails no task.
    await agent.terminate();
    expect(held(wg.pendingTasks())).toEqual([{ label: 'held', threadId: 0, remaining: 1 }]);
    expect(wg.stats()).toEqual({ added: 1, done: 0, failed: 0, pending: 1 });
    holding.done();
    await wg.wait();
  });

  it('counts added units exactly per thread lane: six threads, and a dead thread\'s lane serving a newcomer', async () => {
    const wg = new WaitGroup({ name: 'cells' });
    const words = new Int32Array(wg.share().tree.tree);
    /** Thread ids of the live registry entries (src/memory/layout.ts: E_OWNER is threadId + 1). */
    const owners = (): number[] =>
      Array.from({ length: L.LANES }, (_, lane) => Atomics.load(words, L.REGISTRY + lane * L.ENTRY_WORDS + L.E_OWNER) - 1).filter((id) => id >= 0);
    const agents = Array.from({ length: 6 }, () => startAgent(newMarks()));
    await Promise.all(agents.map((agent) => agent.call('attach', { group: 'g', value: wg.share(), path: [] })));
    expect(owners().sort()).toEqual([0, ...agents.map((agent) => agent.threadId)].sort());
    await Promise.all(agents.map((agent, i) => agent.call('add', { group: 'g', task: 'first', count: i + 1 })));
    const total = (agents.length * (agents.length + 1)) / 2;
    expect(wg.stats()).toEqual({ added: total, done: 0, failed: 0, pending: total });
    // Two threads exit: their tasks fail, their lanes are freed, what they added still counts.
    const [gone1, gone2, ...others] = agents as [TestWorker, TestWorker, ...TestWorker[]];
    await Promise.all([gone1.terminate(), gone2.terminate()]);
    expect(owners()).not.toContain(gone1.threadId);
    expect(owners()).not.toContain(gone2.threadId);
    expect(wg.stats()).toMatchObject({ added: total, failed: 2 });
    const newcomers = [startAgent(newMarks()), startAgent(newMarks())];
    await Promise.all(newcomers.map((agent) => agent.call('attach', { group: 'g', value: wg.share(), path: [] })));
    const live = [...others, ...newcomers];
    await Promise.all(live.map((agent) => agent.call('add', { group: 'g', task: 'second', count: 10 })));
    const added = total + 10 * live.length;
    expect(wg.stats().added).toBe(added);
    for (const agent of others) await agent.call('done', { task: 'first', times: 10 });
    for (const agent of live) await agent.call('done', { task: 'second', times: 10 });
    const error = await rejectionOf(wg.wait());
    expect((error as TaskGroupError).errors.map((failure) => failure instanceof WorkerExitedError)).toEqual([true, true]);
    expect(wg.stats()).toEqual({ added, done: added, failed: 2, pending: 0 });
  });

  it('shares one capacity between threads: exactly `capacity` adds succeed when threads race', async () => {
    const wg = new WaitGroup({ name: 'small', capacity: 50 });
    const agents = [startAgent(newMarks()), startAgent(newMarks()), startAgent(newMarks())];
    await Promise.all(agents.map((agent) => agent.call('attach', { group: 'g', value: wg.share(), path: [] })));
    const results = await Promise.all(agents.map((agent, i) => agent.call('addMany', { group: 'g', task: 'b', count: 30, label: `thread-${i}` })));
    expect(results.reduce((sum, result) => sum + result.added, 0)).toBe(50);
    for (const result of results) {
      if (result.added < 30) expect(errorOf(result.thrown).code).toBe('ERR_CAPACITY_EXCEEDED');
      else expect(result.thrown).toBeUndefined();
    }
    expect(wg.stats()).toEqual({ added: 50, done: 0, failed: 0, pending: 50 });
    const [first] = agents as [TestWorker];
    expect(await first.call('doneMany', { task: 'b' })).toBe(results[0]?.added);
    // Slots freed by done() can be taken again.
    expect(await first.call('addMany', { group: 'g', task: 'c', count: 30, label: 'again' })).toMatchObject({ added: results[0]?.added });
  });
});

describe('done() raced by several threads on one shared task', () => {
  const READY = 0;
  const START = 1;

  interface Raced {
    wg: WaitGroup;
    sentinel: Task;
    agents: TestWorker[];
    /** Units each thread completed: main first, then the agents. */
    trues: number[];
    minPending: number;
  }

  async function race(count: number, fail: boolean): Promise<Raced> {
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'race' });
    const sentinel = wg.add('sentinel'); // keeps pending above zero: a unit done twice would show as pending 0
    const task = wg.add(count, 'raced');
    const agents = [startAgent(marks), startAgent(marks), startAgent(marks)];
    await Promise.all(agents.map((agent) => agent.call('attach', { group: 'g', value: wg.share(), path: [] })));
    await Promise.all(agents.map((agent) => agent.call('attachTask', { task: 't', value: task.share(), path: [] })));
    const races = agents.map((agent) => agent.call('race', { group: 'g', task: 't', ready: READY, start: START, calls: count, fail }));
    await reach(marks, READY, agents.length);
    set(marks, START);
    let trues = 0;
    let minPending = Infinity;
    for (let call = 0; call < count; call++) {
      if (task.done(fail ? new Error('failed on main') : undefined)) trues++;
      minPending = Math.min(minPending, wg.stats().pending);
    }
    const results = await Promise.all(races);
    for (const result of results) minPending = Math.min(minPending, result.minPending);
    // Every later done() returns false, in every thread.
    expect(task.done()).toBe(false);
    for (const agent of agents) expect((await agent.call('done', { task: 't' })).results).toEqual([false]);
    return { wg, sentinel, agents, trues: [trues, ...results.map((result) => result.trues)], minPending };
  }

  it.each([1, 4000])('completes each of %i units exactly once', async (count) => {
    const { wg, trues, minPending } = await race(count, false);
    expect(trues.reduce((a, b) => a + b)).toBe(count);
    expect(minPending).toBeGreaterThanOrEqual(1);
    expect(wg.stats()).toEqual({ added: count + 1, done: count, failed: 0, pending: 1 });
  });

  it('records each failed unit exactly once, from the thread that completed it', async () => {
    const count = 60;
    const { wg, sentinel, agents, trues, minPending } = await race(count, true);
    expect(trues.reduce((a, b) => a + b)).toBe(count);
    expect(minPending).toBeGreaterThanOrEqual(1);
    expect(wg.stats()).toEqual({ added: count + 1, done: count, failed: count, pending: 1 });
    sentinel.done();
    const error = await rejectionOf(wg.wait());
    expect(error).toBeInstanceOf(TaskGroupError);
    const failures = error as TaskGroupError;
    expect(failures.code).toBe('ERR_TASKS_FAILED');
    expect(failures.errors).toHaveLength(count);
    const threads = [0, ...agents.map((agent) => agent.threadId)];
    expect(threads.map((thread) => failures.origins.filter((origin) => origin.threadId === thread).length)).toEqual(trues);
  });
});
