// A worker the thread tests drive by message: it keeps groups and tasks by name and runs the
// operations of protocol.ts, replying with each result or with a description of what was thrown.
// The port listener keeps it alive; tests terminate it.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Task, WaitGroup, type SharedTask, type SharedWaitGroup, type WaitOptions } from '../src/index.js';
import { GROUP_WORDS, HEADER_MAGIC, H_GROUP_ID, H_MAGIC, H_WAITERS, GROUPS_BASE } from '../src/memory/layout.js';
import { makeError, makeReason, report, type AgentData, type Behavior, type Ops, type Path, type Request, type Woke } from './protocol.js';
import { GUARD_MS, block, bump, countedRun, reach, set } from './sync.js';

if (parentPort === null) throw new Error('agent.ts runs in a worker thread');
const port = parentPort;
const { marks, data } = workerData as AgentData;
/** Iterations the spin loop runs before it reports that it started. */
const SPIN_BEFORE_STARTED = 1000;
const groups = new Map<string, WaitGroup>();
const tasks = new Map<string, Task>();
const batches = new Map<string, Task[]>();

function group(name: string): WaitGroup {
  const found = groups.get(name);
  if (found === undefined) throw new Error(`agent has no group named ${name}`);
  return found;
}

function task(name: string): Task {
  const found = tasks.get(name);
  if (found === undefined) throw new Error(`agent has no task named ${name}`);
  return found;
}

function at(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) value = (value as Record<string | number, unknown>)[key];
  return value;
}

function emit(event: string, eventData?: unknown): void {
  port.postMessage({ event, data: eventData });
}

/** The function `go()` runs for a behavior, and the stack of the error it will throw, if any. */
function behave(behavior: Behavior): { fn: () => unknown; stack: string | undefined } {
  switch (behavior.kind) {
    case 'ok':
      return { fn: () => undefined, stack: undefined };
    case 'throw':
    case 'reject': {
      const error = behavior.error === undefined ? undefined : makeError(behavior.error);
      // The error may be `undefined` on purpose: go() must count even that as a failure.
      const fn =
        behavior.kind === 'throw'
          ? () => {
              // eslint-disable-next-line @typescript-eslint/only-throw-error -- see above
              throw error;
            }
          : // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- see above
            () => Promise.reject(error);
      return { fn, stack: error?.stack };
    }
    case 'hold':
      return {
        fn: async () => {
          bump(marks, behavior.started);
          await reach(marks, behavior.hold, 1);
        },
        stack: undefined,
      };
  }
}

function waitOptions(timeout: number | undefined, cancelWhenDone: boolean | undefined): WaitOptions {
  return { ...(timeout === undefined ? {} : { timeout }), ...(cancelWhenDone === undefined ? {} : { cancelWhenDone }) };
}

/** Threads asleep on the group's pending count now: its H_WAITERS word, in the tree buffer (src/memory/layout.ts). */
function sleepers(shared: SharedWaitGroup): number {
  const words = new Int32Array(shared.tree.tree);
  const record = GROUPS_BASE + (shared.group - 1) * GROUP_WORDS;
  // Should the layout change, fail rather than poll some other word.
  if (words[record + H_MAGIC] !== HEADER_MAGIC || words[record + H_GROUP_ID] !== shared.group) {
    throw new Error(`no record of group ${shared.group} where src/memory/layout.ts says it is`);
  }
  return Atomics.load(words, record + H_WAITERS);
}

function woke(wg: WaitGroup): Woke {
  return { pending: wg.stats().pending, marks: Array.from(marks) };
}

type Handlers = { [K in keyof Ops]: (args: Ops[K]['args']) => Ops[K]['result'] | Promise<Ops[K]['result']> };

const handlers: Handlers = {
  ping: () => threadId,
  attach: ({ group: name, value, path }) => {
    const wg = WaitGroup.from(at(value === undefined ? data : value, path) as SharedWaitGroup);
    groups.set(name, wg);
    return wg.name;
  },
  attachTask: ({ task: name, value, path }) => {
    const rebuilt = Task.from(at(value, path) as SharedTask);
    tasks.set(name, rebuilt);
    return rebuilt.remaining;
  },
  add: ({ group: name, task: taskName, count, label }) => {
    const added = group(name).add(count ?? 1, label);
    tasks.set(taskName, added);
    return added.share();
  },
  share: ({ group: name }) => group(name).share(),
  link: ({ group: name, other }) => {
    group(name).link(group(other));
    return null;
  },
  sub: ({ group: name, child, label }) => {
    const made = group(name).sub(label);
    groups.set(child, made);
    return made.share();
  },
  addMany: ({ group: name, task: batch, count, label }) => {
    const wg = group(name);
    const added: Task[] = [];
    batches.set(batch, added);
    try {
      for (let i = 0; i < count; i++) added.push(wg.add(label));
    } catch (error) {
      return { added: added.length, thrown: report(error) };
    }
    return { added: added.length, thrown: undefined };
  },
  doneMany: ({ task: batch }) => (batches.get(batch) ?? []).filter((added) => added.done()).length,
  done: ({ task: name, error, times }) => {
    const failure = error === undefined ? undefined : makeError(error);
    const results = Array.from({ length: times ?? 1 }, () => task(name).done(failure));
    return { results, stack: failure?.stack };
  },
  go: ({ group: name, label, behavior }) => {
    const { fn, stack } = behave(behavior);
    group(name).go(fn, label);
    return { stack };
  },
  tryGo: ({ group: name, label, behavior }) => group(name).tryGo(behave(behavior).fn, label),
  work: async ({ group: name, units, label, hold }) => {
    const wg = group(name);
    const last = wg.add(label);
    const runs: Promise<void>[] = [];
    let added = 1;
    for (let step = 0; added < units; step++) {
      switch (step % 4) {
        case 0:
          wg.add().done();
          added += 1;
          break;
        case 1: {
          const count = Math.min(3, units - added);
          const several = wg.add(count, 'several');
          for (let unit = 0; unit < count; unit++) several.done();
          added += count;
          break;
        }
        case 2:
          wg.go(() => undefined);
          added += 1;
          break;
        default:
          wg.go(() => {
            const run = Promise.resolve().then(() => undefined);
            runs.push(run);
            return run;
          });
          added += 1;
      }
    }
    // The functions start in microtasks, which run before this await's continuation: by then
    // every async one has pushed its promise, and the group's reaction to it is registered before
    // Promise.all's, so once Promise.all resolves every one of these units is complete.
    await Promise.resolve();
    await Promise.all(runs);
    emit('holding', threadId);
    await reach(marks, hold, 1);
    return { added, last: last.done() };
  },
  wait: async ({ group: name, timeout, after, cancelWhenDone }) => {
    const wg = group(name);
    try {
      await wg.wait(waitOptions(timeout, cancelWhenDone));
      return woke(wg);
    } finally {
      if (after !== undefined) bump(marks, after);
    }
  },
  waitSync: ({ group: name, timeout, after, cancelWhenDone }) => {
    const wg = group(name);
    emit('blocking');
    try {
      wg.waitSync(waitOptions(timeout, cancelWhenDone));
      return woke(wg);
    } finally {
      if (after !== undefined) bump(marks, after);
    }
  },
  stats: ({ group: name }) => group(name).stats(),
  pendingTasks: ({ group: name }) => group(name).pendingTasks(),
  cancel: ({ group: name, reason }) => {
    if (reason === undefined) group(name).cancel();
    else group(name).cancel(makeReason(reason));
    return null;
  },
  cancelled: ({ group: name }) => group(name).cancelled,
  abortReason: async ({ group: name }) => {
    const signal = group(name).signal;
    const already = signal.aborted;
    const aborted = new Promise<void>((resolve) => {
      if (already) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    emit('listening');
    await aborted;
    return { already, reason: report(signal.reason) };
  },
  spin: ({ group: name, started }) => {
    const wg = group(name);
    const deadline = performance.now() + GUARD_MS;
    let iterations = 0;
    while (!wg.cancelled) {
      iterations++;
      // Told only once the loop has run a while: the test then sees it end after more than this.
      if (iterations === SPIN_BEFORE_STARTED) set(marks, started);
      if ((iterations & 0xfffff) === 0 && performance.now() > deadline) throw new Error('never saw the group cancelled');
    }
    return iterations;
  },
  race: ({ group: name, task: taskName, ready, start, calls, fail }) => {
    const wg = group(name);
    const raced = task(taskName);
    let trues = 0;
    let minPending = Infinity;
    bump(marks, ready);
    block(marks, start, 1);
    for (let call = 0; call < calls; call++) {
      if (raced.done(fail === true ? new Error(`failed in thread ${threadId}`) : undefined)) trues++;
      minPending = Math.min(minPending, wg.stats().pending);
    }
    return { trues, minPending };
  },
  doneWhenWaiting: ({ group: name, waiters, tasks: names, count }) => {
    const shared = group(name).share();
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const deadline = performance.now() + GUARD_MS;
    while (sleepers(shared) < waiters) {
      if (performance.now() > deadline) throw new Error(`fewer than ${waiters} threads ever waited`);
      Atomics.wait(pause, 0, 0, 1);
    }
    return names.map((taskName) => {
      bump(marks, count);
      return task(taskName).done();
    });
  },
  limited: ({ group: name, fns, counters }) => {
    const wg = group(name);
    for (let fn = 0; fn < fns; fn++) wg.go(() => countedRun(marks, counters));
    return null;
  },
  tryGoWhen: async ({ group: name, label, when, done, seen }) => {
    const wg = group(name);
    await reach(marks, when, 1);
    const observe = (): number => bump(marks, wg.cancelled ? seen.cancelled : seen.live);
    const started = wg.tryGo(() => {
      observe();
      set(marks, done);
    }, label);
    if (!started) {
      wg.go(observe, label);
      set(marks, done);
    }
    return started;
  },
};

async function serve(request: Request): Promise<void> {
  const handler = handlers[request.op] as (args: unknown) => unknown;
  try {
    port.postMessage({ id: request.id, value: await handler(request.args) });
  } catch (error) {
    port.postMessage({ id: request.id, thrown: report(error) });
  }
}

port.on('message', (request: Request) => {
  void serve(request);
});
