// Runs on both sides of a thread boundary: recording failures into a tree's shared log, and the
// aggregator that rebuilds a group's failures, in order, in whichever thread waits.
import { decodeFailure, encodeFailure } from '../errors/envelope.js';
import { describe, type FailureOrigin } from '../errors/errors.js';
import { LOG_DISCARDED } from './layout.js';
import type { Tree } from './tree.js';

const origins = new WeakMap<object, FailureOrigin>();

/**
 * Where a failure reported by `TaskGroupError` was recorded: thread, group and task label.
 * The failure itself is left as it was thrown: its message and properties are not changed.
 * @param failure - an entry of `TaskGroupError#errors`
 * @returns its origin, or undefined for a value that is not an object or did not come from a group
 */
export function failureOrigin(failure: unknown): FailureOrigin | undefined {
  return typeof failure === 'object' && failure !== null ? origins.get(failure) : undefined;
}

/**
 * Gives `failureOrigin()` the origin of a failure that reaches a caller outside a wait (e.g. the
 * rejection of `TrackedPool#run()`), unless it has one already. Does nothing for a primitive.
 * @internal
 */
export function noteOrigin(value: unknown, origin: FailureOrigin): void {
  remember({ value, origin });
}

function remember(failure: Failure): Failure {
  if (typeof failure.value === 'object' && failure.value !== null && !origins.has(failure.value)) {
    origins.set(failure.value, failure.origin);
  }
  return failure;
}

/** A failure as a waiter sees it. */
export interface Failure {
  readonly value: unknown;
  readonly origin: FailureOrigin;
}

/**
 * Encodes a failure and stages it in the tree's log (see FailureLog#stage): done before the unit is
 * taken, so that no user code (getters, custom inspection) runs between the take and the
 * completion, and so that a sweeper can publish it if this thread dies after the take.
 * @returns the failure's log entry, or -1 when the log keeps no more failures (it is then only counted)
 */
export function stageFailure(tree: Tree, group: number, value: unknown, origin: FailureOrigin): number {
  const bytes = encodeFailure(value, origin);
  const fallback = (): Uint8Array =>
    encodeFailure(`[failure too large for the remaining failure log] ${describe(value).slice(0, 500)}`, origin);
  const entry = tree.log.stage(group, bytes, fallback, tree.lane.index);
  // Kept here so that waiters of this thread get the original value, not a copy; dropped if the
  // completion does not happen (see withdraw()).
  if (entry >= 0) tree.originals.set(entry, remember({ value, origin }));
  return entry;
}

/** Discards a staged failure whose completion did not happen. */
export function withdraw(tree: Tree, entry: number): void {
  if (entry < 0) return;
  tree.log.discard(entry, tree.lane.index);
  tree.originals.delete(entry);
}

/** What `failureAt()` reads of a tree: its log and this thread's failures of it. */
export type FailureSource = Pick<Tree, 'log' | 'originals' | 'rebuilt'>;

/** The failure with `ordinal`, as this thread sees it: the original if it was recorded here, else rebuilt once. */
export function failureAt(tree: FailureSource, ordinal: number): Failure | undefined {
  // Only what every thread can read is reported, so that all waiters report the same failures.
  if (!tree.log.holds(ordinal)) return undefined;
  const known = tree.originals.get(ordinal) ?? tree.rebuilt.get(ordinal);
  if (known !== undefined) return known;
  const entry = tree.log.entry(ordinal);
  if (entry?.bytes === undefined) return undefined;
  const failure = remember(decodeFailure(entry.bytes));
  tree.rebuilt.set(ordinal, failure);
  return failure;
}

/** The kept failures of one group (its sub-groups' included), gathered incrementally. */
export class FailureView {
  readonly #tree: Tree;
  readonly #group: number;
  /** Ordinals below this were all published when last looked at. */
  #scanned = 0;
  readonly #mine: number[] = [];
  /** Entries of #mine already rebuilt (or found unreadable) by prefetch(). */
  #fetched = 0;
  /** Entries below #scanned that were not published yet when scanned. */
  #holes: number[] = [];

  /**
   * @param tree - the group's tree
   * @param group - the group's id
   */
  constructor(tree: Tree, group: number) {
    this.#tree = tree;
    this.#group = group;
  }

  /**
   * The group's failures, oldest first, up to `count` (its failure counter when the wait completed).
   * @returns the failures kept in full, and how many of the `count` were not kept
   */
  collect(count: number): { failures: Failure[]; omitted: number } {
    this.#scan();
    const failures: Failure[] = [];
    for (const ordinal of this.#mine.slice(0, count)) {
      const failure = failureAt(this.#tree, ordinal);
      if (failure !== undefined) failures.push(failure);
    }
    return { failures, omitted: count - failures.length };
  }

  /**
   * Rebuilds the failures published so far, while a wait still sleeps: each is rebuilt once per
   * thread and kept, so the wait's end only gathers them. Costs one pass over what is new.
   */
  prefetch(): void {
    this.#scan();
    for (; this.#fetched < this.#mine.length; this.#fetched++) {
      const ordinal = this.#mine[this.#fetched];
      if (ordinal !== undefined) failureAt(this.#tree, ordinal);
    }
  }

  #scan(): void {
    const log = this.#tree.log;
    // Entries not yet published when last looked at: a failure being written, or staged for a
    // completion still in flight. They are looked at again; entries after them are not held up.
    if (this.#holes.length > 0) {
      const still: number[] = [];
      for (const ordinal of this.#holes) {
        const state = log.stateOf(ordinal);
        if (state === LOG_DISCARDED) continue;
        const group = log.groupOf(ordinal);
        if (group === undefined) still.push(ordinal);
        else if (this.#tree.isWithin(group, this.#group)) this.#insert(ordinal);
      }
      this.#holes = still;
    }
    const end = log.recorded();
    for (; this.#scanned < end; this.#scanned++) {
      const ordinal = this.#scanned;
      const group = log.groupOf(ordinal);
      if (group === undefined) {
        if (log.stateOf(ordinal) !== LOG_DISCARDED) this.#holes.push(ordinal);
      } else if (this.#tree.isWithin(group, this.#group)) {
        this.#insert(ordinal);
      }
    }
  }

  /** Adds `ordinal` to #mine, which stays in log order. */
  #insert(ordinal: number): void {
    let at = this.#mine.length;
    while (at > 0 && (this.#mine[at - 1] ?? 0) > ordinal) at--;
    this.#mine.splice(at, 0, ordinal);
    // A failure inserted before the prefetched ones is rebuilt by the next prefetch.
    if (at < this.#fetched) this.#fetched = at;
  }
}
