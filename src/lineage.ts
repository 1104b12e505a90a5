// Runs in every thread: which thread created this one, as seen by that thread. A worker's exit is
// seen only by the thread that created it, and only if that thread had loaded this library then
// (Node's 'worker' process event). Each thread that has records, in a process-wide table that
// every worker inherits through Node's environment data, the workers it creates; a worker finds
// its creator there, or learns that nobody will see it exit.
import process from 'node:process';
import { getEnvironmentData, isMainThread, setEnvironmentData, threadId } from 'node:worker_threads';

const KEY = 'shared-waitgroup:lineage';
/** Entries of the table: a worker's threadId modulo this picks its entry (two words). */
const ENTRIES = 1 << 16;

/**
 * The table: entry `tid % ENTRIES` holds the worker's threadId + 1 (written last) and its
 * creator's threadId + 1. Inherited when this thread's creator had it; made here otherwise.
 */
const table = ((): Int32Array => {
  const inherited = getEnvironmentData(KEY);
  if (inherited instanceof SharedArrayBuffer && inherited.byteLength === ENTRIES * 8) return new Int32Array(inherited);
  const made = new SharedArrayBuffer(ENTRIES * 8);
  setEnvironmentData(KEY, made);
  return new Int32Array(made);
})();

/** Notes that the calling thread created worker `child` and watches its exit. */
export function noteChild(child: number): void {
  const at = (child % ENTRIES) * 2;
  Atomics.store(table, at + 1, threadId + 1);
  // Last: a reader that finds the child's id here reads the creator written above.
  Atomics.store(table, at, child + 1);
}

/** The threadId of the thread that created this one and watches its exit, if any does. */
export const creator = ((): number | undefined => {
  if (isMainThread) return undefined;
  const at = (threadId % ENTRIES) * 2;
  return Atomics.load(table, at) === threadId + 1 ? Atomics.load(table, at + 1) - 1 : undefined;
})();

let warned = false;

/**
 * Says once, as a process warning (code SHARED_WAITGROUP_UNWATCHED), that this worker's exit will
 * be seen by nobody: it was created by a thread that had not imported shared-waitgroup, so the
 * tasks it holds when it dies stay pending until a wait times out.
 */
export function warnIfUnwatched(): void {
  if (warned || isMainThread || creator !== undefined) return;
  warned = true;
  process.emitWarning(
    `worker thread ${threadId} uses a wait group, but the thread that created it had not imported shared-waitgroup then: ` +
      'nobody will see this worker exit, and tasks it holds when it dies stay pending. Import shared-waitgroup in that thread ' +
      'before it creates workers, or start the worker with spawn().',
    { code: 'SHARED_WAITGROUP_UNWATCHED' },
  );
}
