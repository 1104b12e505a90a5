// Shared-memory marks for the thread tests, used by the test files and the worker fixtures alike:
// an Int32Array on a SharedArrayBuffer whose words serve as latches and counters. Events are
// ordered with these (Atomics.wait / waitAsync), never with sleeps; the guard only stops a hang.

/** Longest a latch wait may last before it fails instead of hanging. */
export const GUARD_MS = 15_000;

/** A fresh set of marks, all zero. */
export function newMarks(size = 32): Int32Array {
  return new Int32Array(new SharedArrayBuffer(size * 4));
}

/** Sets mark `i` to `value` and wakes every thread waiting on it. */
export function set(marks: Int32Array, i: number, value = 1): void {
  Atomics.store(marks, i, value);
  Atomics.notify(marks, i);
}

/** Adds one to mark `i` and wakes every thread waiting on it; returns the new value. */
export function bump(marks: Int32Array, i: number): number {
  const value = Atomics.add(marks, i, 1) + 1;
  Atomics.notify(marks, i);
  return value;
}

function stuck(marks: Int32Array, i: number, value: number): Error {
  return new Error(`mark ${i} stayed at ${Atomics.load(marks, i)}, below ${value}, for ${GUARD_MS} ms`);
}

/** Resolves once mark `i` is at least `value`, without blocking the thread. */
export async function reach(marks: Int32Array, i: number, value: number): Promise<void> {
  const deadline = performance.now() + GUARD_MS;
  for (;;) {
    const seen = Atomics.load(marks, i);
    if (seen >= value) return;
    const left = deadline - performance.now();
    if (left <= 0) throw stuck(marks, i, value);
    const result = Atomics.waitAsync(marks, i, seen, left);
    if (result.async) await result.value;
  }
}

/** Blocks the calling thread until mark `i` is at least `value`. */
export function block(marks: Int32Array, i: number, value: number): void {
  const deadline = performance.now() + GUARD_MS;
  for (;;) {
    const seen = Atomics.load(marks, i);
    if (seen >= value) return;
    const left = deadline - performance.now();
    if (left <= 0) throw stuck(marks, i, value);
    Atomics.wait(marks, i, seen, left);
  }
}

/** Where a counted function keeps its counters in the marks. */
export interface Counters {
  /** Functions running now, in every thread. */
  readonly running: number;
  /** Most functions ever seen running at once. */
  readonly max: number;
  /** Functions that have finished. */
  readonly total: number;
}

/** Counts a function in: one more running, and the maximum raised by compare-and-exchange. */
export function enter(marks: Int32Array, counters: Counters): void {
  const now = Atomics.add(marks, counters.running, 1) + 1;
  for (;;) {
    const max = Atomics.load(marks, counters.max);
    if (now <= max || Atomics.compareExchange(marks, counters.max, max, now) === max) return;
  }
}

/** Counts a function out: one fewer running, one more finished. */
export function leave(marks: Int32Array, counters: Counters): void {
  Atomics.sub(marks, counters.running, 1);
  bump(marks, counters.total);
}

/** A function for `go()` that stays running across a few turns of the event loop (a yield, not a sleep). */
export async function countedRun(marks: Int32Array, counters: Counters): Promise<void> {
  enter(marks, counters);
  for (let turn = 0; turn < 3; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
  leave(marks, counters);
}
