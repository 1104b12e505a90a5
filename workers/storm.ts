// Worker fixture of the terminate() storm (test/storm.ts): runs one operation of the public API in
// a tight loop until the main thread terminates it, which V8 does between any two steps of it. It
// says it is looping through a word of shared memory, and counts finished iterations in another,
// so the main thread can kill it after a chosen number of them. See workers/storm-protocol.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { Task, WaitGroup } from '../src/index.js';
import {
  CANCEL_CODE,
  ODD_DONE_FALSE,
  ODD_DONE_TWICE,
  ODD_TRY_GO_REFUSED,
  OP_ERROR_CODE,
  OWN_LABEL,
  STATE_FAILED,
  STATE_LOOPING,
  W_COUNT,
  W_ODD,
  W_STATE,
  type StormInput,
} from './storm-protocol.js';

const input = workerData as StormInput;
const { words } = input;

/** Records the first surprise the API gave us; the loop goes on. */
function odd(code: number): void {
  Atomics.compareExchange(words, W_ODD, 0, code);
}

/** Fails when `done` is false: a task just added or rebuilt must take its unit. */
function expectDone(done: boolean): void {
  if (!done) odd(ODD_DONE_FALSE);
}

/** Fails when `done` is true: the task's unit was taken by another handle already. */
function expectNotDone(done: boolean): void {
  if (done) odd(ODD_DONE_TWICE);
}

/** The body of one iteration of `op`, made once, before the loop. */
function stepOf(wg: WaitGroup): (i: number) => void {
  switch (input.op) {
    case 'add-done':
      return () => expectDone(wg.add().done());
    case 'sub-add-done': {
      // Three levels below the root; odd iterations use the middle one, so both chain lengths run.
      const middle = wg.sub('a').sub('b');
      const leaf = middle.sub('c');
      return (i) => expectDone((i % 2 === 0 ? leaf : middle).add().done());
    }
    case 'done-error':
      return () => expectDone(wg.add().done(Object.assign(new Error('x'), { code: OP_ERROR_CODE })));
    case 'add-count':
      return () => {
        const task = wg.add(3);
        expectDone(task.done());
        expectDone(task.done());
        expectDone(task.done());
        expectNotDone(task.done());
      };
    case 'shared-done': {
      const given = input.tasks ?? [];
      return (i) => {
        // A task of the main thread's, ours once rebuilt here.
        const shared = given[i];
        if (shared !== undefined) expectDone(Task.from(shared).done());
        // A task of ours, shared with ourselves: either handle takes the unit, the other finds none.
        const own = wg.add(OWN_LABEL);
        const rebuilt = Task.from(own.share());
        const [first, second] = i % 2 === 0 ? [rebuilt, own] : [own, rebuilt];
        expectDone(first.done());
        expectNotDone(second.done());
      };
    }
    case 'task-from': {
      const shared = input.tasks?.[0];
      if (shared === undefined) throw new Error('task-from needs the shared task');
      return () => expectDone(Task.from(shared).done());
    }
    case 'go-limit': {
      // A synchronous function: it holds the group's one limit slot only while it runs.
      let ran = 0;
      const work = (): number => ran++;
      return (i) => {
        if (i % 2 === 0) wg.go(work);
        else if (!wg.tryGo(work)) odd(ODD_TRY_GO_REFUSED);
      };
    }
    case 'cancel': {
      const given = input.groups ?? [];
      return (i) => {
        // Even iterations cancel a sub-group the main thread made (it checks them afterwards),
        // odd ones a sub-group made here.
        const shared = i % 2 === 0 ? given[i / 2] : undefined;
        const sub = shared === undefined ? wg.sub('job') : WaitGroup.from(shared);
        const task = sub.add('job');
        sub.cancel(Object.assign(new Error('cancelled by the storm'), { code: CANCEL_CODE }));
        expectDone(task.done());
      };
    }
    case 'link': {
      const [sharedA, sharedB] = input.groups ?? [];
      if (sharedA === undefined || sharedB === undefined) throw new Error('link needs the two linked groups');
      const a = WaitGroup.from(sharedA);
      const b = WaitGroup.from(sharedB);
      return (i) => {
        // One task in each group; one of them handed over (to ourselves) and completed through
        // the rebuilt handle, a's on odd iterations and b's on even ones.
        const inA = a.add('a');
        const inB = b.add('b');
        if (i % 2 === 0) {
          expectDone(Task.from(inB.share()).done());
          expectDone(inA.done());
        } else {
          expectDone(Task.from(inA.share()).done());
          expectDone(inB.done());
        }
      };
    }
  }
}

try {
  const wg = WaitGroup.from(input.group);
  const step = stepOf(wg);
  Atomics.store(words, W_STATE, STATE_LOOPING);
  Atomics.notify(words, W_STATE);
  // go() functions start in a microtask: the go-limit loop lets them run after each iteration
  // (and may be killed there too); the other loops never yield, so a kill lands anywhere in them.
  const yields = input.op === 'go-limit';
  for (let i = 0; ; i++) {
    step(i);
    if (yields) await Promise.resolve();
    Atomics.store(words, W_COUNT, i + 1);
  }
} catch (error) {
  // Not part of the storm: the operation itself failed. Say so, then wait to be terminated.
  const code = (error as { code?: unknown } | null)?.code;
  parentPort?.postMessage({ code: typeof code === 'string' ? code : undefined, message: String(error) });
  Atomics.store(words, W_STATE, STATE_FAILED);
  Atomics.notify(words, W_STATE);
  Atomics.wait(words, W_STATE, STATE_FAILED);
}
