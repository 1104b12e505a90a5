// The demo's CPU work and its deterministic failure injection, shared by the main thread (which
// registers the error class) and the pool's task module (which runs the work).

/** Trial division by 2, 3 and then 6k ± 1: slow enough to be worth spreading over threads. */
export function isPrime(n: number): boolean {
  if (n < 4) return n >= 2;
  if (n % 2 === 0 || n % 3 === 0) return false;
  for (let d = 5; d * d <= n; d += 6) {
    if (n % d === 0 || n % (d + 2) === 0) return false;
  }
  return true;
}

/**
 * Counts the primes in [from, to), checking `stop()` before each number: a cancellation reaches
 * the loop within one number's trial division.
 * @returns the count, or undefined when `stop()` said to stop
 */
export function countPrimes(from: number, to: number, stop: () => boolean): number | undefined {
  let count = 0;
  for (let n = from; n < to; n++) {
    if (stop()) return undefined;
    if (isPrime(n)) count++;
  }
  return count;
}

/** A failure injected by `--fail-rate`. Registered in the main thread, so it comes back as itself. */
export class InjectedFailure extends Error {
  readonly code = 'E_INJECTED';

  static {
    this.prototype.name = 'InjectedFailure';
  }
}

/**
 * A number in [0, 1) fixed by the seed, chunk and part (mulberry32 of their mix): which parts fail
 * depends on nothing else, not on the thread count nor on the timing.
 */
export function draw(seed: number, chunk: number, part: number): number {
  let t = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(chunk + 1, 0xc2b2ae35) ^ Math.imul(part + 1, 0x27d4eb2f)) >>> 0;
  t = (t + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Indexes of `ChunkJob#totals`. */
export const PRIMES = 0;
export const PARTS_DONE = 1;
export const PARTS_STOPPED = 2;

/** What the main thread sends to the pool for each chunk (workers/demo-task.ts). */
export interface ChunkJob {
  readonly chunk: number;
  /** The chunk is [from, to). */
  readonly from: number;
  readonly to: number;
  readonly parts: number;
  /** Numbers counted per turn of the event loop. */
  readonly slice: number;
  readonly failRate: number;
  readonly seed: number;
  /** Shared totals (PRIMES, PARTS_DONE, PARTS_STOPPED: parts a cancellation stopped mid-count), added to by every worker. */
  readonly totals: BigInt64Array;
}
