// Runs on both sides of a thread boundary: the plain, structured-cloneable values that carry a
// group or a task to another thread, and their validation on arrival.
import { WaitGroupError, describe } from '../errors/errors.js';
import { LAYOUT_VERSION, MAX_DEPTH, MAX_LINKS } from './layout.js';

/** Largest slot state: 64 bits. */
const MAX_STATE = (1n << 64n) - 1n;
/** Most groups one shared value can carry: a chain of parents, each with its links (and theirs). */
const MAX_SHARED_GROUPS = (MAX_DEPTH + 1) * (MAX_LINKS + 1) * 64;
import type { SharedTree } from './tree.js';

/**
 * A wait group in a form that crosses threads: put it anywhere in a `postMessage` payload,
 * `workerData` or a piscina task (no transferList), and rebuild it with `WaitGroup.from()`.
 */
export interface SharedWaitGroup {
  /** Tells a shared group apart from other values. */
  readonly kind: 'shared-waitgroup';
  /** The shared-memory layout version (`LAYOUT_VERSION`) of the copy of the library that made it. */
  readonly version: number;
  /** The group's name. */
  readonly name: string;
  /** The group's id within its tree. */
  readonly group: number;
  /** The shared memory of the group's tree. */
  readonly tree: SharedTree;
  /** The parent group, for a sub-group; null for a root group. */
  readonly parent: SharedWaitGroup | null;
  /** The groups linked into this one (`link()`) when it was shared. */
  readonly links: readonly SharedWaitGroup[];
}

/** A task in a form that crosses threads; rebuild it with `Task.from()`. */
export interface SharedTask {
  /** Tells a shared task apart from other values. */
  readonly kind: 'shared-waitgroup/task';
  /** The shared-memory layout version (`LAYOUT_VERSION`) of the copy of the library that made it. */
  readonly version: number;
  /** The group the task belongs to. */
  readonly group: SharedWaitGroup;
  /** The task's slot in the tree's slot buffer. */
  readonly slot: number;
  /** The slot's state when shared: generation (high 32 bits) and remaining units (low 32 bits). */
  readonly state: bigint;
  /** The task's label, if it has one. */
  readonly label: string | undefined;
}

function invalid(message: string): WaitGroupError {
  return new WaitGroupError('ERR_INVALID_SHARED_VALUE', message);
}

function checkVersion(version: unknown, what: string): void {
  if (version !== LAYOUT_VERSION) {
    throw new WaitGroupError('ERR_LAYOUT_VERSION', `${what} has layout version ${describe(version)}; this copy of shared-waitgroup reads version ${LAYOUT_VERSION}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Checks that `value` is a group made by `share()` of a compatible version.
 * @throws {WaitGroupError} ERR_INVALID_SHARED_VALUE or ERR_LAYOUT_VERSION
 */
export function checkSharedGroup(value: unknown): asserts value is SharedWaitGroup {
  checkGroupValue(value, new Set());
}

/**
 * checkSharedGroup() over a value's parents and links, each object once: a crafted value with a
 * cycle, or nested deeper than any tree, fails here with a coded error, not a stack overflow.
 */
function checkGroupValue(value: unknown, seen: Set<unknown>): asserts value is SharedWaitGroup {
  if (seen.has(value)) throw invalid('shared group refers to itself through its parent or links');
  if (seen.size > MAX_SHARED_GROUPS) throw invalid(`shared group carries more than ${MAX_SHARED_GROUPS} groups in its parents and links`);
  seen.add(value);
  if (!isRecord(value) || value['kind'] !== 'shared-waitgroup') {
    throw invalid(`expected a value made by WaitGroup#share(); received ${describe(value)}`);
  }
  checkVersion(value['version'], 'shared group');
  const { group, tree, name, parent, links } = value;
  if (typeof group !== 'number' || !Number.isInteger(group) || group < 1) {
    throw invalid(`group id must be an integer >= 1; received ${describe(group)}`);
  }
  if (typeof name !== 'string') throw invalid(`group name must be a string; received ${describe(name)}`);
  if (!isRecord(tree)) throw invalid(`group tree must be an object; received ${describe(tree)}`);
  if (!Array.isArray(links)) throw invalid(`group links must be an array; received ${describe(links)}`);
  if (parent !== null) checkGroupValue(parent, seen);
  for (const link of links as unknown[]) checkGroupValue(link, seen);
}

/**
 * Checks that `value` is a task made by `Task#share()`.
 * @throws {WaitGroupError} ERR_INVALID_SHARED_VALUE or ERR_LAYOUT_VERSION
 */
export function checkSharedTask(value: unknown): asserts value is SharedTask {
  if (!isRecord(value) || value['kind'] !== 'shared-waitgroup/task') {
    throw invalid(`expected a value made by Task#share(); received ${describe(value)}`);
  }
  checkVersion(value['version'], 'shared task');
  const { slot, state, label } = value;
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0) throw invalid(`task slot must be an integer >= 0; received ${describe(slot)}`);
  if (typeof state !== 'bigint' || state < 0n || state > MAX_STATE) throw invalid(`task state must be a bigint from 0 to 2^64 - 1; received ${describe(state)}`);
  if (label !== undefined && typeof label !== 'string') throw invalid(`task label must be a string; received ${describe(label)}`);
  checkSharedGroup(value['group']);
}
