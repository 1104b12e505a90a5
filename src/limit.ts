// Runs on both sides of a thread boundary: the `limit` of concurrently running `go()` functions,
// counted in the group header across all threads. Functions that find no free slot queue in their
// own thread and start, in order, when a slot frees anywhere.
import { H_LIMIT, H_LIMIT_WAITERS, H_RUNNING } from './layout.js';

/** Longest single timer Node accepts. */
const MAX_TIMER = 0x7fffffff;

/** One thread's side of a group's limit. */
export class Limiter {
  readonly #header: Int32Array;
  readonly #queue: (() => void)[] = [];
  #keepAlive: NodeJS.Timeout | undefined;
  #armed = false;
  /** A start that finishes synchronously releases its slot and drains again: the outer loop does it. */
  #draining = false;

  /** @param header - Int32 view of the group header */
  constructor(header: Int32Array) {
    this.#header = header;
  }

  /** The most functions that may run at once, 0 for no limit. */
  get limit(): number {
    return Atomics.load(this.#header, H_LIMIT);
  }

  /** Functions queued in this thread. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Takes a running slot if one is free. */
  tryAcquire(): boolean {
    const limit = this.limit;
    for (;;) {
      const running = Atomics.load(this.#header, H_RUNNING);
      if (running >= limit) return false;
      // A CAS, not an add: two threads seeing the last free slot must not both take it.
      if (Atomics.compareExchange(this.#header, H_RUNNING, running, running + 1) === running) return true;
    }
  }

  /** Gives a running slot back and starts what it can of this thread's queue. */
  release(): void {
    Atomics.sub(this.#header, H_RUNNING, 1);
    // A thread that queued after our decrement re-checks before it sleeps; one that queued
    // before it counted itself in H_LIMIT_WAITERS first, so this read sees it and wakes it.
    if (Atomics.load(this.#header, H_LIMIT_WAITERS) > 0) Atomics.notify(this.#header, H_RUNNING);
    this.#drain();
  }

  /** Queues `start` to run once a slot is free; the thread stays alive until it has run. */
  enqueue(start: () => void): void {
    this.#queue.push(start);
    if (this.#queue.length === 1) {
      Atomics.add(this.#header, H_LIMIT_WAITERS, 1);
      this.#keepAlive = setInterval(() => undefined, MAX_TIMER);
    }
    this.#drain();
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0 && this.tryAcquire()) this.#queue.shift()?.();
    } finally {
      this.#draining = false;
    }
    if (this.#queue.length === 0) {
      if (this.#keepAlive !== undefined) {
        clearInterval(this.#keepAlive);
        this.#keepAlive = undefined;
        Atomics.sub(this.#header, H_LIMIT_WAITERS, 1);
      }
      return;
    }
    if (this.#armed) return;
    this.#armed = true;
    // Sleep on the value that made tryAcquire fail: a release in between returns 'not-equal' at once.
    const wake = (): void => {
      this.#armed = false;
      this.#drain();
    };
    const running = Atomics.load(this.#header, H_RUNNING);
    // A slot freed since tryAcquire failed: sleeping on the new value would miss that release.
    if (running < this.limit) {
      queueMicrotask(wake);
      return;
    }
    const result = Atomics.waitAsync(this.#header, H_RUNNING, running);
    if (result.async) void result.value.then(wake);
    else queueMicrotask(wake);
  }
}
