// Real worker threads: sub-groups made after a thread got the parent, links and the threads that
// know them, and the diagnostics (stats, pendingTasks) read from any thread.
import { afterEach, describe, expect, it } from 'vitest';
import { TaskGroupError, WaitGroup, WaitGroupError, WaitTimeoutError } from '../src/index.js';
import { block, newMarks } from '../workers/sync.js';
import { BLOCK_GUARD_MS, RemoteError, rejectionOf, remoteError, startAgent, terminateAll, type TestWorker } from './helpers.js';

afterEach(terminateAll);

const COMPLETED = 0;
const RETURNED = 1;

async function holding(marks: Int32Array, value: unknown, path: (string | number)[], name: string): Promise<TestWorker> {
  const agent = startAgent(marks);
  await agent.call('attach', { group: name, value, path });
  return agent;
}

describe('sub-groups across threads', () => {
  it('keeps a worker that got the parent before sub() blocked until the sub-group work is done, main blocked too', async () => {
    const marks = newMarks();
    const parent = new WaitGroup({ name: 'parent' });
    const early = await holding(marks, { parent: parent.share() }, ['parent'], 'p');
    const child = parent.sub('child');
    const fromMain = child.add('main-in-child');
    const third = await holding(marks, { child: child.share() }, ['child'], 'c');
    await third.call('attach', { group: 'p', value: { child: child.share() }, path: ['child', 'parent'] });
    await third.call('add', { group: 'c', task: 'own', label: 'third-in-child' });
    await third.call('attachTask', { task: 'main', value: fromMain.share(), path: [] });
    // Units of the sub-group are visible at once to the thread that never saw it.
    expect(await early.call('stats', { group: 'p' })).toEqual({ added: 2, done: 0, failed: 0, pending: 2 });

    const sleeping = early.call('waitSync', { group: 'p', after: RETURNED });
    await early.event('blocking');
    // The third thread completes the sub-group's work only once main and the early worker both sleep.
    const completing = third.call('doneWhenWaiting', { group: 'p', waiters: 2, tasks: ['own', 'main'], count: COMPLETED });
    parent.waitSync({ timeout: BLOCK_GUARD_MS });
    block(marks, RETURNED, 1);
    const woke = await sleeping;
    expect(woke.pending).toBe(0);
    expect(woke.marks[COMPLETED]).toBe(2);
    expect(await completing).toEqual([true, true]);
    expect(fromMain.done()).toBe(false);
    expect(parent.stats()).toEqual({ added: 2, done: 2, failed: 0, pending: 0 });
  });

  it("reports a sub-group's failure, recorded in a worker, to the parent's waiters", async () => {
    const marks = newMarks();
    const parent = new WaitGroup({ name: 'parent' });
    const early = await holding(marks, parent.share(), [], 'p');
    const child = parent.sub('child');
    const failer = await holding(marks, child.share(), [], 'c');
    await failer.call('add', { group: 'c', task: 't', label: 'child-task' });
    const inEarly = remoteError(early.call('wait', { group: 'p' }));
    const { stack } = await failer.call('done', { task: 't', error: { ctor: 'RangeError', message: 'child failed' } });
    const origin = { threadId: failer.threadId, group: 'parent/child', label: 'child-task' };

    const error = await rejectionOf(parent.wait());
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).origins).toEqual([origin]);
    expect((error as TaskGroupError).errors[0]).toMatchObject({ name: 'RangeError', message: 'child failed', stack });
    const report = await inEarly;
    expect(report.code).toBe('ERR_TASKS_FAILED');
    expect(report.origins).toEqual([origin]);
    expect(parent.stats()).toEqual({ added: 1, done: 1, failed: 1, pending: 0 });
  });

  it('waits for sub-groups a worker makes, past the first chunk of group records, and reports their failures', async () => {
    const parent = new WaitGroup({ name: 'parent' });
    const maker = await holding(newMarks(), parent.share(), [], 'p');
    for (let i = 0; i < 40; i++) await maker.call('sub', { group: 'p', child: `c${i}`, label: `c${i}` });
    await maker.call('add', { group: 'c39', task: 't', label: 'deepest' });
    expect(parent.stats()).toEqual({ added: 1, done: 0, failed: 0, pending: 1 });
    expect(parent.pendingTasks().map(({ label, threadId }) => ({ label, threadId }))).toEqual([{ label: 'deepest', threadId: maker.threadId }]);
    await maker.call('done', { task: 't', error: { ctor: 'Error', message: 'in the 40th' } });
    const error = await rejectionOf(parent.wait());
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).origins).toEqual([{ threadId: maker.threadId, group: 'parent/c39', label: 'deepest' }]);
  });

  it("cancels a worker's sub-group when main cancels the parent", async () => {
    const parent = new WaitGroup({ name: 'parent' });
    const child = parent.sub('child');
    const agent = await holding(newMarks(), child.share(), [], 'c');
    const aborted = agent.call('abortReason', { group: 'c' });
    await agent.event('listening');
    expect(await agent.call('cancelled', { group: 'c' })).toBe(false);
    parent.cancel('parent stopped');
    expect(await aborted).toEqual({ already: false, reason: { value: 'parent stopped' } });
    expect(await agent.call('cancelled', { group: 'c' })).toBe(true);
    expect(child.cancelled).toBe(true);
  });
});

describe('links across threads', () => {
  it('holds the waits of main and of a worker given a later share() until the linked work is done', async () => {
    const marks = newMarks();
    const a = new WaitGroup({ name: 'a' });
    const b = new WaitGroup({ name: 'b' });
    const stale = await holding(marks, a.share(), [], 'a');
    a.link(b);
    const fresh = await holding(marks, a.share(), [], 'a');
    const holder = await holding(marks, b.share(), [], 'b');
    await holder.call('add', { group: 'b', task: 't', label: 'linked-work' });

    expect(a.stats()).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
    const timeout = await rejectionOf(a.wait({ timeout: 0 }));
    expect(timeout).toBeInstanceOf(WaitTimeoutError);
    expect((timeout as WaitTimeoutError).pending.map(({ label, threadId }) => ({ label, threadId }))).toEqual([{ label: 'linked-work', threadId: holder.threadId }]);
    expect((await remoteError(fresh.call('wait', { group: 'a', timeout: 0 }))).code).toBe('ERR_WAIT_TIMEOUT');

    let resolved = false;
    const onMain = a.wait().then(() => {
      resolved = true;
    });
    const inFresh = fresh.call('wait', { group: 'a' });
    // A thread holding a copy made before the link refuses to wait rather than ignore it.
    for (const op of ['wait', 'waitSync'] as const) {
      const report = await remoteError(stale.call(op, { group: 'a', timeout: 0 }));
      expect(report.code).toBe('ERR_LINK_NOT_SHARED');
      expect(report.is).toContain('WaitGroupError');
    }
    expect(resolved).toBe(false);
    expect((await holder.call('done', { task: 't' })).results).toEqual([true]);
    await onMain;
    expect((await inFresh).pending).toBe(0);
    expect(resolved).toBe(true);
  });

  it('reports failures of the linked group, recorded in a worker, to waiters of the linking group', async () => {
    const marks = newMarks();
    const a = new WaitGroup({ name: 'a' });
    const b = new WaitGroup({ name: 'b' });
    a.link(b);
    const fresh = await holding(marks, a.share(), [], 'a');
    const holder = await holding(marks, b.share(), [], 'b');
    await holder.call('add', { group: 'b', task: 't', label: 'linked-fail' });
    const inFresh = remoteError(fresh.call('wait', { group: 'a' }));
    await holder.call('done', { task: 't', error: { ctor: 'TypeError', message: 'linked failure' } });
    const origin = { threadId: holder.threadId, group: 'b', label: 'linked-fail' };
    const error = await rejectionOf(a.wait());
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).origins).toEqual([origin]);
    expect((await inFresh).origins).toEqual([origin]);
    expect(a.stats().failed).toBe(0);
  });

  it('lets every thread wait once two threads that linked the same group on their own have exchanged shares', async () => {
    const a = new WaitGroup({ name: 'a' });
    const b = new WaitGroup({ name: 'b' });
    const worker = await holding(newMarks(), a.share(), [], 'a');
    await worker.call('attach', { group: 'b', value: b.share(), path: [] });
    a.link(b);
    // The worker's copy of `a` predates main's link, so it links `b` too (a no-op where the link is known).
    await worker.call('link', { group: 'a', other: 'b' });
    // Each thread then gets a share made after both links: no thread holds an older copy any more.
    expect(WaitGroup.from(await worker.call('share', { group: 'a' }))).toBe(a);
    await worker.call('attach', { group: 'a', value: a.share(), path: [] });
    await a.wait({ timeout: 0 });
    expect((await worker.call('wait', { group: 'a', timeout: 0 })).pending).toBe(0);
  });

  it('refuses a link cycle closed across threads with a WaitGroupError, not a stack overflow', async () => {
    const a = new WaitGroup({ name: 'a' });
    const b = new WaitGroup({ name: 'b' });
    const worker = await holding(newMarks(), a.share(), [], 'a');
    await worker.call('attach', { group: 'b', value: b.share(), path: [] });
    a.link(b);
    // The worker's copy of `a` predates the link a -> b, so it cannot see that b -> a closes a cycle...
    let code = await worker.call('link', { group: 'b', other: 'a' }).then(
      () => undefined,
      (error: unknown) => (error instanceof RemoteError && 'error' in error.thrown ? error.thrown.error.code : String(error)),
    );
    // ...but once main gets `b` with that link, from() or the wait must refuse it.
    if (code === undefined) {
      try {
        WaitGroup.from(await worker.call('share', { group: 'b' }));
        await a.wait({ timeout: 0 });
      } catch (error) {
        code = error instanceof WaitGroupError ? error.code : String(error);
      }
    }
    expect(code).toMatch(/^ERR_LINK_(CYCLE|NOT_SHARED)$/);
  });
});

describe('diagnostics read from any thread', () => {
  it('gives exact stats and the pending tasks of every thread, with threadId, label and remaining', async () => {
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'diag' });
    const child = wg.sub('kid');
    const [first, second, observer] = [startAgent(marks), startAgent(marks), startAgent(marks)];
    for (const agent of [first, second, observer]) await agent.call('attach', { group: 'g', value: wg.share(), path: [] });
    await second.call('attach', { group: 'kid', value: child.share(), path: [] });

    const three = wg.add(3, 'main-three');
    three.done();
    wg.add('main-failed').done(new Error('failed on main'));
    await first.call('add', { group: 'g', task: 't', label: 'first-task' });
    await second.call('add', { group: 'kid', task: 'long', count: 2, label: 'a-label-longer-than-seventeen' });
    await second.call('add', { group: 'g', task: 'done', label: 'second-done' });
    await second.call('done', { task: 'done' });

    const stats = { added: 8, done: 3, failed: 1, pending: 5 };
    expect(wg.stats()).toEqual(stats);
    expect(await observer.call('stats', { group: 'g' })).toEqual(stats);
    const expected = [
      { label: 'main-three', threadId: 0, remaining: 2 },
      { label: 'first-task', threadId: first.threadId, remaining: 1 },
      { label: 'a-label-longer-than-seventeen', threadId: second.threadId, remaining: 2 },
    ];
    const pending = await observer.call('pendingTasks', { group: 'g' });
    expect(pending.map(({ label, threadId, remaining }) => ({ label, threadId, remaining }))).toEqual(expect.arrayContaining(expected));
    expect(pending).toHaveLength(3);
    for (const task of pending) expect(task.since).toBeGreaterThan(0);
    expect(await second.call('pendingTasks', { group: 'kid' })).toEqual([expect.objectContaining(expected[2])]);
    expect(await observer.call('stats', { group: 'g' })).toEqual(wg.stats());
  });

  it('lists hundreds of tasks held in several threads, each under the thread that holds it', async () => {
    const wg = new WaitGroup({ name: 'crowd' });
    const marks = newMarks();
    const agents = [await holding(marks, wg.share(), [], 'g'), await holding(marks, wg.share(), [], 'g'), await holding(marks, wg.share(), [], 'g')];
    // Three threads add at once, growing the slot arena as they go.
    const added = await Promise.all(agents.map((agent, i) => agent.call('addMany', { group: 'g', task: 'batch', count: 400, label: `thread-${i}` })));
    expect(added).toEqual(agents.map(() => ({ added: 400, thrown: undefined })));
    const [first] = agents as [TestWorker];
    for (const pending of [wg.pendingTasks(), await first.call('pendingTasks', { group: 'g' })]) {
      expect(pending).toHaveLength(1200);
      agents.forEach((agent, i) => {
        expect(pending.filter((task) => task.threadId === agent.threadId && task.label === `thread-${i}` && task.remaining === 1)).toHaveLength(400);
      });
    }
    expect(await Promise.all(agents.map((agent) => agent.call('doneMany', { task: 'batch' })))).toEqual([400, 400, 400]);
    await wg.wait();
    expect(await first.call('stats', { group: 'g' })).toEqual({ added: 1200, done: 1200, failed: 0, pending: 0 });
  });
});
