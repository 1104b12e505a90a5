// Runs in every thread: which thread created this one, as seen by that thread. A worker's exit is
// seen only by the thread that created it, and only if that thread had loaded this library then
// (Node's 'worker' process event). Each thread that has records, in a process-wide table that
// every worker inherits through Node's environment data, the workers it creates; a worker finds
// its creator there, or learns that nobody will see it exit.
import process from 'node:process';
import { getEnvironmentData, isMainThread, setEnvironmentData, threadId } from 'node:worker_threads';

const KEY = 'shared-waitgroup:lineage:2';
/** Words per entry: the worker's threadId + 1, its creator's + 1, and its threadId + 1 once it has exited. */
const WORDS = 3;
/** Entries of the table: a worker's threadId modulo this picks its entry (two words). */
const ENTRIES = 1 << 16;

/**
 * The table: entry `tid % ENTRIES` holds the worker's threadId + 1 (written last) and its
 * creator's threadId + 1, and the worker's threadId + 1 again once its creator saw it exit. Inherited when this thread's creator had it; made here otherwise.
 */
const table = ((): Int32Array => {
  const inherited = getEnvironmentData(KEY);
  if (inherited instanceof SharedArrayBuffer && inherited.byteLength === ENTRIES * WORDS * 4) return new Int32Array(inherited);
  const made = new SharedArrayBuffer(ENTRIES * WORDS * 4);
  setEnvironmentData(KEY, made);
  return new Int32Array(made);
})();

/** Notes that the calling thread created worker `child` and watches its exit. */
export function noteChild(child: number): void {
  const at = (child % ENTRIES) * WORDS;
  Atomics.store(table, at + 1, threadId + 1);
  // Last: a reader that finds the child's id here reads the creator written above.
  Atomics.store(table, at, child + 1);
}

/** Notes that worker `child`, created by the calling thread, has exited (its 'exit' event). */
export function noteExited(child: number): void {
  Atomics.store(table, (child % ENTRIES) * WORDS + 2, child + 1);
}

/** Whether thread `thread`'s creator has seen it exit. Thread ids are never reused in a process. */
export function hasExited(thread: number): boolean {
  return Atomics.load(table, (thread % ENTRIES) * WORDS + 2) === thread + 1;
}

/** The threadId of the thread that created thread `thread` and watches its exit, if it has said so. */
export function creatorOf(thread: number): number | undefined {
  const at = (thread % ENTRIES) * WORDS;
  return Atomics.load(table, at) === thread + 1 ? Atomics.load(table, at + 1) - 1 : undefined;
}

/** The threadId of the thread that created this one and watches its exit, if it has said so yet. */
export function creatorNow(): number | undefined {
  return isMainThread ? undefined : creatorOf(threadId);
}

/** Checks, and how often, for a creator that has not said yet that it watches this thread. */
const CHECK_MS = 50;
const CHECKS = 20;

const waiting: ((creator: number) => void)[] = [];
let checking = false;

/**
 * Calls `then` with this thread's creator once it is known. Node emits its 'worker' event, where
 * the creator notes its child, in a nextTick after the worker has started: a worker that uses a
 * group at once may look before. So an unknown creator is looked for again, for a second; if it
 * never says, nobody watches this thread, and it says so once, as a process warning (code
 * SHARED_WAITGROUP_UNWATCHED): the tasks it holds when it dies would stay pending until a wait
 * times out. The checks never keep the thread alive.
 */
export function whenCreatorKnown(then: (creator: number) => void): void {
  const known = creatorNow();
  if (known !== undefined) {
    then(known);
    return;
  }
  if (isMainThread) return;
  waiting.push(then);
  if (checking) return;
  checking = true;
  let checks = 0;
  const timer = setInterval(() => {
    const creator = creatorNow();
    if (creator === undefined && ++checks < CHECKS) return;
    clearInterval(timer);
    if (creator === undefined) {
      warn();
      return;
    }
    for (const call of waiting.splice(0)) call(creator);
  }, CHECK_MS);
  timer.unref();
}

function warn(): void {
  process.emitWarning(
    `worker thread ${threadId} uses a wait group, but the thread that created it had not imported shared-waitgroup then: ` +
      'nobody will see this worker exit, and tasks it holds when it dies stay pending. Import shared-waitgroup in that thread ' +
      'before it creates workers, or start the worker with spawn().',
    { code: 'SHARED_WAITGROUP_UNWATCHED' },
  );
}
