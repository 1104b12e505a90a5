// The public types, fixed: `npm run typecheck` (tsc over tsconfig.json) checks this file; vitest
// does not run it (nothing here runs). Each `expectTypeOf` fails to compile when a type changes,
// and each `@ts-expect-error` line is a call that must NOT compile: should it ever compile, tsc
// reports the unused directive. test/consumer.test.ts checks the same API through the published
// declarations (dist/src/*.d.ts) of the packed tarball.
import type { Worker } from 'node:worker_threads';
import type { Remote } from 'comlink';
import type { Piscina } from 'piscina';
import { expectTypeOf } from 'vitest';
import { exposeToParent, registerTransferHandlers, wrapWorker } from '../src/integrations/comlink.js';
import {
  DEFAULT_CAPACITY,
  DEFAULT_MAX_FAILURES,
  InvalidArgumentTypeError,
  LAYOUT_VERSION,
  OutOfRangeError,
  Task,
  TaskGroupError,
  UnknownOptionError,
  WaitGroup,
  WaitGroupError,
  WaitTimeoutError,
  WorkerExitedError,
  failureOrigin,
  registerErrorClass,
  spawn,
  spawned,
  type Spawned,
  type FailureOrigin,
  type PendingTask,
  type SharedTask,
  type SharedWaitGroup,
  type WaitGroupErrorCode,
  type WaitGroupStats,
  type WaitOptions,
  type WaitSyncOptions,
} from '../src/index.js';
import { TrackedPool, tracked, type FailureEnvelope, type NeedGroup, type PoolTaskContext, type ShutdownReport, type TrackedRunOptions } from '../src/integrations/piscina.js';

declare const wg: WaitGroup;
declare const task: Task;

// ---- new WaitGroup(options) ----
expectTypeOf(new WaitGroup()).toEqualTypeOf<WaitGroup>();
expectTypeOf(
  new WaitGroup({ name: 'n', signal: AbortSignal.timeout(1), limit: 2, cancelOnError: true, capacity: 16, maxGroups: 4, maxFailures: 10, failureBytes: 1024 }),
).toEqualTypeOf<WaitGroup>();
// @ts-expect-error an unknown option (a typo) is refused
new WaitGroup({ nme: 'typo' });
// @ts-expect-error limit is a number
new WaitGroup({ limit: '2' });
// @ts-expect-error cancelOnError is a boolean
new WaitGroup({ cancelOnError: 1 });

// ---- add(): two overloads, (label?) and (count, label?) ----
expectTypeOf(wg.add()).toEqualTypeOf<Task>();
expectTypeOf(wg.add('label')).toEqualTypeOf<Task>();
expectTypeOf(wg.add(3)).toEqualTypeOf<Task>();
expectTypeOf(wg.add(3, 'label')).toEqualTypeOf<Task>();
// @ts-expect-error two labels
wg.add('a', 'b');
// @ts-expect-error the count comes first
wg.add('label', 3);
// @ts-expect-error neither a count nor a label
wg.add(true);
// @ts-expect-error null is not a label
wg.add(null);
// @ts-expect-error at most a count and a label
wg.add(1, 'label', 'more');

// ---- go() and tryGo(): a function of the group's signal, returning anything ----
expectTypeOf<WaitGroup['go']>().parameters.toEqualTypeOf<[fn: (signal: AbortSignal) => unknown, label?: string]>();
expectTypeOf(wg.go(() => 42)).toBeVoid();
wg.go(async (signal) => {
  expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
  await Promise.resolve();
}, 'async');
expectTypeOf(wg.tryGo(() => undefined, 'label')).toEqualTypeOf<boolean>();
// @ts-expect-error not a function
wg.go(123);
// @ts-expect-error a promise is not a function
wg.go(Promise.resolve());
// @ts-expect-error the label is a string
wg.go(() => undefined, 1);
// @ts-expect-error fn receives the signal only
wg.go((signal: AbortSignal, extra: number) => [signal, extra]);
// @ts-expect-error the same for tryGo
wg.tryGo('not a function');

// ---- wait() and waitSync() ----
expectTypeOf(wg.wait()).toEqualTypeOf<Promise<void>>();
expectTypeOf<WaitGroup['wait']>().parameters.toEqualTypeOf<[options?: WaitOptions]>();
expectTypeOf<WaitOptions>().toEqualTypeOf<{ readonly timeout?: number; readonly signal?: AbortSignal; readonly cancelWhenDone?: boolean }>();
expectTypeOf<WaitGroup['waitSync']>().parameters.toEqualTypeOf<[options?: WaitSyncOptions]>();
expectTypeOf<WaitSyncOptions>().toEqualTypeOf<{ readonly timeout?: number; readonly cancelWhenDone?: boolean; readonly blockMainThread?: boolean }>();
expectTypeOf(wg.waitSync({ timeout: 10, cancelWhenDone: true })).toBeVoid();
// @ts-expect-error an option that does not exist (it throws ERR_UNKNOWN_OPTION at run time too)
void wg.wait({ timout: 10 });
// @ts-expect-error the same for new WaitGroup()
new WaitGroup({ cancelOnEror: true });
// @ts-expect-error waitSync cannot be given a signal: nothing could abort a blocked thread
wg.waitSync({ signal: AbortSignal.timeout(1) });
// @ts-expect-error the timeout is a number of ms
void wg.wait({ timeout: '1s' });

// ---- stats() and pendingTasks() ----
expectTypeOf(wg.stats()).toEqualTypeOf<WaitGroupStats>();
expectTypeOf<WaitGroupStats>().toEqualTypeOf<{ readonly added: number; readonly done: number; readonly failed: number; readonly pending: number }>();
expectTypeOf(wg.pendingTasks()).toEqualTypeOf<PendingTask[]>();
expectTypeOf<PendingTask>().toEqualTypeOf<{ readonly label?: string; readonly group: string; readonly threadId: number; readonly since: number; readonly remaining: number }>();

// ---- cancellation, structure, sharing ----
expectTypeOf<WaitGroup['cancel']>().parameters.toEqualTypeOf<[reason?: unknown]>();
expectTypeOf(wg.cancelled).toEqualTypeOf<boolean>();
expectTypeOf(wg.signal).toEqualTypeOf<AbortSignal>();
expectTypeOf(wg.name).toEqualTypeOf<string>();
expectTypeOf(wg.sub('child')).toEqualTypeOf<WaitGroup>();
expectTypeOf<WaitGroup['link']>().parameters.toEqualTypeOf<[other: WaitGroup]>();
expectTypeOf(wg.share()).toEqualTypeOf<SharedWaitGroup>();
expectTypeOf(WaitGroup.from(wg.share())).toEqualTypeOf<WaitGroup>();
// @ts-expect-error a shared task is not a shared group
WaitGroup.from(task.share());
// @ts-expect-error cancelled is read-only
wg.cancelled = true;

// ---- Task ----
expectTypeOf(task.done()).toEqualTypeOf<boolean>();
expectTypeOf<Task['done']>().parameters.toEqualTypeOf<[error?: unknown]>();
expectTypeOf(task.remaining).toEqualTypeOf<number>();
expectTypeOf(task.label).toEqualTypeOf<string | undefined>();
expectTypeOf(task.share()).toEqualTypeOf<SharedTask>();
expectTypeOf(Task.from(task.share())).toEqualTypeOf<Task>();
expectTypeOf<Task[typeof Symbol.dispose]>().toEqualTypeOf<() => void>();
// @ts-expect-error tasks come from add() and Task.from(), never from new
new Task();
// @ts-expect-error a shared group is not a shared task
Task.from(wg.share());
// @ts-expect-error the label is read-only
task.label = 'renamed';

// ---- error classes and codes ----
expectTypeOf<WaitGroupErrorCode>().toEqualTypeOf<
  | 'ERR_CAPACITY_EXCEEDED'
  | 'ERR_GROUP_LIMIT_EXCEEDED'
  | 'ERR_PENDING_OVERFLOW'
  | 'ERR_INVALID_SHARED_VALUE'
  | 'ERR_LAYOUT_VERSION'
  | 'ERR_LINK_CYCLE'
  | 'ERR_LINK_NOT_SHARED'
  | 'ERR_LINK_LIMIT'
  | 'ERR_WAIT_TIMEOUT'
  | 'ERR_WORKER_EXITED'
  | 'ERR_PISCINA_ATOMICS_SYNC'
  | 'ERR_PISCINA_IDLE_TIMEOUT'
  | 'ERR_POOL_CLOSED'
  | 'ERR_NOT_TRACKED'
  | 'ERR_UNTRACKED_FUNCTION'
  | 'ERR_NOT_A_WORKER'
  | 'ERR_THREAD_LIMIT'
  | 'ERR_COMLINK_MISMATCH'
  | 'ERR_MAIN_THREAD_BLOCK'
  | 'ERR_NOT_SPAWNED'
  | 'ERR_TREE_BUSY'
>();
expectTypeOf<WaitGroupError>().toExtend<Error>();
expectTypeOf<WaitGroupError['code']>().toEqualTypeOf<WaitGroupErrorCode>();
expectTypeOf(new WaitGroupError('ERR_LINK_CYCLE', 'message', { cause: 1 })).toEqualTypeOf<WaitGroupError>();
// @ts-expect-error not a code of this library
new WaitGroupError('ERR_SOMETHING', 'message');
expectTypeOf<InvalidArgumentTypeError>().toExtend<TypeError>();
expectTypeOf<InvalidArgumentTypeError['code']>().toEqualTypeOf<'ERR_INVALID_ARG_TYPE'>();
expectTypeOf<OutOfRangeError>().toExtend<RangeError>();
expectTypeOf<OutOfRangeError['code']>().toEqualTypeOf<'ERR_OUT_OF_RANGE'>();
expectTypeOf<UnknownOptionError>().toExtend<TypeError>();
expectTypeOf<Pick<UnknownOptionError, 'code' | 'option' | 'accepted'>>().toEqualTypeOf<{
  readonly code: 'ERR_UNKNOWN_OPTION';
  readonly option: string;
  readonly accepted: readonly string[];
}>();
expectTypeOf<TaskGroupError>().toExtend<AggregateError>();
expectTypeOf<TaskGroupError>().not.toExtend<WaitGroupError>();
expectTypeOf<TaskGroupError['code']>().toEqualTypeOf<'ERR_TASKS_FAILED'>();
expectTypeOf<TaskGroupError['origins']>().toEqualTypeOf<readonly FailureOrigin[]>();
expectTypeOf<TaskGroupError['omitted']>().toEqualTypeOf<number>();
expectTypeOf<FailureOrigin>().toEqualTypeOf<{ readonly threadId: number; readonly group: string; readonly label?: string }>();
expectTypeOf<WaitTimeoutError>().toExtend<WaitGroupError>();
expectTypeOf<WaitTimeoutError['pending']>().toEqualTypeOf<readonly PendingTask[]>();
expectTypeOf<WorkerExitedError>().toExtend<WaitGroupError>();
expectTypeOf<Pick<WorkerExitedError, 'threadId' | 'exitCode' | 'units'>>().toEqualTypeOf<{
  readonly threadId: number;
  readonly exitCode: number | undefined;
  readonly units: number;
}>();
// @ts-expect-error codes are read-only
(new OutOfRangeError('m')).code = 'ERR_OUT_OF_RANGE';

// ---- registerErrorClass(), failureOrigin(), constants ----
class QuotaError extends Error {
  constructor(readonly limit: number) {
    super(`over ${limit}`);
  }
}
expectTypeOf(registerErrorClass(QuotaError)).toBeVoid();
registerErrorClass(QuotaError, 'Quota');
// @ts-expect-error not an error class
registerErrorClass(Map);
// @ts-expect-error an error, not its class
registerErrorClass(new QuotaError(1));
expectTypeOf(failureOrigin(new Error('x'))).toEqualTypeOf<FailureOrigin | undefined>();
expectTypeOf(LAYOUT_VERSION).toExtend<number>();
expectTypeOf(DEFAULT_CAPACITY).toExtend<number>();
expectTypeOf(DEFAULT_MAX_FAILURES).toExtend<number>();

// ---- shared-waitgroup/piscina ----
declare const piscina: Piscina;
const pool = new TrackedPool<{ readonly n: number }, string>(piscina, wg);
expectTypeOf(pool.run({ n: 1 })).toEqualTypeOf<Promise<string>>();
expectTypeOf<TrackedPool<{ readonly n: number }, string>['run']>().parameter(1).toEqualTypeOf<TrackedRunOptions | undefined>();
expectTypeOf(pool.run({ n: 1 }, { label: 'one', name: 'default' })).toEqualTypeOf<Promise<string>>();
expectTypeOf(pool.shutdown({ deadline: 1000, cancel: true, reason: 'stop' })).toEqualTypeOf<Promise<ShutdownReport>>();
expectTypeOf<ShutdownReport>().toEqualTypeOf<{
  readonly timedOut: boolean;
  readonly pending: readonly PendingTask[];
  readonly failure: TaskGroupError | undefined;
}>();
expectTypeOf(pool.group).toEqualTypeOf<WaitGroup>();
// @ts-expect-error the payload type is fixed by the pool
void pool.run({ n: 'one' });
// @ts-expect-error a TrackedPool needs a group
new TrackedPool(piscina);
const task2 = tracked((payload: { readonly n: number }, context) => {
  expectTypeOf(context).toEqualTypeOf<PoolTaskContext>();
  return String(payload.n);
});
expectTypeOf(task2).toEqualTypeOf<(envelope: unknown) => Promise<string | FailureEnvelope | NeedGroup>>();
expectTypeOf(tracked(async () => Promise.resolve(1))).toEqualTypeOf<(envelope: unknown) => Promise<number | FailureEnvelope | NeedGroup>>();
expectTypeOf<PoolTaskContext>().toEqualTypeOf<{ readonly group: WaitGroup; readonly task: Task; readonly signal: AbortSignal }>();

// ---- shared-waitgroup/comlink ----
declare const worker: Worker;
interface Api {
  ping(group: WaitGroup): string;
}
expectTypeOf(wrapWorker<Api>(worker)).toEqualTypeOf<Remote<Api>>();
expectTypeOf(registerTransferHandlers).toEqualTypeOf<() => void>();
expectTypeOf(exposeToParent).parameters.toEqualTypeOf<[value: unknown]>();
expectTypeOf<Parameters<typeof wrapWorker>>().toEqualTypeOf<[worker: Worker]>();

// ---- spawn() and spawned() ----
expectTypeOf(spawn(wg, new URL('file:///worker.js'), { workerData: { id: 1 }, label: 'start' })).toEqualTypeOf<Worker>();
expectTypeOf(spawned()).toEqualTypeOf<Spawned>();
expectTypeOf<Spawned>().toEqualTypeOf<{ readonly group: WaitGroup; readonly ready: (error?: unknown) => boolean }>();
// @ts-expect-error the label is a string
spawn(wg, 'worker.js', { label: 1 });
