// Runs on both sides of a thread boundary: what TrackedPool#run sends a pool worker in place of the
// bare payload, what tracked() answers besides a result, and how the worker reads what it got.
import { threadId } from 'node:worker_threads';
import { encodeFailure } from '../errors/envelope.js';
import { WaitGroupError, describe } from '../errors/errors.js';
import { WaitGroup } from '../group/group.js';
import { recall, remember, type SharedRoster } from './piscina-roster.js';
import { checkSharedTask, type SharedTask } from '../memory/share.js';
import { Task } from '../group/task.js';

const ENVELOPE = 'shared-waitgroup/piscina-task';
const SLOT_ENVELOPE = 'shared-waitgroup/piscina-slot';
const FAILED = 'shared-waitgroup/piscina-failure';
const NEED_GROUP = 'shared-waitgroup/piscina-need-group';

/** What `TrackedPool#run` sends to a worker that may not hold the group yet: the task in full. */
export interface TaskEnvelope<T> {
  readonly kind: typeof ENVELOPE;
  /** The pool task; it carries its group (`task.group`), which is not sent a second time. */
  readonly task: SharedTask;
  /** Where the worker lists itself once it holds the group (see piscina-roster.ts). */
  readonly roster: SharedRoster;
  readonly payload: T;
  /** Present for `run(payload, { handled: true })`: the worker completes the task without recording a failure. */
  readonly handled?: true;
}

/** What `TrackedPool#run` sends once every thread of the pool holds the group: the task's slot only. */
export interface SlotEnvelope<T> {
  readonly kind: typeof SLOT_ENVELOPE;
  /** The pool's id, under which the worker keeps the group. */
  readonly pool: number;
  readonly slot: number;
  readonly generation: number;
  readonly remaining: number;
  readonly label: string | undefined;
  readonly payload: T;
  /** As in `TaskEnvelope`. */
  readonly handled?: true;
}

/**
 * What the worker side returns for a slot envelope of a pool whose group it does not hold. Exported as a type only (see FailureEnvelope).
 * @inline @hidden
 */
export interface NeedGroup {
  /** Tells the answer apart from a result: TrackedPool#run then sends the task in full. */
  readonly kind: typeof NEED_GROUP;
}

/**
 * What the worker side returns when the task function threw: the failure, encoded in full. Exported as a type only, so that declarations of `export default tracked(fn)` can name it.
 * Not in the API reference (`@hidden`): `tracked()`'s signature shows its shape there (`@inline`).
 * @inline @hidden
 */
export interface FailureEnvelope {
  /** Tells a failure apart from a result. */
  readonly kind: typeof FAILED;
  /** The failure, serialized with its class, `code`, `cause` chain and other properties. */
  readonly failure: Uint8Array;
}

/** The task in full, for a worker that may not hold the group yet. */
export function fullEnvelope<T>(task: Task, roster: SharedRoster, payload: T, handled: boolean): TaskEnvelope<T> {
  // `handled` only when set: every key costs the structured clone of every task.
  const envelope: TaskEnvelope<T> = { kind: ENVELOPE, task: task.share(), roster, payload };
  return handled ? { ...envelope, handled } : envelope;
}

/** The task's slot only, for a pool whose every thread holds the group (see piscina-roster.ts). */
export function slotEnvelope<T>(task: Task, pool: number, payload: T, handled: boolean): SlotEnvelope<T> {
  const { slot, generation, remaining } = task.detach();
  const envelope: SlotEnvelope<T> = { kind: SLOT_ENVELOPE, pool, slot, generation, remaining, label: task.label, payload };
  return handled ? { ...envelope, handled } : envelope;
}

/** True when the envelope asks that a failure be returned to the caller but not recorded. */
export function isHandled(envelope: unknown): boolean {
  return (envelope as { handled?: unknown }).handled === true;
}

/** The answer to a slot envelope of a pool whose group this thread does not hold. */
export function needGroup(): NeedGroup {
  return { kind: NEED_GROUP };
}

/** A task function's failure, encoded in full with its origin (this thread, the group, the task's label), as its result. */
export function failureEnvelope(error: unknown, group: string, label: string | undefined): FailureEnvelope {
  return { kind: FAILED, failure: encodeFailure(error, label === undefined ? { threadId, group } : { threadId, group, label }) };
}

/**
 * `error` in a form that structured clone copies whole, `code` included: piscina posts a task
 * function's rejection as is, and an Error keeps only its message, stack and cause on the way. The
 * copy keeps the error's prototype, so `instanceof` still holds in this thread; across the pool, a
 * plain object `{ name, code, message, stack }` arrives.
 */
export function cloneable<E extends Error & { readonly code: string }>(error: E): E {
  const keep = (value: unknown): PropertyDescriptor => ({ value, enumerable: true, writable: true, configurable: true });
  return Object.create(Object.getPrototypeOf(error) as object, {
    name: keep(error.name),
    code: keep(error.code),
    message: keep(error.message),
    stack: keep(error.stack),
  }) as E;
}

/** True for what tracked() returns when the task function threw. */
export function isFailure(value: unknown): value is FailureEnvelope {
  return kindOf(value) === FAILED;
}

/** True for what tracked() returns for a slot envelope of a group it does not hold. */
export function isNeedGroup(value: unknown): value is NeedGroup {
  return kindOf(value) === NEED_GROUP;
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

function kindOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
}

/**
 * The task an envelope sent by `TrackedPool#run` carries, and its group, which this thread keeps
 * if it came in full.
 * @returns undefined for a slot envelope of a pool whose group this thread does not hold
 * @throws {WaitGroupError} ERR_NOT_TRACKED when `envelope` is not an envelope; ERR_INVALID_SHARED_VALUE for a damaged one
 */
export function taskOf(envelope: unknown): { task: Task; group: WaitGroup } | undefined {
  const kind = kindOf(envelope);
  if (kind === SLOT_ENVELOPE) {
    const { pool, slot, generation, remaining, label } = envelope as SlotEnvelope<unknown>;
    const group = recall(pool);
    if (group === undefined) return undefined;
    if (!isUint32(slot) || !isUint32(generation) || !isUint32(remaining) || (label !== undefined && typeof label !== 'string')) {
      throw new WaitGroupError('ERR_INVALID_SHARED_VALUE', `a pool task's slot, generation and remaining units must be integers from 0 to 2^32 - 1, its label a string; received ${describe(envelope)}`);
    }
    return { task: Task.attach(group, slot, generation, remaining, label), group };
  }
  if (kind !== ENVELOPE) {
    throw new WaitGroupError(
      'ERR_NOT_TRACKED',
      `a tracked() task function was called with ${describe(envelope)}, not a task sent by TrackedPool#run: ` +
        'run it through new TrackedPool(pool, group).run(), or export the function without tracked() for a plain pool',
    );
  }
  const { task, roster } = envelope as TaskEnvelope<unknown>;
  checkSharedTask(task);
  if (typeof roster !== 'object' || typeof roster.pool !== 'number' || !(roster.buffer instanceof SharedArrayBuffer)) {
    throw new WaitGroupError('ERR_INVALID_SHARED_VALUE', `the roster of a pool task must be { pool, buffer }; received ${describe(roster)}`);
  }
  remember(roster, task.group);
  return { task: Task.from(task), group: WaitGroup.from(task.group) };
}
