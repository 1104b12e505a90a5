// Bad input never corrupts state: every row calls the API with a bad argument, expects the error
// class and `code`, and checks that stats() and pendingTasks() of the groups are as they were.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentTypeError,
  OutOfRangeError,
  Task,
  UnknownOptionError,
  WaitGroup,
  WaitGroupError,
  type SharedTask,
  type SharedWaitGroup,
  type WaitGroupOptions,
} from '../src/index.js';
import * as L from '../src/memory/layout.js';

/** The groups a row works on: a root with a sub-group, and an unrelated group. */
interface Groups {
  readonly root: WaitGroup;
  readonly sub: WaitGroup;
  readonly other: WaitGroup;
  /** A share() of the pending task of `other`. */
  readonly task: SharedTask;
}

type ErrorClass = typeof InvalidArgumentTypeError | typeof OutOfRangeError | typeof UnknownOptionError | typeof WaitGroupError;

interface Row {
  readonly name: string;
  readonly run: (g: Groups) => unknown;
  readonly error: ErrorClass;
  readonly code: string;
  /** 'reject' when the call must return a promise that is already rejected, rather than throw. */
  readonly how?: 'throw' | 'reject';
  readonly options?: WaitGroupOptions;
  /** Replaces the default work (root: a task of 2 units, one done; sub: one task). */
  readonly prepare?: (g: Groups) => void;
}

const INVALID = 'ERR_INVALID_ARG_TYPE';
const RANGE = 'ERR_OUT_OF_RANGE';
const SHARED = 'ERR_INVALID_SHARED_VALUE';
const VERSION = 'ERR_LAYOUT_VERSION';
const UNKNOWN = 'ERR_UNKNOWN_OPTION';
const T = InvalidArgumentTypeError;
const R = OutOfRangeError;
const W = WaitGroupError;
const U = UnknownOptionError;
const nothingPending = (g: Groups): void => {
  g.root.add().done();
};
/** Calls method `name` of `target` with arguments its types forbid. */
const loose = (target: object, name: string, ...args: unknown[]): unknown => Reflect.apply(Reflect.get(target, name) as (...a: unknown[]) => unknown, target, args);
const add = (g: Groups, ...args: unknown[]): unknown => loose(g.root, 'add', ...args);
const make = (options: unknown): unknown => Reflect.construct(WaitGroup, [options]);
const from = (value: unknown): unknown => WaitGroup.from(value as SharedWaitGroup);
const taskFrom = (value: unknown): unknown => Task.from(value as SharedTask);
const growable = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(bytes, { maxByteLength: bytes * 2 });

/** A tree buffer with the tree's tag and `version`, and nothing else. */
function foreignTree(version: number, tag = L.TREE_MAGIC): SharedArrayBuffer {
  const buffer = growable((L.GROUPS_BASE + L.GROUP_WORDS) * 4);
  const words = new Int32Array(buffer);
  words[L.T_MAGIC] = tag;
  words[L.T_VERSION] = version;
  return buffer;
}

function withTree(g: Groups, tree: Partial<SharedWaitGroup['tree']>): unknown {
  const shared = g.root.share();
  return from({ ...shared, tree: { ...shared.tree, ...tree } });
}

function sharedTask(g: Groups, fields: Record<string, unknown>): unknown {
  return taskFrom({ ...g.task, ...fields });
}

const rows: Row[] = [
  ...[-1, 1.5, NaN, 2 ** 31, Infinity, -Infinity].map((count): Row => ({ name: `add(${count})`, run: (g) => add(g, count), error: R, code: RANGE })),
  { name: "add('x', 'y')", run: (g) => add(g, 'x', 'y'), error: T, code: INVALID },
  { name: "add(undefined, 'y')", run: (g) => add(g, undefined, 'y'), error: T, code: INVALID },
  { name: 'add(1n)', run: (g) => add(g, 1n), error: T, code: INVALID },
  { name: 'add(null)', run: (g) => add(g, null), error: T, code: INVALID },
  ...[5, {}, Symbol('s'), true, null].map((label): Row => ({ name: `add(1, ${inspect(label)})`, run: (g) => add(g, 1, label), error: T, code: INVALID })),
  { name: 'add({}) as a label', run: (g) => add(g, {}), error: T, code: INVALID },
  { name: 'add(3n)', run: (g) => add(g, 3n), error: T, code: INVALID },
  { name: 'add(Symbol) as a label', run: (g) => add(g, Symbol('label')), error: T, code: INVALID },
  { name: 'sub(5)', run: (g) => loose(g.root, 'sub', 5), error: T, code: INVALID },
  { name: 'go(5)', run: (g) => loose(g.root, 'go', 5), error: T, code: INVALID },
  { name: "go('fn')", run: (g) => loose(g.root, 'go', 'fn'), error: T, code: INVALID },
  { name: 'go(fn, 5)', run: (g) => loose(g.root, 'go', () => undefined, 5), error: T, code: INVALID },
  { name: 'tryGo(null)', run: (g) => loose(g.root, 'tryGo', null), error: T, code: INVALID },
  { name: 'link({})', run: (g) => loose(g.root, 'link', {}), error: T, code: INVALID },
  { name: 'link(share())', run: (g) => loose(g.root, 'link', g.other.share()), error: T, code: INVALID },
  { name: 'link(undefined)', run: (g) => loose(g.root, 'link', undefined), error: T, code: INVALID },
  // Limits of the tree.
  ...(['add', 'go', 'tryGo'] as const).map(
    (op): Row => ({
      name: `${op}() with capacity 3 used up`,
      options: { capacity: 3 },
      prepare: (g) => [g.root.add(), g.root.add(), g.sub.add()],
      run: (g) => (op === 'add' ? g.root.add() : g.sub[op](() => expect.unreachable('must not run'))),
      error: W,
      code: 'ERR_CAPACITY_EXCEEDED',
    }),
  ),
  { name: 'add(1) on 2^31 - 1 pending', prepare: (g) => g.root.add(L.MAX_UNITS), run: (g) => g.root.add(1), error: W, code: 'ERR_PENDING_OVERFLOW' },
  { name: 'sub add(1) on a parent with 2^31 - 1 pending', prepare: (g) => [g.root.add(L.MAX_UNITS - 1), g.sub.add()], run: (g) => g.sub.add(1), error: W, code: 'ERR_PENDING_OVERFLOW' },
  { name: 'sub() past maxGroups', options: { maxGroups: 2 }, run: (g) => g.root.sub(), error: W, code: 'ERR_GROUP_LIMIT_EXCEEDED' },
  // Timeouts and wait options.
  ...[-1, NaN, -Infinity].map((timeout): Row => ({ name: `wait({ timeout: ${timeout} })`, run: (g) => g.root.wait({ timeout }), how: 'reject', error: R, code: RANGE })),
  { name: "wait({ timeout: '5' })", run: (g) => loose(g.root, 'wait', { timeout: '5' }), how: 'reject', error: T, code: INVALID },
  { name: "wait({ signal: 'x' })", run: (g) => loose(g.root, 'wait', { signal: 'x' }), how: 'reject', error: T, code: INVALID },
  ...[null, 5].map((options): Row => ({ name: `wait(${options})`, prepare: nothingPending, run: (g) => loose(g.root, 'wait', options), how: 'reject', error: T, code: INVALID })),
  ...[-1, NaN].map((timeout): Row => ({ name: `waitSync({ timeout: ${timeout} })`, run: (g) => g.root.waitSync({ timeout }), error: R, code: RANGE })),
  { name: "waitSync({ timeout: 'x' })", run: (g) => loose(g.root, 'waitSync', { timeout: 'x' }), error: T, code: INVALID },
  ...[null, 5].map((options): Row => ({ name: `waitSync(${options})`, prepare: nothingPending, run: (g) => loose(g.root, 'waitSync', options), error: T, code: INVALID })),
  { name: "wait({ cancelWhenDone: 'yes' })", prepare: nothingPending, run: (g) => loose(g.root, 'wait', { cancelWhenDone: 'yes' }), how: 'reject', error: T, code: INVALID },
  { name: 'waitSync({ cancelWhenDone: 1 })', prepare: nothingPending, run: (g) => loose(g.root, 'waitSync', { cancelWhenDone: 1 }), error: T, code: INVALID },
  // Unknown keys: a misspelt option must not be ignored.
  { name: 'wait({ timout })', prepare: nothingPending, run: (g) => loose(g.root, 'wait', { timout: 5 }), how: 'reject', error: U, code: UNKNOWN },
  { name: 'wait({ cancel })', prepare: nothingPending, run: (g) => loose(g.root, 'wait', { cancel: true }), how: 'reject', error: U, code: UNKNOWN },
  { name: 'waitSync({ signal })', prepare: nothingPending, run: (g) => loose(g.root, 'waitSync', { signal: new AbortController().signal }), error: U, code: UNKNOWN },
  { name: 'new WaitGroup({ cancelOnErorr })', run: () => make({ cancelOnErorr: true }), error: U, code: UNKNOWN },
  { name: 'new WaitGroup({ Limit })', run: () => make({ Limit: 2 }), error: U, code: UNKNOWN },
  // Constructor options.
  ...[0, -1, 1.5].map((limit): Row => ({ name: `limit ${limit}`, run: () => make({ limit }), error: R, code: RANGE })),
  { name: "limit 'x'", run: () => make({ limit: 'x' }), error: T, code: INVALID },
  ...[0, 1.5, L.MAX_CAPACITY + 1].map((capacity): Row => ({ name: `capacity ${capacity}`, run: () => make({ capacity }), error: R, code: RANGE })),
  { name: 'maxGroups 0', run: () => make({ maxGroups: 0 }), error: R, code: RANGE },
  { name: 'maxFailures -1', run: () => make({ maxFailures: -1 }), error: R, code: RANGE },
  { name: 'failureBytes 1.5', run: () => make({ failureBytes: 1.5 }), error: R, code: RANGE },
  { name: "cancelOnError 'yes'", run: () => make({ cancelOnError: 'yes' }), error: T, code: INVALID },
  { name: 'name 5', run: () => make({ name: 5 }), error: T, code: INVALID },
  { name: 'signal {}', run: () => make({ signal: {} }), error: T, code: INVALID },
  ...[5, 'x', null, true].map((options): Row => ({ name: `options ${String(options)}`, run: () => make(options), error: T, code: INVALID })),
  // WaitGroup.from()
  ...[undefined, null, 5, {}, { kind: 'shared-waitgroup', version: L.LAYOUT_VERSION }].map((value): Row => ({ name: `WaitGroup.from(${JSON.stringify(value)})`, run: () => from(value), error: W, code: SHARED })),
  { name: 'a share() of another version', run: (g) => from({ ...g.root.share(), version: L.LAYOUT_VERSION + 1 }), error: W, code: VERSION },
  ...[0, 1.5, 99, '1'].map((group): Row => ({ name: `group id ${String(group)}`, run: (g) => from({ ...g.root.share(), group }), error: W, code: SHARED })),
  { name: 'a sub-group without its parent', run: (g) => from({ ...g.sub.share(), parent: null }), error: W, code: SHARED },
  { name: 'a sub-group with the parent of another tree', run: (g) => from({ ...g.sub.share(), parent: g.other.share() }), error: W, code: SHARED },
  { name: 'links that are not an array', run: (g) => from({ ...g.root.share(), links: 'x' }), error: W, code: SHARED },
  { name: 'a valid link, then garbage', run: (g) => from({ ...g.root.share(), links: [g.other.share(), {}] }), error: W, code: SHARED },
  { name: 'tree that is not an object', run: (g) => from({ ...g.root.share(), tree: 'x' }), error: W, code: SHARED },
  { name: 'tree buffer not growable', run: (g) => withTree(g, { tree: new SharedArrayBuffer(1024) }), error: W, code: SHARED },
  { name: 'tree buffer with another tag', run: (g) => withTree(g, { tree: foreignTree(L.LAYOUT_VERSION, L.HEADER_MAGIC) }), error: W, code: SHARED },
  { name: 'tree buffer of another version', run: (g) => withTree(g, { tree: foreignTree(L.LAYOUT_VERSION + 1) }), error: W, code: VERSION },
  { name: 'slots buffer of another size', run: (g) => withTree(g, { slots: growable(64) }), error: W, code: SHARED },
  {
    name: 'a group record with a wrong tag',
    run: () => {
      const victim = new WaitGroup();
      const shared = victim.share();
      new Int32Array(shared.tree.tree)[L.GROUPS_BASE + L.H_MAGIC] = 0;
      return from(shared);
    },
    error: W,
    code: SHARED,
  },
  // Task.from()
  ...[undefined, {}, { kind: 'shared-waitgroup/task', version: L.LAYOUT_VERSION }].map((value): Row => ({ name: `Task.from(${JSON.stringify(value)})`, run: () => taskFrom(value), error: W, code: SHARED })),
  { name: 'a task of another version', run: (g) => sharedTask(g, { version: 0 }), error: W, code: VERSION },
  ...[-1, 1.5, L.DEFAULT_CAPACITY, L.DEFAULT_CAPACITY - 1].map((slot): Row => ({ name: `task slot ${slot}`, run: (g) => sharedTask(g, { slot }), error: W, code: SHARED })),
  { name: 'task state -1n', run: (g) => sharedTask(g, { state: -1n }), error: W, code: SHARED },
  { name: 'task state 5', run: (g) => sharedTask(g, { state: 5 }), error: W, code: SHARED },
  { name: 'task label 5', run: (g) => sharedTask(g, { label: 5 }), error: W, code: SHARED },
  { name: 'task of a garbage group', run: (g) => sharedTask(g, { group: { kind: 'shared-waitgroup', version: L.LAYOUT_VERSION } }), error: W, code: SHARED },
];

/** How `fn` failed: a synchronous throw, or a promise it returned that is already rejected. */
async function failure(fn: () => unknown): Promise<{ how: 'throw' | 'reject' | 'none'; error: unknown }> {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return { how: 'throw', error };
  }
  if (!(result instanceof Promise)) return { how: 'none', error: undefined };
  // An already settled promise wins the race against the already resolved marker.
  const marker = Symbol('pending');
  try {
    const settled: unknown = await Promise.race([result, Promise.resolve(marker)]);
    return { how: 'none', error: settled };
  } catch (error) {
    return { how: 'reject', error };
  }
}

function snapshot(g: Groups): unknown {
  return [g.root, g.sub, g.other].map((wg) => ({ stats: wg.stats(), pending: wg.pendingTasks(), links: wg.share().links.length, cancelled: wg.cancelled }));
}

describe('bad input never corrupts state', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', async (_, row) => {
    const root = new WaitGroup({ name: 'input', ...row.options });
    const other = new WaitGroup({ name: 'other' });
    const g: Groups = { root, sub: root.sub('sub'), other, task: other.add('other task').share() };
    if (row.prepare) row.prepare(g);
    else {
      g.root.add(2, 'held').done();
      g.sub.add('sub task');
    }
    const before = snapshot(g);
    const { how, error } = await failure(() => row.run(g));
    expect(how).toBe(row.how ?? 'throw');
    expect(error).toBeInstanceOf(row.error);
    expect((error as { code?: unknown }).code).toBe(row.code);
    expect(snapshot(g)).toEqual(before);
  });
});
