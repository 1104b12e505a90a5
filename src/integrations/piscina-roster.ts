// Runs on both sides of a thread boundary: which pool workers already hold a TrackedPool's group,
// so that tasks sent to them can leave the group's shared memory out of their payload.
//
// Structured-cloning the three SharedArrayBuffers of a group's tree costs a few microseconds per
// message, more than piscina spends on an empty task (benchmark 4a). So a TrackedPool sends the
// group in full only until every thread of its pool has seen it: each worker keeps the groups it
// was sent (`remember()`) and writes its thread id into the pool's roster, a small shared table;
// once every current thread of the pool is in the roster, payloads carry a pool id and the task's
// slot instead. A worker that meets a pool id it does not know (it started since, or forgot the
// group) answers NEED_GROUP and the task is sent again in full: slower, never wrong.
import { threadId } from 'node:worker_threads';
import { WaitGroup } from '../group/group.js';
import type { SharedWaitGroup } from '../memory/share.js';

/** Roster word 0: bumped by every change of the table, so the pool rereads it only then. */
const VERSION = 0;
/** Words 1..: thread ids + 1 of workers that hold the group (0: free; the main thread's id is 0). */
const FIRST = 1;

/** The roster of a TrackedPool, as its payloads carry it. */
export interface SharedRoster {
  /** Random id of the pool, the key workers remember its group by. */
  readonly pool: number;
  readonly buffer: SharedArrayBuffer;
}

/** Most groups a worker remembers; it forgets the oldest (and leaves that roster) past this. */
const REMEMBERED = 64;

interface Remembered {
  /** Held strongly: this thread's object for the group, and through it the group's memory. */
  readonly group: WaitGroup;
  readonly roster: Int32Array;
}

/** Worker side: the groups this thread was sent in full, by pool id, oldest first. */
const remembered = new Map<number, Remembered>();

/** Main side: a TrackedPool's roster. */
export class Roster {
  readonly shared: SharedRoster;
  readonly #words: Int32Array;
  #seen = -1;

  /** @param entries - most worker threads the roster can list (more are sent the group in full) */
  constructor(entries: number) {
    // 48 random bits: pools are created in any thread, so no counter can name them uniquely.
    const pool = crypto.getRandomValues(new Uint32Array(2)).reduce((high, low) => (high % 2 ** 16) * 2 ** 32 + low);
    const buffer = new SharedArrayBuffer((FIRST + entries) * 4);
    this.shared = { pool, buffer };
    this.#words = new Int32Array(buffer);
  }

  /** True when the roster changed since the last `lists()`. */
  get changed(): boolean {
    return Atomics.load(this.#words, VERSION) !== this.#seen;
  }

  /**
   * Whether every thread of `threads` holds the group, as far as the roster tells. Removes the
   * entries of threads no longer in the pool (they have exited), to keep room for their successors.
   */
  lists(threads: readonly number[]): boolean {
    this.#seen = Atomics.load(this.#words, VERSION);
    const live = new Set(threads.map((id) => id + 1));
    const listed = new Set<number>();
    for (let at = FIRST; at < this.#words.length; at++) {
      const entry = Atomics.load(this.#words, at);
      if (entry === 0) continue;
      // A listed thread is a pool thread that ran a task; gone from the pool means exited.
      if (live.has(entry)) listed.add(entry);
      else if (Atomics.compareExchange(this.#words, at, entry, 0) === entry) Atomics.add(this.#words, VERSION, 1);
    }
    return [...live].every((entry) => listed.has(entry));
  }
}

/**
 * Worker side: keeps `group` for the pool of `roster`, then lists this thread in the roster, in
 * that order, so that a pool that reads the listing sends only tasks this thread can rebuild.
 */
export function remember(roster: SharedRoster, group: SharedWaitGroup): void {
  if (remembered.has(roster.pool)) return;
  const words = new Int32Array(roster.buffer);
  if (remembered.size >= REMEMBERED) forgetOldest();
  remembered.set(roster.pool, { group: WaitGroup.from(group), roster: words });
  for (let at = FIRST; at < words.length; at++) {
    if (Atomics.compareExchange(words, at, 0, threadId + 1) === 0) {
      Atomics.add(words, VERSION, 1);
      return;
    }
  }
  // The roster is full: the pool keeps sending this thread the group in full.
}

/** Worker side: the group this thread keeps for `pool`, if any. */
export function recall(pool: number): WaitGroup | undefined {
  return remembered.get(pool)?.group;
}

function forgetOldest(): void {
  const [oldest] = remembered;
  if (oldest === undefined) return;
  const [pool, { roster }] = oldest;
  remembered.delete(pool);
  // Leave the roster first: the pool must not count on this thread for that group any more.
  for (let at = FIRST; at < roster.length; at++) {
    if (Atomics.compareExchange(roster, at, threadId + 1, 0) === threadId + 1) Atomics.add(roster, VERSION, 1);
  }
}
