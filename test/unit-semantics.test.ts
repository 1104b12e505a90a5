// Single-thread semantics settled by issue 12: add(0), unknown option keys, wait({ cancelWhenDone }),
// what add() says it takes, and what a TaskGroupError's message says of its first failure.
// (go() and limit: unit-go.test.ts; across threads: threads-*.test.ts.)
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentTypeError, Task, TaskGroupError, UnknownOptionError, WaitGroup, WaitTimeoutError, type WaitOptions } from '../src/index.js';
import { rejectionOf } from './helpers.js';
import { failureOf } from './outcomes.js';

/** What `fn` threw; fails if it did not throw. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Calls method `name` of `target` with arguments its types forbid. */
const loose = (target: object, name: string, ...args: unknown[]): unknown => Reflect.apply(Reflect.get(target, name) as (...a: unknown[]) => unknown, target, args);

describe('add(0)', () => {
  it('is a task complete from the start: no slot, no counter, done() returns false', async () => {
    // capacity 1, used up: add(0) must not need a slot.
    const wg = new WaitGroup({ capacity: 1 });
    const held = wg.add('held');
    const empty = wg.add(0, 'empty list');
    expect(empty).toBeInstanceOf(Task);
    expect(empty.label).toBe('empty list');
    expect(empty.remaining).toBe(0);
    expect(empty.done()).toBe(false);
    expect(empty.done(new Error('ignored'))).toBe(false);
    expect(wg.stats()).toEqual({ added: 1, done: 0, failed: 0, pending: 1 });
    expect(wg.pendingTasks().map((task) => task.label)).toEqual(['held']);
    // A handle rebuilt from it is complete too, and leaves the slot's own task alone.
    const rebuilt = Task.from(empty.share());
    expect([rebuilt.remaining, rebuilt.done()]).toEqual([0, false]);
    expect(held.remaining).toBe(1);
    expect(wg.pendingTasks()).toMatchObject([{ label: 'held', remaining: 1 }]);
    held.done();
    await wg.wait();
    expect(wg.stats()).toEqual({ added: 1, done: 1, failed: 0, pending: 0 });
  });

  it('is rebuilt by Task.from() in a tree that never handed out a slot', () => {
    const wg = new WaitGroup({ name: 'no slot yet' });
    const rebuilt = Task.from(wg.add(0, 'nothing').share());
    expect([rebuilt.remaining, rebuilt.done()]).toEqual([0, false]);
    expect(wg.stats()).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
  });

  it('over an empty list lets the wait pass at once', async () => {
    const wg = new WaitGroup();
    const items: string[] = [];
    const task = wg.add(items.length, 'items');
    items.forEach(() => task.done());
    await wg.wait({ timeout: 0 });
    {
      using disposed = wg.add(0);
      expect(disposed.remaining).toBe(0);
    }
    expect(wg.stats()).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
  });
});

describe('unknown option keys', () => {
  const cases: readonly { readonly name: string; readonly run: () => unknown; readonly option: string; readonly accepted: readonly string[] }[] = [
    {
      name: 'new WaitGroup({ cancelOnErorr })',
      run: (): unknown => Reflect.construct(WaitGroup, [{ cancelOnErorr: true }]),
      option: 'cancelOnErorr',
      accepted: ['name', 'signal', 'limit', 'cancelOnError', 'capacity', 'maxGroups', 'maxFailures', 'failureBytes'],
    },
    { name: 'wait({ timout })', run: () => loose(new WaitGroup(), 'wait', { timout: 5 }), option: 'timout', accepted: ['timeout', 'signal', 'cancelWhenDone'] },
    { name: 'waitSync({ signal })', run: () => loose(new WaitGroup(), 'waitSync', { signal: AbortSignal.timeout(1) }), option: 'signal', accepted: ['timeout', 'cancelWhenDone', 'blockMainThread'] },
    { name: 'waitSync({ timeout, extra: undefined })', run: () => loose(new WaitGroup(), 'waitSync', { timeout: 1, extra: undefined }), option: 'extra', accepted: ['timeout', 'cancelWhenDone', 'blockMainThread'] },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s throws ERR_UNKNOWN_OPTION naming the key and the options', async (_, c) => {
    let error: unknown;
    try {
      // wait() rejects rather than throw.
      await c.run();
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(UnknownOptionError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'ERR_UNKNOWN_OPTION', option: c.option, accepted: c.accepted });
  });

  it('accepts every documented key, and keys of the prototype are not looked at', async () => {
    const inherited = Object.create({ bogus: true }) as WaitOptions;
    const wg = new WaitGroup({ name: 'n', signal: new AbortController().signal, limit: 1, cancelOnError: false, capacity: 4, maxGroups: 2, maxFailures: 1, failureBytes: 1024 });
    await wg.wait(inherited);
    await wg.wait({ timeout: 1, signal: new AbortController().signal, cancelWhenDone: false });
    wg.waitSync({ timeout: 1, cancelWhenDone: false });
  });
});

describe('wait({ cancelWhenDone })', () => {
  it('cancels the group when the wait resolves, before the caller resumes', async () => {
    const wg = new WaitGroup({ name: 'errgroup' });
    const sub = wg.sub('child');
    const task = wg.add();
    const waited = wg.wait({ cancelWhenDone: true }).then(() => [wg.cancelled, wg.signal.aborted, sub.cancelled]);
    expect(wg.cancelled).toBe(false);
    task.done();
    expect(await waited).toEqual([true, true, true]);
  });

  it('cancels it when the wait rejects with the group failures, and keeps a cancelOnError reason', async () => {
    const wg = new WaitGroup();
    const failure = new Error('failed');
    wg.add().done(failure);
    const error = await failureOf(wg, { cancelWhenDone: true });
    expect(error.errors).toEqual([failure]);
    expect(wg.cancelled).toBe(true);
    const first = new WaitGroup({ cancelOnError: true });
    first.add().done(failure);
    await failureOf(first, { cancelWhenDone: true });
    expect(first.signal.reason).toBe(failure);
  });

  it('does not cancel when the wait gives up (timeout or signal), nor without the option', async () => {
    const wg = new WaitGroup();
    const task = wg.add();
    expect(await rejectionOf(wg.wait({ timeout: 0, cancelWhenDone: true }))).toBeInstanceOf(WaitTimeoutError);
    const controller = new AbortController();
    const aborted = wg.wait({ signal: controller.signal, cancelWhenDone: true });
    controller.abort(new TaskGroupError([], [], 0, 'not this group'));
    expect(await rejectionOf(aborted)).toBeInstanceOf(TaskGroupError);
    expect(wg.cancelled).toBe(false);
    task.done();
    await wg.wait();
    wg.waitSync({ blockMainThread: true });
    expect(wg.cancelled).toBe(false);
  });

  it('waitSync({ cancelWhenDone }) cancels when it returns or throws the group failures', () => {
    const wg = new WaitGroup();
    wg.waitSync({ cancelWhenDone: true, blockMainThread: true });
    expect(wg.cancelled).toBe(true);
    const failed = new WaitGroup();
    failed.add().done(new Error('x'));
    expect(thrownBy(() => failed.waitSync({ cancelWhenDone: true, blockMainThread: true }))).toBeInstanceOf(TaskGroupError);
    expect(failed.cancelled).toBe(true);
    const late = new WaitGroup();
    late.add();
    expect(thrownBy(() => late.waitSync({ timeout: 0, cancelWhenDone: true }))).toBeInstanceOf(WaitTimeoutError);
    expect(late.cancelled).toBe(false);
  });
});

describe('messages that name what they need to (issue 12)', () => {
  // The two places where a test reads a message: the items are about what the message says.
  // They check that it names values and forms, not its wording.
  it('add(3n) names what it received and each form add() takes', () => {
    const wg = new WaitGroup();
    for (const args of [[3n], [{}], [null], [undefined, 'label'], ['a', 'b']]) {
      const error = thrownBy(() => loose(wg, 'add', ...args));
      expect(error).toBeInstanceOf(InvalidArgumentTypeError);
      expect((error as InvalidArgumentTypeError).code).toBe('ERR_INVALID_ARG_TYPE');
      const { message } = error as Error;
      for (const form of ['add()', 'add(label)', 'add(count, label?)', inspect(args[0])]) expect(message).toContain(form);
    }
    expect(wg.stats()).toEqual({ added: 0, done: 0, failed: 0, pending: 0 });
  });

  it("a TaskGroupError's message gives its first failure's class, code, message and task, cut to a bounded length", async () => {
    const wg = new WaitGroup({ name: 'uploads' });
    const quota = Object.assign(new RangeError(`over quota\n${'x'.repeat(10_000)}`), { code: 'E_QUOTA' });
    wg.add('upload a.txt').done(quota);
    wg.add().done('a string');
    const error = await failureOf(wg);
    expect(error.message).toContain('2 tasks');
    expect(error.message).toContain('RangeError');
    expect(error.message).toContain('E_QUOTA');
    expect(error.message).toContain('over quota');
    expect(error.message).toContain('upload a.txt');
    expect(error.message.length).toBeLessThan(500);
    const other = new WaitGroup();
    other.add().done(Symbol('odd'));
    expect((await failureOf(other)).message).toContain('Symbol(odd)');
  });
});
