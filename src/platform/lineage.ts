// Runs in every thread: which thread created this one, as seen by that thread. A worker's exit is
// seen only by the thread that created it, and only if that thread had loaded this library then
// (Node's 'worker' process event). Each thread that has records, in a process-wide table that
// every worker inherits through Node's environment data, the workers it creates; a worker finds
// its creator there, or learns that nobody will see it exit.
import process from 'node:process';
import { getEnvironmentData, isMainThread, setEnvironmentData, threadId } from 'node:worker_threads';

const KEY = 'shared-waitgroup:lineage:3';
/**
 * Words per entry: the worker's threadId + 1, its creator's + 1, its threadId + 1 once it has
 * exited, and a 64-bit mask (two words) of the exit channels its shared trees, and those of the
 * threads it created, listen on (platform/exits.ts).
 */
const WORDS = 5;
const MASK = 3;
/** Entries of the table: a worker's threadId modulo this picks its entry (two words). */
const ENTRIES = 1 << 16;

/**
 * The table: entry `tid % ENTRIES` holds the worker's threadId + 1 (written last) and its
 * creator's threadId + 1, the worker's threadId + 1 again once its creator saw it exit, and the
 * mask of exit channels. Inherited when this thread's creator had it; made here otherwise.
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

/**
 * Notes that the calling thread holds a tree whose exit notices go to channel `bit` (0 to 63):
 * in its own entry and in those of its creators up to the main thread, since a worker dies with
 * the thread that created it and only the exit of the oldest one is announced. An entry shared by
 * an older thread (ids equal modulo the table's size) keeps that thread's bits: a notice too many
 * costs a message, one too few would cost a sweep.
 * @param bit - the channel's index
 */
export function noteHolds(bit: number): void {
  const word = MASK + (bit >>> 5);
  const flag = 1 << (bit & 31);
  let thread = threadId;
  // Bounded: a creator chain cannot be longer than the table (and has no cycles: ids only grow).
  for (let hops = 0; hops < ENTRIES && thread > 0; hops++) {
    const at = (thread % ENTRIES) * WORDS;
    if ((Atomics.load(table, at + word) & flag) === 0) Atomics.or(table, at + word, flag);
    const creator = creatorOf(thread);
    if (creator === undefined) {
      // Not noted by its creator yet ('worker' comes in a nextTick): carry on once it is.
      if (thread === threadId) whenCreatorKnown(() => noteHolds(bit));
      return;
    }
    thread = creator;
  }
}

/**
 * The exit channels that must hear of thread `thread`'s exit (see `noteHolds`).
 * @param thread - a thread id
 * @returns the channel indices, ascending
 */
export function channelsOf(thread: number): number[] {
  const at = (thread % ENTRIES) * WORDS + MASK;
  const found: number[] = [];
  for (let word = 0; word < 2; word++) {
    const bits = Atomics.load(table, at + word);
    for (let bit = 0; bit < 32; bit++) if ((bits & (1 << bit)) !== 0) found.push(word * 32 + bit);
  }
  return found;
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
