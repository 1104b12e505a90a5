/**
 * shared-waitgroup: one wait group shared by every worker thread of a Node.js process.
 * Its state lives in SharedArrayBuffers changed with Atomics, so tasks are added and completed in
 * any thread and any thread can wait, asynchronously or by blocking.
 * @module shared-waitgroup
 */
export { WaitGroup } from './group/group.js';
export type { WaitGroupOptions, WaitOptions, WaitSyncOptions, WaitGroupStats } from './group/options.js';
export { Task } from './group/task.js';
export type { SharedWaitGroup, SharedTask } from './memory/share.js';
export type { SharedTree } from './memory/tree.js';
export {
  WaitGroupError,
  TaskGroupError,
  WaitTimeoutError,
  WorkerExitedError,
  InvalidArgumentTypeError,
  OutOfRangeError,
  UnknownOptionError,
  type WaitGroupErrorCode,
  type PendingTask,
  type PendingSummary,
  type FailureOrigin,
} from './errors/errors.js';
export { registerErrorClass } from './errors/envelope.js';
export { failureOrigin } from './memory/failures.js';
export { spawn, spawned, type SpawnOptions, type Spawned } from './integrations/spawn.js';
export { LAYOUT_VERSION, DEFAULT_CAPACITY, DEFAULT_MAX_FAILURES } from './memory/layout.js';
