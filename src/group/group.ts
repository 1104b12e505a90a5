// Runs on both sides of a thread boundary: a WaitGroup object is one thread's handle on a group
// whose state lives in shared memory. Every thread that holds the group, whether it created it,
// got it from `WaitGroup.from()` or made it with `sub()`, has the same powers over it.
import { threadId } from 'node:worker_threads';
import { cancelRecord, defaultReason, isCancelled, readReason, settleCancel, watchCancel } from '../memory/cancel.js';
import {
  InvalidArgumentTypeError,
  TaskGroupError,
  WaitGroupError,
  boundText,
  checkFunction,
  checkInteger,
  checkLabel,
  describe,
  type FailureOrigin,
  type PendingSummary,
  type PendingTask,
} from '../errors/errors.js';
import { addedOf, failedOf, pendingOf, type GroupRecord } from '../memory/counters.js';
import { FailureView, failureAt, type FailureSource } from '../memory/failures.js';
import * as L from '../memory/layout.js';
import { Runner, startsDue } from './go.js';
import { linkKey, linkedIds, recordLink, type LinkId } from '../memory/links.js';
import { checkSharedGroup, type SharedWaitGroup } from '../memory/share.js';
import { GroupHost } from '../memory/host.js';
import { Task, afterSettle, provideGroupFrom, runAfterSettle } from './task.js';
import { parseOptions, parseWaitOptions, type WaitGroupOptions, type WaitGroupStats, type WaitOptions, type WaitSyncOptions } from './options.js';
import { Tree } from '../memory/tree.js';
import { RETRY, waitAsync, waitSync, type Blocker } from './wait.js';

/** What the internal constructor path attaches instead of creating. */
interface Attach {
  tree: Tree;
  id: number;
  name: string;
  parent: WaitGroup | undefined;
}
let attaching: Attach | undefined;

/** This thread's group objects, so one group has one object per thread. */
const groups = new Map<string, WeakRef<WaitGroup>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (groups.get(key)?.deref() === undefined) groups.delete(key);
});

/**
 * A wait group shared by every thread that holds it: Go's `sync.WaitGroup` and `errgroup.Group` in one.
 * Register work with `add()` or `go()` in any thread, and `wait()` (or `waitSync()`) in any thread.
 * Send it to another thread as `share()` and rebuild it there with `WaitGroup.from()`.
 * @example
 * ```ts
 * // main.ts
 * import { readFile } from 'node:fs/promises';
 * import { Worker } from 'node:worker_threads';
 * import { WaitGroup } from 'shared-waitgroup';
 *
 * const group = new WaitGroup({ name: 'import' });
 * const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: group.share() });
 * group.go(() => readFile('index.json'), 'index'); // a rejection fails the task
 * await group.wait({ timeout: 60_000 }); // the worker's tasks too; rejects with every failure
 * await worker.terminate();
 *
 * // worker.ts
 * import { readFile } from 'node:fs/promises';
 * import { workerData } from 'node:worker_threads';
 * import { WaitGroup } from 'shared-waitgroup';
 *
 * const group = WaitGroup.from(workerData);
 * const task = group.add(2, 'two files');
 * readFile('a').then(() => task.done(), (error: unknown) => task.done(error));
 * readFile('b').then(() => task.done(), (error: unknown) => task.done(error));
 * ```
 */
export class WaitGroup {
  /** Name used in messages and failure origins. */
  readonly name: string;
  readonly #tree: Tree;
  readonly #header: GroupRecord;
  /** This group's pending word, as the wait loop sleeps on it (made once, not on every wake). */
  readonly #asBlocker: Blocker;
  readonly #id: number;
  readonly #parent: WaitGroup | undefined;
  /** This group's header and its ancestors': every add and done counts in all of them. */
  readonly #chain: WaitGroup[];
  readonly #links: WaitGroup[] = [];
  /** Made at the first failure looked for (most groups never fail). */
  #failures: FailureView | undefined;
  readonly #host: GroupHost;
  #runner: Runner | undefined;
  #controller: AbortController | undefined;
  #signal: AbortSignal | undefined;
  /** The reason given to `cancel()` in this thread: this thread's signal gets it as is, not a copy. */
  readonly #reason: { value?: unknown } = {};

  /**
   * Creates a group and its shared memory.
   * @param options - see `WaitGroupOptions`
   * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE for an option of the wrong type
   * @throws {UnknownOptionError} ERR_UNKNOWN_OPTION for a key that is not an option
   * @throws {OutOfRangeError} ERR_OUT_OF_RANGE for `limit`, `capacity`, `maxGroups`, `maxFailures` or `failureBytes` out of range
   */
  constructor(options: WaitGroupOptions = {}) {
    const attach = attaching;
    attaching = undefined;
    if (attach !== undefined) {
      ({ tree: this.#tree, name: this.name, parent: this.#parent, id: this.#id } = attach);
    } else {
      const { tree, limit, flags } = parseOptions(options);
      this.#tree = Tree.create(tree);
      const name = boundText(options.name ?? 'wait-group');
      this.name = name;
      this.#parent = undefined;
      this.#id = this.#tree.addGroup(0, flags, limit, () => name);
    }
    this.#header = this.#tree.record(this.#id);
    this.#asBlocker = { header: this.#header };
    this.#chain = this.#parent ? [this, ...this.#parent.#chain] : [this];
    const tree = this.#tree;
    const chain = this.#chain;
    this.#host = new GroupHost({
      tree,
      id: this.#id,
      chain: chain.map((group) => ({ record: group.#header, name: group.name })),
      origin: (label) => (label === undefined ? { threadId, group: this.name } : { threadId, group: this.name, label }),
      // Inside a failing completion (GroupHost#finish): the failure's code that encoding runs must
      // not move the tree (pin), and abort listeners run once the completion has returned.
      cancel: (level, error, entry) => {
        const group = chain[level];
        if (group === undefined) return;
        tree.pin();
        try {
          group.#cancel(error, entry >= 0 ? entry : undefined, true);
        } finally {
          tree.unpin();
        }
      },
      share: () => this.share(),
    });
    tree.names.set(this.#id, this.name);
    // Entered in this thread's table of groups (for from()) once its tree is shared: a private
    // tree's groups cannot come back through from(), and a WeakRef made now would keep the group
    // alive until the end of the current job, however soon it is dropped.
    const key = `${tree.key}/${this.#id}`;
    tree.hold({ host: this.#host, publish: () => enter(key, this) });
    const signal = attach === undefined ? options.signal : undefined;
    if (signal?.aborted) this.cancel(signal.reason);
    else if (signal !== undefined) cancelOnAbort(signal, this);
  }

  /**
   * Registers a task of one unit.
   * @param label - label of the task, shown by `pendingTasks()` and in failure origins
   * @returns the task; call its `done()` once, in any thread
   * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when label is not a string
   * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED when `capacity` tasks are pending; ERR_PENDING_OVERFLOW when a pending count would pass 2^31 - 1
   */
  add(label?: string): Task;
  /**
   * Registers a task of `count` units: the group waits until its `done()` has been called `count`
   * times, in any threads. `add(0)` is valid, as Go's `Add(0)` is (`add(items.length)` over an
   * empty list): a task complete from the start, which takes no slot and changes no counter; its
   * `done()` returns false.
   * @param count - units of the task, an integer from 0 to 2^31 - 1
   * @param label - label of the task, shown by `pendingTasks()` and in failure origins
   * @returns the task; call its `done()` once per unit, in any thread
   * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when count is not a number or label not a string
   * @throws {OutOfRangeError} ERR_OUT_OF_RANGE when count is not an integer from 0 to 2^31 - 1
   * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED when `capacity` tasks are pending; ERR_PENDING_OVERFLOW when a pending count would pass 2^31 - 1
   */
  add(count: number, label?: string): Task;
  add(countOrLabel?: number | string, maybeLabel?: string): Task {
    // add() and add(label) first, in few bytes: V8 inlines small functions into the caller's loop.
    if (maybeLabel === undefined && (countOrLabel === undefined || typeof countOrLabel === 'string')) {
      const host = this.#host;
      return Task.create(host, host.add(1, countOrLabel), 1, countOrLabel);
    }
    return this.#addChecked(countOrLabel, maybeLabel);
  }

  #addChecked(countOrLabel: unknown, maybeLabel: unknown): Task {
    if (typeof countOrLabel !== 'number') {
      throw new InvalidArgumentTypeError(
        `add() takes add(), add(label) or add(count, label?), with count a number and label a string; received add(${[countOrLabel, maybeLabel].filter((arg, i) => i === 0 || arg !== undefined).map((arg) => describe(arg)).join(', ')})`,
      );
    }
    checkInteger(countOrLabel, 'count', 0, L.MAX_UNITS);
    checkLabel(maybeLabel);
    return countOrLabel === 0 ? this.#complete(maybeLabel) : this.#add(countOrLabel, maybeLabel);
  }

  /**
   * `add(0)`: a task complete from the start. It claims no slot and counts nothing. Task.create()
   * takes the generation of the slot this thread claimed last; one past 32 bits matches no slot's,
   * so neither this handle nor one rebuilt from its share() ever touches slot 0.
   */
  #complete(label: string | undefined): Task {
    const slots = this.#host.slots;
    const claimed = slots.claimedGeneration;
    slots.claimedGeneration = 2 ** 32;
    try {
      return Task.create(this.#host, 0, 0, label);
    } finally {
      slots.claimedGeneration = claimed;
    }
  }

  #add(count: number, label: string | undefined): Task {
    return Task.create(this.#host, this.#host.add(count, label), count, label);
  }

  /**
   * Runs `fn` as a task of the group: registers it now, and starts it in a microtask (never inside
   * `go()`), in the async context of this call. A synchronous throw or a rejection fails the task
   * (even with `undefined`). With `limit`, a function that finds `limit` functions running waits in
   * this thread's queue, in order, and starts once a slot frees in any thread; a queued function
   * costs thread-local memory only, not a task slot (see `WaitGroupOptions.limit`).
   * @param fn - receives the group's `signal`
   * @param label - label of the task
   * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when fn is not a function or label not a string
   * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED as `add()`, unless `fn` queues behind others
   */
  go(fn: (signal: AbortSignal) => unknown, label?: string): void {
    checkFunction(fn, 'fn');
    checkLabel(label);
    this.#go().go(fn, label);
  }

  /**
   * Like `go()`, but returns false instead of queueing when `limit` functions are running (or
   * this thread has functions queued). `fn` starts in a microtask, as with `go()`.
   * @param fn - receives the group's `signal`
   * @param label - label of the task
   * @returns true if `fn` was registered (it starts in a microtask); false (and nothing registered) when the group is at its `limit`
   * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when fn is not a function or label not a string
   * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED as `add()`
   */
  tryGo(fn: (signal: AbortSignal) => unknown, label?: string): boolean {
    checkFunction(fn, 'fn');
    checkLabel(label);
    return this.#go().tryGo(fn, label);
  }

  #go(): Runner {
    return (this.#runner ??= new Runner({
      header: this.#header,
      add: (label) => this.#add(1, label),
      signal: () => this.signal,
      fail: (error, label) => {
        this.#host.failAlone(error, label);
        runAfterSettle();
      },
    }));
  }

  /**
   * A child group: its units count in this group's `pending`, its failures in this group's wait,
   * and it is cancelled with this group. Any thread holding this group sees its work at once.
   * @param label - the child's name is this group's name, '/', and the label
   * @returns the child group, in the same shared memory as this one
   * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when label is not a string
   * @throws {WaitGroupError} ERR_GROUP_LIMIT_EXCEEDED when the tree has `maxGroups` groups
   */
  sub(label?: string): WaitGroup {
    checkLabel(label);
    let name = '';
    const id = this.#tree.addGroup(this.#id, 0, 0, (given) => (name = boundText(`${this.name}/${label ?? `sub-${given}`}`)));
    attaching = { tree: this.#tree, id, name, parent: this };
    return new WaitGroup();
  }

  /**
   * Makes every wait on this group also wait for `other` (and report its failures). The link is
   * known to this thread and to every thread that gets this group from a `share()` made after it;
   * a wait in a thread holding an older copy throws `ERR_LINK_NOT_SHARED` rather than ignore it.
   * `other`'s units are not counted in this group's `stats()`. Linking twice is a no-op.
   * @param other - the group to wait for
   * @throws {InvalidArgumentTypeError} ERR_INVALID_ARG_TYPE when other is not a WaitGroup
   * @throws {WaitGroupError} ERR_LINK_CYCLE when `other` is this group or already waits for it
   * @throws {WaitGroupError} ERR_LINK_LIMIT when this group already links to 10 groups
   */
  link(other: WaitGroup): void {
    if (!(other instanceof WaitGroup)) {
      throw new InvalidArgumentTypeError(`other must be a WaitGroup; received ${describe(other)}`);
    }
    if (this.#links.includes(other)) return;
    // A group already waits for its sub-groups, and a sub-group linked to its ancestor would wait
    // for itself; either link would also make share() recurse forever (a group carries its parent).
    if (this.#tree === other.#tree && (this.#tree.isWithin(other.#id, this.#id) || this.#tree.isWithin(this.#id, other.#id))) {
      throw new WaitGroupError('ERR_LINK_CYCLE', `group "${other.name}" is in the same branch of the tree as "${this.name}": a group already waits for its sub-groups, and a sub-group cannot wait for its ancestor`);
    }
    if (other.#reaches(this)) {
      throw new WaitGroupError('ERR_LINK_CYCLE', `linking group "${other.name}" into "${this.name}" would make a group wait for itself`);
    }
    if (!recordLink(this.#header.i32, other.#linkId())) {
      throw new WaitGroupError('ERR_LINK_LIMIT', `group "${this.name}" already links to ${L.MAX_LINKS} groups, the most it can`);
    }
    this.#links.push(other);
  }

  /** This group's identity in link tables, the same in every thread. */
  #linkId(): LinkId {
    return [this.#tree.words[L.T_ID_HI] ?? 0, this.#tree.words[L.T_ID_LO] ?? 0, this.#id];
  }

  #reaches(target: WaitGroup): boolean {
    return this === target || this.#links.some((link) => link.#reaches(target));
  }

  /**
   * Resolves once nothing is pending in the group, its sub-groups and its links.
   * @param options - `timeout` in ms, `signal` to give up, `cancelWhenDone` to cancel the group when the wait ends (see `WaitOptions`)
   * @returns a promise that rejects with `TaskGroupError` (ERR_TASKS_FAILED) when any task failed,
   *   `WaitTimeoutError` (ERR_WAIT_TIMEOUT) on timeout, or the signal's reason when it aborts
   * @throws {OutOfRangeError} ERR_OUT_OF_RANGE (as a rejection) for a negative or NaN timeout
   * @throws {UnknownOptionError} ERR_UNKNOWN_OPTION (as a rejection) for a key that is not an option
   */
  async wait(options: WaitOptions = {}): Promise<void> {
    const { timeout, signal, cancelWhenDone } = parseWaitOptions(options, false);
    // go() functions about to start run first (their microtasks are queued before this one's):
    // those that finish synchronously are done before the wait looks, and it does not sleep.
    if (startsDue()) await Promise.resolve();
    if (!cancelWhenDone) return waitAsync(this, timeout, signal);
    try {
      await waitAsync(this, timeout, signal);
    } catch (error) {
      if (error instanceof TaskGroupError && error !== signal?.reason) this.cancel();
      throw error;
    }
    this.cancel();
  }

  /**
   * Blocks the calling thread (Atomics.wait) until nothing is pending; meant for worker threads.
   * On the main thread it needs a finite `timeout` or `blockMainThread: true`.
   * `go()` functions of the calling thread make no progress meanwhile: they start in a microtask,
   * which a blocked thread never runs. Wait for them with `await wait()`.
   * @param options - `timeout` in ms, `cancelWhenDone`, `blockMainThread` (see `WaitSyncOptions`)
   * @throws {TaskGroupError} ERR_TASKS_FAILED when any task failed
   * @throws {WaitTimeoutError} ERR_WAIT_TIMEOUT on timeout
   * @throws {OutOfRangeError} ERR_OUT_OF_RANGE for a negative or NaN timeout
   * @throws {UnknownOptionError} ERR_UNKNOWN_OPTION for a key that is not an option
   * @throws {WaitGroupError} ERR_MAIN_THREAD_BLOCK on the main thread without a finite `timeout` or `blockMainThread: true`
   */
  waitSync(options: WaitSyncOptions = {}): void {
    const { timeout, cancelWhenDone } = parseWaitOptions(options, true);
    if (!cancelWhenDone) {
      waitSync(this, timeout);
      return;
    }
    try {
      waitSync(this, timeout);
    } catch (error) {
      if (error instanceof TaskGroupError) this.cancel();
      throw error;
    }
    this.cancel();
  }

  /**
   * Part of `Waitable`, for the wait loop; not for users. Stripped from the declarations and the
   * docs: the class meets `Waitable` structurally (checked where it passes itself to `waitAsync()`
   * and `waitSync()`), not with an `implements` clause, which the declarations would have to name.
   * @internal
   */
  blocker(): Blocker | undefined {
    // The usual group links to nothing: no cycle to guard against, nothing to allocate on a wake.
    if (this.#links.length === 0 && Atomics.load(this.#header.i32, L.H_LINKS) === 0) {
      return pendingOf(this.#header) === 0 ? undefined : this.#asBlocker;
    }
    return this.#snapshot(this.#linked(this, new Set(), []));
  }

  /**
   * A blocker among `groups`, or undefined if at one instant none of them had anything pending.
   * Reading their pending words one after the other is not such an instant: tasks that hand work
   * back and forth between linked groups keep each word at zero when it is read. So the words are
   * read twice, each with its group's `added` (which only grows, and grows with every add); equal
   * readings with zero pending prove no add happened in between, hence all were zero at once.
   */
  #snapshot(groups: readonly WaitGroup[]): Blocker | undefined {
    for (;;) {
      const added: number[] = [];
      for (const group of groups) {
        if (pendingOf(group.#header) !== 0) return group.#asBlocker;
        added.push(addedOf(group.#header));
      }
      let still = true;
      for (const [i, group] of groups.entries()) {
        if (pendingOf(group.#header) !== 0) return group.#asBlocker;
        still &&= addedOf(group.#header) === added[i];
      }
      if (still) return undefined;
    }
  }

  /** `group` and every group it links to, through links known here; throws on a cycle or a link this thread does not know. */
  #linked(group: WaitGroup, path: Set<WaitGroup>, all: WaitGroup[]): WaitGroup[] {
    if (path.has(group)) {
      throw new WaitGroupError('ERR_LINK_CYCLE', `group "${group.name}" waits for itself through links made in different threads`);
    }
    if (all.includes(group)) return all;
    all.push(group);
    if (group.#links.length === 0 && Atomics.load(group.#header.i32, L.H_LINKS) === 0) return all;
    const known = new Set(group.#links.map((link) => linkKey(link.#linkId())));
    const missing = [...linkedIds(group.#header.i32)].filter((id) => !known.has(id)).length;
    if (missing > 0) {
      throw new WaitGroupError('ERR_LINK_NOT_SHARED', `group "${group.name}" links to ${missing} group(s) this thread does not know: share the group again after link()`);
    }
    path.add(group);
    for (const link of group.#links) this.#linked(link, path, all);
    path.delete(group);
    return all;
  }

  /**
   * Part of `Waitable`, for the wait loop; not for users. Stripped from the declarations and the
   * docs: the class meets `Waitable` structurally (checked where it passes itself to `waitAsync()`
   * and `waitSync()`), not with an `implements` clause, which the declarations would have to name.
   * @internal
   */
  outcome(): Error | undefined | typeof RETRY {
    // Nothing pending and never a failure (the count only grows): clean, whatever comes next.
    if (this.#links.length === 0 && failedOf(this.#header) === 0) return undefined;
    const before = this.#failedSignature();
    const failures = this.#collect();
    // Pending again, or a failure recorded while we looked (by a round of tasks added and done
    // meanwhile): what we gathered may not be one moment's failures; look again. Rounds without
    // failures change nothing we report.
    if (this.blocker() !== undefined || this.#failedSignature() !== before) return RETRY;
    if (failures.errors.length === 0 && failures.omitted === 0) return undefined;
    return new TaskGroupError(failures.errors, failures.origins, failures.omitted, this.name);
  }

  /**
   * Part of `Waitable` (see `outcome()`): rebuilds the failures recorded so far, while the wait
   * still sleeps. One shared-memory read when the group never failed.
   * @internal
   */
  prefetch(): void {
    if (this.#links.length === 0 && failedOf(this.#header) === 0) return;
    for (const group of this.#reported()) group.#failureView().prefetch();
  }

  #failureView(): FailureView {
    return (this.#failures ??= new FailureView(this.#tree, this.#id));
  }

  /** What changes when a failure is recorded in this group or one it links to. */
  #failedSignature(): string {
    return [this, ...this.#links].map((g) => failedOf(g.#header)).join();
  }

  #collect(): { errors: unknown[]; origins: FailureOrigin[]; omitted: number } {
    const result = { errors: [] as unknown[], origins: [] as FailureOrigin[], omitted: 0 };
    for (const group of this.#reported()) {
      const { failures, omitted } = group.#failureView().collect(failedOf(group.#header));
      for (const failure of failures) {
        result.errors.push(failure.value);
        result.origins.push(failure.origin);
      }
      result.omitted += omitted;
    }
    return result;
  }

  /**
   * The groups whose failures a wait on this group reports: this one and every group it links to,
   * each once, leaving out any that lies inside another one's subtree (its failures count there
   * already, e.g. a link to one's own sub-group, or a sub-group that links to its parent).
   */
  #reported(): WaitGroup[] {
    const all: WaitGroup[] = [];
    const visit = (group: WaitGroup): void => {
      if (all.includes(group)) return;
      all.push(group);
      for (const link of group.#links) visit(link);
    };
    visit(this);
    const inside = (g: WaitGroup, h: WaitGroup): boolean => g !== h && g.#tree === h.#tree && g.#tree.isWithin(g.#id, h.#id);
    return all.filter((g) => !all.some((h) => inside(g, h)));
  }


  /**
   * Cancels the group in every thread: `cancelled` becomes true at once, `signal` aborts in each
   * thread within a turn of its event loop. Tasks are not completed: `wait()` still waits for them.
   * Only the first cancellation counts.
   * @param reason - the signal's reason; default an `AbortError` DOMException
   */
  cancel(reason?: unknown): void {
    this.#cancel(reason, undefined, false);
  }

  /**
   * @param inOperation - called from inside a completion: this thread's `signal` aborts once the
   *   completion has returned (afterSettle), so that no listener runs inside the operation
   */
  #cancel(reason: unknown, failure: number | undefined, inOperation: boolean): void {
    if (!cancelRecord(this.#header, this.#tree.log, this.#tree.lane, this.name, reason, failure)) return;
    const value = (this.#reason.value = reason === undefined ? defaultReason(this.name) : reason);
    const controller = this.#controller;
    if (controller === undefined) return;
    if (inOperation) {
      afterSettle(() => {
        controller.abort(value);
      });
    } else {
      controller.abort(value);
    }
  }

  /** True once this group or an ancestor is cancelled, in any thread. One shared-memory read per level. */
  get cancelled(): boolean {
    return isCancelled(this.#header.i32) || (this.#parent?.cancelled ?? false);
  }

  /** Aborts, in this thread, when the group or an ancestor is cancelled in any thread. */
  get signal(): AbortSignal {
    if (this.#signal !== undefined) return this.#signal;
    const controller = (this.#controller = new AbortController());
    const header = this.#header;
    const failures = failureSource(this.#tree);
    const name = this.name;
    const local = this.#reason;
    // The watcher holds what it needs to abort, never the group nor the tree (a private tree holds
    // its groups), so the group stays collectable. It reads the record's views when it runs: a
    // private tree may have moved.
    watchCancel(header, this, () => {
      settleCancel(header.i32);
      controller.abort('value' in local ? local.value : readReason(header.i32, failures.log, name, (ordinal) => failureAt(failures, ordinal)?.value));
    });
    this.#signal = this.#parent ? AbortSignal.any([controller.signal, this.#parent.signal]) : controller.signal;
    return this.#signal;
  }

  /**
   * Counters of the group in units, sub-groups included (linked groups are not), read from shared memory.
   * @returns `{ added, done, failed, pending }`; consistent when no add or done is in flight
   */
  stats(): WaitGroupStats {
    for (;;) {
      const added = addedOf(this.#header);
      const pending = pendingOf(this.#header);
      const failed = failedOf(this.#header);
      // An add counted meanwhile could make done lead; pending rises before `added`, so an add
      // not counted yet only makes it lag.
      if (addedOf(this.#header) === added) return { added, done: added - pending, failed, pending };
    }
  }

  /**
   * The pending tasks of the group, its sub-groups and links, read from shared memory.
   * @returns one entry per task, oldest first: `{ label?, threadId, since, remaining }`
   */
  pendingTasks(): PendingTask[] {
    const tasks = this.#tree.slots
      .occupied((slot) => this.#tree.isWithin(slot.group, this.#id))
      .map(({ label, lane, since, remaining, group }): PendingTask => {
        const task = { group: this.#tree.nameOf(group), threadId: this.#tree.threadOf(lane), since, remaining };
        return label === undefined ? task : { label, ...task };
      });
    for (const link of this.#links) tasks.push(...link.pendingTasks());
    return tasks.sort((a, b) => a.since - b.since);
  }

  /**
   * What is pending in the group, its sub-groups and links, bounded however many tasks there are:
   * their number, counts by thread and by group, and the 10 oldest. One pass over the tree's slots.
   * @returns the summary a `WaitTimeoutError` carries
   */
  pendingSummary(): PendingSummary {
    const byThread = new Map<number, number>();
    const byGroup = new Map<string, number>();
    const oldest: PendingTask[] = [];
    let count = 0;
    for (const group of this.#reported()) {
      const tree = group.#tree;
      const within = new Map<number, boolean>();
      const belongs = (id: number): boolean => {
        let known = within.get(id);
        if (known === undefined) within.set(id, (known = tree.isWithin(id, group.#id)));
        return known;
      };
      const found = tree.slots.scan(belongs, 10);
      found.lanes.forEach((n, lane) => {
        if (n === 0) return;
        count += n;
        const thread = tree.threadOf(lane);
        byThread.set(thread, (byThread.get(thread) ?? 0) + n);
      });
      for (const [id, n] of found.groups) byGroup.set(tree.nameOf(id), (byGroup.get(tree.nameOf(id)) ?? 0) + n);
      const indices = found.oldest;
      for (const index of indices) {
        const held = tree.slots.snapshot(index);
        if (held === undefined) continue;
        const task = { group: tree.nameOf(held.group), threadId: tree.threadOf(held.lane), since: held.since, remaining: held.remaining };
        oldest.push(held.label === undefined ? task : { label: held.label, ...task });
      }
    }
    oldest.sort((a, b) => a.since - b.since);
    let byLabel: ReadonlyMap<string, number> | undefined;
    const list = (): PendingTask[] => this.pendingTasks();
    return {
      count,
      oldest: oldest.slice(0, 10),
      byThread,
      byGroup,
      get byLabel(): ReadonlyMap<string, number> {
        return (byLabel ??= countLabels(list()));
      },
    };
  }

  /**
   * A structured-cloneable value carrying this group to another thread (no transferList needed).
   * @returns a plain value for `WaitGroup.from()`
   */
  share(): SharedWaitGroup {
    return {
      kind: 'shared-waitgroup',
      version: L.LAYOUT_VERSION,
      name: this.name,
      group: this.#id,
      tree: this.#tree.publish(),
      parent: this.#parent?.share() ?? null,
      links: this.#links.map((link) => link.share()),
    };
  }

  /**
   * This thread's object for a group shared by `share()`: the same object for the same group.
   * @param shared - a value made by `WaitGroup#share()` in any thread
   * @returns the group, with the same powers as in the thread that created it
   * @throws {WaitGroupError} ERR_INVALID_SHARED_VALUE, ERR_LAYOUT_VERSION when `shared` is not such a value
   */
  static from(shared: SharedWaitGroup): WaitGroup {
    checkSharedGroup(shared);
    const tree = Tree.attach(shared.tree);
    const header = tree.record(shared.group);
    const limit = header.i32[L.H_LIMIT] ?? -1;
    const depth = header.i32[L.H_DEPTH] ?? -1;
    if (header.i32[L.H_MAGIC] !== L.HEADER_MAGIC || header.i32[L.H_PARENT_ID] !== (shared.parent?.group ?? 0) || limit < 0 || depth < 0 || depth > L.MAX_DEPTH) {
      throw new WaitGroupError('ERR_INVALID_SHARED_VALUE', `group ${describe(shared.name)} (id ${shared.group}) does not match the tree's record of it`);
    }
    if (shared.parent !== null && shared.parent.tree.tree !== shared.tree.tree) {
      throw new WaitGroupError('ERR_INVALID_SHARED_VALUE', `group ${describe(shared.name)} was shared with the parent of another tree`);
    }
    const known = groups.get(`${tree.key}/${shared.group}`)?.deref();
    const group = known ?? WaitGroup.#attach(tree, shared);
    // Every link is rebuilt before any is added: a bad one leaves the group as it was.
    const links = shared.links.map((link) => WaitGroup.from(link)).filter((other) => !group.#links.includes(other));
    const cycle = links.find((other) => other.#reaches(group));
    if (cycle !== undefined) {
      throw new WaitGroupError('ERR_LINK_CYCLE', `group "${group.name}" arrived linked to "${cycle.name}", which already waits for it here: links made in two threads closed a cycle`);
    }
    group.#links.push(...links);
    return group;
  }

  static #attach(tree: Tree, shared: SharedWaitGroup): WaitGroup {
    const parent = shared.parent === null ? undefined : WaitGroup.from(shared.parent);
    attaching = { tree, id: shared.group, name: shared.name, parent };
    return new WaitGroup();
  }

  /** @internal What `Task.from()` needs. */
  taskHost(): GroupHost {
    return this.#host;
  }
}

/** Enters a group in this thread's table, for `from()`. */
function enter(key: string, group: WaitGroup): void {
  groups.set(key, new WeakRef(group));
  forget.register(group, key);
}

/** What rebuilding a tree's failures needs, without the tree itself (see `signal`). */
function failureSource(tree: Tree): FailureSource {
  return { log: tree.log, originals: tree.originals, rebuilt: tree.rebuilt };
}

/**
 * Cancels `group` when `signal` aborts, holding the group weakly: a long-lived signal (a server's,
 * say) must not keep every group made with it alive. Outside the constructor on purpose: a closure
 * made there would share its scope, which holds `this`.
 */
function cancelOnAbort(signal: AbortSignal, group: WaitGroup): void {
  const ref = new WeakRef(group);
  signal.addEventListener('abort', () => ref.deref()?.cancel(signal.reason), { once: true });
}

provideGroupFrom((shared) => WaitGroup.from(shared));

/** Labels `PendingSummary#byLabel` keeps: those with the most tasks. */
const LABELS_KEPT = 100;

/** Tasks by label, for the LABELS_KEPT labels with the most (then by label, for a stable order). */
function countLabels(tasks: readonly PendingTask[]): ReadonlyMap<string, number> {
  const counts = new Map<string, number>();
  for (const { label } of tasks) if (label !== undefined) counts.set(label, (counts.get(label) ?? 0) + 1);
  return new Map([...counts].sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0)).slice(0, LABELS_KEPT));
}
