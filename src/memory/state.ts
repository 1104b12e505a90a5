// Runs on both sides of a thread boundary: reading and making 64-bit slot states (layout.ts) with
// 32-bit arithmetic. BigInt arithmetic allocates on every operation (Node 20): a scratch word
// converts a state to its two halves and back, so a take allocates only the BigInts Atomics needs.
import * as layout from './layout.js';

// Imported bindings are live: V8 loads one from its module's cell, with a check that it is
// initialized, at every use, and cannot fold it into optimized code; it folds this module's own
// constants. So the hot paths read copies.
const { HI32, LO32 } = layout;

const scratch64 = new BigUint64Array(1);
const scratch32 = new Int32Array(scratch64.buffer);

/** Bits of the generation's shift within the high half (the tag's high bits are below it). */
const GEN_SHIFT_HI = 4;

/** The fields of the state last given to `split()`. */
export const fields = { remaining: 0, tag: 0, generation: 0 };
/** The same object, for this module's functions: an exported binding is read through its cell, a local one is folded. */
const out = fields;

/** Splits `state` into `fields`. */
export function split(state: bigint): void {
  scratch64[0] = state;
  const lo = scratch32[LO32] ?? 0;
  const hi = scratch32[HI32] ?? 0;
  out.remaining = lo & 0x7fffffff;
  out.tag = (lo >>> 31) | ((hi & 0xf) << 1);
  out.generation = hi >>> GEN_SHIFT_HI;
}

/** The state of `remaining` units at `generation` written by tag `tag` (lane + 1; 0 for none). */
export function join(generation: number, tag: number, remaining: number): bigint {
  scratch32[LO32] = remaining | ((tag & 1) << 31);
  scratch32[HI32] = (generation << GEN_SHIFT_HI) | (tag >>> 1);
  return scratch64[0] ?? 0n;
}

/** The high half of a state of `generation` with no tag, for plain 32-bit writes. */
export function highHalf(generation: number): number {
  return generation << GEN_SHIFT_HI;
}
