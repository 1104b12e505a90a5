// Runs on both sides of a thread boundary: recording failures into a tree's shared log, and the
// aggregator that rebuilds a group's failures, in order, in whichever thread waits.
import { decodeFailure, encodeFailure } from './envelope.js';
import { describe, type FailureOrigin } from './errors.js';
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
 * Writes a failure to the tree's log (before its unit is completed, so no waiter can miss it).
 * @returns the failure's ordinal in the tree
 */
export function recordFailure(tree: Tree, group: number, value: unknown, origin: FailureOrigin): number {
  const bytes = encodeFailure(value, origin);
  const fallback = (): Uint8Array =>
    encodeFailure(`[failure too large for the remaining failure log] ${describe(value).slice(0, 500)}`, origin);
  const ordinal = tree.log.record(group, bytes, fallback);
  // Only what every thread can read is kept here too, so that all waiters report the same failures.
  if (tree.log.holds(ordinal)) tree.originals.set(ordinal, remember({ value, origin }));
  return ordinal;
}

/** The failure with `ordinal`, as this thread sees it: the original if it was recorded here, else rebuilt once. */
export function failureAt(tree: Tree, ordinal: number): Failure | undefined {
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
    const end = Math.min(log.recorded(), log.maxFailures);
    // Stop at the first entry not yet published: a failure of a later round still being written.
    while (this.#scanned < end) {
      const group = log.groupOf(this.#scanned);
      if (group === undefined) break;
      if (this.#tree.isWithin(group, this.#group)) this.#mine.push(this.#scanned);
      this.#scanned++;
    }
  }
}
