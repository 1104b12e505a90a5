// What the terminate() storm (test/storm.ts) and its worker fixture (workers/storm.ts) share: the
// operations, the words of the signal buffer, the codes of the errors the worker makes on purpose,
// and the workerData. Kept apart from the fixture, whose top level runs the loop when imported.
import type { SharedTask, SharedWaitGroup } from '../src/index.js';

/** The operations the worker runs in a loop until it is terminated. */
export const STORM_OPS = ['add-done', 'sub-add-done', 'done-error', 'add-count', 'shared-done', 'task-from', 'go-limit', 'cancel', 'link'] as const;

export type StormOp = (typeof STORM_OPS)[number];

// Words of the signal buffer (an Int32Array on a SharedArrayBuffer).
/** The worker's state: one of the STATE_ values below. */
export const W_STATE = 0;
/** Loop iterations the worker has finished; stored after each one. */
export const W_COUNT = 1;
/** The first surprise the worker met from the API (one of the ODD_ values), 0 for none. */
export const W_ODD = 2;
/** Words in a signal buffer. */
export const SIGNAL_WORDS = 4;

/** The worker has not reached its loop yet. */
export const STATE_STARTING = 0;
/** The worker runs its loop (set once, just before the first iteration). */
export const STATE_LOOPING = 1;
/** An operation threw: the worker posted `{ code, message }` and blocks until terminated. */
export const STATE_FAILED = 2;

/** `tryGo()` of a group with `limit: 1` refused, though nothing of it ran (go-limit). */
export const ODD_TRY_GO_REFUSED = 1;
/** `done()` of a task just added or just rebuilt returned false. */
export const ODD_DONE_FALSE = 2;
/** `done()` of a handle whose task another handle completed returned true: a unit done twice. */
export const ODD_DONE_TWICE = 3;

/** What each ODD_ value means, as the storm reports it. */
export const ODD_REASONS: Readonly<Record<number, string>> = {
  [ODD_TRY_GO_REFUSED]: 'worker: tryGo() refused with nothing running',
  [ODD_DONE_FALSE]: 'worker: done() of a live task returned false',
  [ODD_DONE_TWICE]: 'worker: a unit was done twice',
};

/** `code` of the error the done-error operation fails each of its units with. */
export const OP_ERROR_CODE = 'E_STORM';
/** `code` of the reason the cancel operation cancels its sub-groups with. */
export const CANCEL_CODE = 'E_STORM_CANCEL';

/** Label of the tasks the main thread shares with the worker (shared-done). */
export const GIVEN_LABEL = 'given';
/** Label of the tasks the worker adds itself and completes through a shared handle (shared-done). */
export const OWN_LABEL = 'own';

/** The workerData of workers/storm.ts. */
export interface StormInput {
  readonly op: StormOp;
  /** The root group of the run. */
  readonly group: SharedWaitGroup;
  /** The signal buffer: see the W_ words. */
  readonly words: Int32Array;
  /**
   * shared-done: tasks the main thread added, to rebuild and complete one per iteration.
   * task-from: one task of many units, rebuilt and completed one unit per iteration.
   */
  readonly tasks?: readonly SharedTask[];
  /**
   * cancel: sub-groups of the root made by the main thread, cancelled on even iterations.
   * link: `[a, b]`, two sub-groups of the root, `a` linked to `b` (shared after the link).
   */
  readonly groups?: readonly SharedWaitGroup[];
}
