// Runs on both sides of a thread boundary: the `limit` of concurrently running `go()` functions,
// counted in the group's H_RUNNING across all threads. A `go()` task takes a running slot through
// its own handle (Task#acquireLimit: a journaled compare-and-exchange) and its completion gives it
// back; functions that find no free slot queue in their own thread and start, in order, when a
// slot frees anywhere.
import type { GroupRecord } from './counters.js';
import { H_LIMIT, H_LIMIT_WAITERS, H_RUNNING } from './layout.js';
import type { Task } from './task.js';

/** Longest single timer Node accepts. */
const MAX_TIMER = 0x7fffffff;

/** A queued `go()`: its task, and what starts its function once the task holds a running slot. */
interface Queued {
  readonly task: Task;
  readonly start: () => void;
}

/** One thread's side of a group's limit. */
export class Limiter {
  readonly #record: GroupRecord;
  readonly #queue: Queued[] = [];
  #keepAlive: NodeJS.Timeout | undefined;
  #armed = false;
  /** A start that finishes synchronously drains again: the outer loop does it. */
  #draining = false;

  /** @param record - the group's record */
  constructor(record: GroupRecord) {
    this.#record = record;
  }

  /** The most functions that may run at once, 0 for no limit. */
  get limit(): number {
    return Atomics.load(this.#record.i32, H_LIMIT);
  }

  /** Functions queued in this thread. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues `start` to run once `task` holds a running slot; the thread stays alive until it has run. */
  enqueue(task: Task, start: () => void): void {
    this.#queue.push({ task, start });
    if (this.#queue.length === 1) {
      Atomics.add(this.#record.i32, H_LIMIT_WAITERS, 1);
      this.#keepAlive = setInterval(() => undefined, MAX_TIMER);
    }
    this.drain();
  }

  /** Starts what it can of this thread's queue: after a completion gave a slot back, or a wake. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#queue[0]; next?.task.acquireLimit() === true; next = this.#queue[0]) {
        this.#queue.shift();
        next.start();
      }
    } finally {
      this.#draining = false;
    }
    if (this.#queue.length === 0) {
      if (this.#keepAlive !== undefined) {
        clearInterval(this.#keepAlive);
        this.#keepAlive = undefined;
        Atomics.sub(this.#record.i32, H_LIMIT_WAITERS, 1);
      }
      return;
    }
    if (this.#armed) return;
    this.#armed = true;
    const wake = (): void => {
      this.#armed = false;
      this.drain();
    };
    const running = Atomics.load(this.#record.i64, H_RUNNING / 2);
    // A slot freed since acquireLimit failed: sleeping on the new value would miss that release.
    if (Number(running >> 32n) < this.limit) {
      queueMicrotask(wake);
      return;
    }
    // Sleep on the value just read: a release in between returns 'not-equal' at once.
    const result = Atomics.waitAsync(this.#record.i64, H_RUNNING / 2, running);
    if (result.async) void result.value.then(wake);
    else queueMicrotask(wake);
  }
}
