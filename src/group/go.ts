// Runs on both sides of a thread boundary: one thread's `go()` and `tryGo()` on one group.
//
// - A function always starts in a microtask after the call that registered it (never inside it),
//   in the async context of that call, whether it starts at once or after waiting for `limit`.
// - With `limit`, a function that finds no free running slot waits in this thread's queue, in
//   order. Only the head of the queue has a task (a slot, a unit): it keeps every wait() on the
//   group waiting for the whole queue, and the next function takes its task when the head starts.
//   The rest cost thread-local memory only, so a queue is not bounded by the tree's `capacity`.
// - A failure is recorded (cancelling a `cancelOnError` group) before its limit slot is given back
//   (run.ts): a function that starts after it, in any thread, sees the group cancelled.
import type { GroupRecord } from '../memory/counters.js';
import { limitOf, untilReleased } from '../memory/limit.js';
import { runTask } from './run.js';
import type { Task } from './task.js';

/** A function given to `go()` or `tryGo()`. */
export type GoFunction = (signal: AbortSignal) => unknown;

/** What a group lends its runner in this thread. */
export interface GoHost {
  /** The group's record, where its limit and running count live. */
  readonly header: GroupRecord;
  /** Registers a task of one unit, as `add(label)` does (and throws as it does). */
  readonly add: (label: string | undefined) => Task;
  /** The group's signal in this thread. */
  readonly signal: () => AbortSignal;
  /** Records a failure of the group that completes no task (cancelling it under `cancelOnError`). */
  readonly fail: (error: unknown, label: string | undefined) => void;
}

/** A function waiting in this thread's queue for a running slot. */
interface Queued {
  readonly fn: GoFunction;
  readonly label: string | undefined;
  /** Its task: only the head of the queue has one. */
  task: Task | undefined;
  /**
   * Starts it, in a microtask: resolves a promise whose reaction go() registered, so that it runs
   * in the async context of the go() call (a reaction runs in that of its `then()`).
   */
  start: () => void;
}

/** A function about to start, in the microtask `#start()` queued for it. */
interface Starting {
  readonly fn: GoFunction;
  readonly task: Task;
  /** Gives its running slot back; undefined without a limit. */
  readonly release: (() => void) | undefined;
}

/** Longest single timer Node accepts. */
const MAX_TIMER = 0x7fffffff;
/** Entries gone from the front of the queue array before it is compacted (when they are half of it, too). */
const COMPACT_AFTER = 1024;

const resolved = Promise.resolve();
const noop = (): void => undefined;

/** Functions of this thread, of any group, whose start is queued as a microtask and still to come. */
let due = 0;

/**
 * True while `go()` functions of this thread are about to start, in microtasks already queued: a
 * wait that lets one microtask pass first finds those that finish synchronously done, rather than
 * sleep and be woken by them.
 */
export function startsDue(): boolean {
  return due > 0;
}

/** One thread's side of `go()` and `tryGo()` on one group. */
export class Runner {
  readonly #host: GoHost;
  readonly #header: GroupRecord;
  /** The queue: `#queue[#head]` is its head; the entries before it have left. */
  #queue: (Queued | undefined)[] = [];
  #head = 0;
  /** The functions `#start()` queued a microtask for, in order; `#starting[#next]` starts next. */
  #starting: Starting[] = [];
  #next = 0;
  /** Asleep in untilReleased(), or a drain is due in a microtask. */
  #sleeping = false;
  /** Keeps the thread alive while its queue holds functions (a pending waitAsync does not). */
  #keepAlive: NodeJS.Timeout | undefined;
  /** After a function holding a running slot completed (its completion gave the slot back): start what can start. */
  readonly #release = (): void => {
    this.#drain();
  };

  constructor(host: GoHost) {
    this.#host = host;
    this.#header = host.header;
  }

  /** Functions queued in this thread, waiting for a running slot. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Registers `fn` as a task and starts it in a microtask, or queues it in this thread until a
   * running slot is free.
   * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED as `add()`, unless `fn` queues behind others
   */
  go(fn: GoFunction, label: string | undefined): void {
    const limit = limitOf(this.#header);
    if (limit === 0) {
      this.#start(fn, this.#host.add(label), undefined);
    } else if (this.queued > 0) {
      // Behind others: no task yet, so no shared memory; the head's task holds the group open.
      this.#queue.push(this.#queued(fn, label, undefined));
    } else {
      const task = this.#host.add(label);
      if (task.acquireLimit()) {
        this.#start(fn, task, this.#release);
        return;
      }
      this.#queue.push(this.#queued(fn, label, task));
      this.#keepAlive ??= setInterval(() => undefined, MAX_TIMER);
      this.#sleep();
    }
  }

  /**
   * Registers `fn` as a task and starts it in a microtask if a running slot is free and nothing
   * is queued in this thread; else does nothing.
   * @returns true if `fn` was registered
   * @throws {WaitGroupError} ERR_CAPACITY_EXCEEDED as `add()`
   */
  tryGo(fn: GoFunction, label: string | undefined): boolean {
    const limit = limitOf(this.#header);
    if (limit === 0) {
      this.#start(fn, this.#host.add(label), undefined);
      return true;
    }
    if (this.queued > 0) return false;
    // Added first, then the running slot: a thread that dies in between leaves a task the sweep
    // fails, never a running slot nobody holds. No slot free: the add is undone, unseen.
    const task = this.#host.add(label);
    if (!task.acquireLimit()) {
      task.unadd();
      return false;
    }
    this.#start(fn, task, this.#release);
    return true;
  }

  #queued(fn: GoFunction, label: string | undefined, task: Task | undefined): Queued {
    const entry: Queued = { fn, label, task, start: noop };
    void new Promise<void>((resolve) => {
      entry.start = resolve;
    }).then(() => {
      // The head always has its task when it starts: go() or #promote() gave it one.
      if (entry.task !== undefined) this.#run(entry.fn, entry.task, this.#release);
    });
    return entry;
  }

  #run(fn: GoFunction, task: Task, release: (() => void) | undefined): void {
    runTask(fn, this.#host.signal(), task, release);
  }

  /**
   * Starts `fn` in a microtask, in the async context of the caller (a promise reaction runs in the
   * context of its `then()` call). Every reaction runs the next entry of `#starting`, in order, so
   * none needs a closure of its own: a burst of go() calls keeps less alive until it starts.
   */
  #start(fn: GoFunction, task: Task, release: (() => void) | undefined): void {
    this.#starting.push({ fn, task, release });
    due++;
    void resolved.then(this.#startNext);
  }

  readonly #startNext = (): void => {
    const next = this.#starting[this.#next];
    if (next === undefined) return;
    due--;
    this.#next++;
    if (this.#next === this.#starting.length) {
      this.#starting = [];
      this.#next = 0;
    }
    this.#run(next.fn, next.task, next.release);
  };

  /** Starts the queued functions that find a running slot, in order, then sleeps if any are left. */
  #drain(): void {
    for (;;) {
      const head = this.#queue[this.#head];
      // The head always has its task: go() or #promote() gave it one.
      if (head?.task?.acquireLimit() !== true) break;
      this.#shift();
      // The next head takes its task now, while this one's unit is still pending (it starts later).
      this.#promote();
      head.start();
    }
    if (this.queued > 0) {
      this.#sleep();
    } else if (this.#keepAlive !== undefined) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  /**
   * Gives the head of the queue its task. A function that cannot have one (ERR_CAPACITY_EXCEEDED)
   * fails with that error instead of running, and the next one becomes the head.
   */
  #promote(): void {
    for (let head = this.#queue[this.#head]; head !== undefined && head.task === undefined; head = this.#queue[this.#head]) {
      try {
        head.task = this.#host.add(head.label);
      } catch (error) {
        this.#shift();
        this.#host.fail(error, head.label);
      }
    }
  }

  /** Removes the head of the queue. */
  #shift(): void {
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#queue.length) {
      // Not Array#shift(), which moves every entry: a queue of n drained that way costs n^2.
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Drains again once a running slot is released in any thread. */
  #sleep(): void {
    if (this.#sleeping) return;
    this.#sleeping = true;
    const wake = (): void => {
      this.#sleeping = false;
      this.#drain();
    };
    const released = untilReleased(this.#header, limitOf(this.#header));
    if (released === undefined) {
      queueMicrotask(wake);
    } else {
      void released.then(wake);
    }
  }
}
