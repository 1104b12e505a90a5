// Runs on both sides of a thread boundary: the plain, structured-cloneable values that carry a
// group or a task to another thread, and their validation on arrival.
import { WaitGroupError, describe } from './errors.js';
import { H_GROUP_ID, H_MAGIC, H_PARENT_ID, H_VERSION, HEADER_BYTES, HEADER_MAGIC, LAYOUT_VERSION } from './layout.js';
import type { SharedTree } from './tree.js';

/**
 * A wait group in a form that crosses threads: put it anywhere in a `postMessage` payload,
 * `workerData` or a piscina task (no transferList), and rebuild it with `WaitGroup.from()`.
 */
export interface SharedWaitGroup {
  readonly kind: 'shared-waitgroup';
  readonly version: number;
  readonly name: string;
  readonly header: SharedArrayBuffer;
  readonly tree: SharedTree;
  readonly parent: SharedWaitGroup | null;
  readonly links: readonly SharedWaitGroup[];
}

/** A task in a form that crosses threads; rebuild it with `Task.from()`. */
export interface SharedTask {
  readonly kind: 'shared-waitgroup/task';
  readonly version: number;
  readonly group: SharedWaitGroup;
  readonly slot: number;
  readonly state: bigint;
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
  if (!isRecord(value) || value['kind'] !== 'shared-waitgroup') {
    throw invalid(`expected a value made by WaitGroup#share(); received ${describe(value)}`);
  }
  checkVersion(value['version'], 'shared group');
  const { header, tree, name, parent, links } = value;
  if (!(header instanceof SharedArrayBuffer) || header.byteLength !== HEADER_BYTES) {
    throw invalid(`group header must be a SharedArrayBuffer of ${HEADER_BYTES} bytes; received ${describe(header)}`);
  }
  const words = new Int32Array(header);
  if (words[H_MAGIC] !== HEADER_MAGIC) throw invalid(`group header has tag ${describe(words[H_MAGIC])}, expected ${HEADER_MAGIC}`);
  checkVersion(words[H_VERSION], 'group header');
  if (typeof name !== 'string') throw invalid(`group name must be a string; received ${describe(name)}`);
  if (!isRecord(tree)) throw invalid(`group tree must be an object; received ${describe(tree)}`);
  if (!Array.isArray(links)) throw invalid(`group links must be an array; received ${describe(links)}`);
  if (parent !== null) {
    checkSharedGroup(parent);
    if (words[H_PARENT_ID] !== new Int32Array(parent.header)[H_GROUP_ID] || parent.tree.tree !== tree['tree']) {
      throw invalid(`group ${describe(name)} does not belong to the parent it was shared with`);
    }
  } else if (words[H_PARENT_ID] !== 0) {
    throw invalid(`group ${describe(name)} is a sub-group but was shared without its parent`);
  }
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
  if (typeof state !== 'bigint' || state < 0n) throw invalid(`task state must be a bigint >= 0; received ${describe(state)}`);
  if (label !== undefined && typeof label !== 'string') throw invalid(`task label must be a string; received ${describe(label)}`);
  checkSharedGroup(value['group']);
}
