// Runs on both sides of a thread boundary: taking units of a shared task, exactly once, in a way
// a sweeper can audit. A take is one compare-and-exchange on the slot state that also writes the
// taker's tag (its lane + 1). If the taker dies right after, its journal holds the state it wrote
// (E_NEW64): the sweeper finds that state still in the slot, or, if another thread has replaced it
// since, a confirmation in the journal (E_CONFIRM64), because whoever replaces a tagged state
// first confirms the take that wrote it. Either way it knows whether the take happened.
import { E_CONFIRM64, E_NEW64, E_OLD64, E_SEQ64, E_SLOT, E_STEP, GENERATION_SHIFT, REMAINING_MASK, S_STATE64, SLOT_WORDS64, TAG_MASK, TAG_SHIFT } from './layout.js';
import type { Lane } from './registry.js';
import { generationOf, remainingOf, tagOf } from './slots.js';

/** The journals of a tree's lanes, by lane index, for confirming another thread's take. */
export type Journals = (lane: number) => Lane;

/**
 * E_NEW64 before a take has chosen its state: all tag bits set, a lane + 1 no thread has, so it
 * never equals a slot state (the state a previous take wrote may still be in the slot).
 */
const NOT_WRITTEN = TAG_MASK;

/** Result of a take: units taken (0 if the task was complete or gone) and the state it left or saw. */
export interface Took {
  taken: number;
  state: bigint;
}

/**
 * Confirms, in lane `lane`'s journal, that its take on slot `index` wrote `state`, if that take is
 * still the one its journal describes. Called before replacing a state tagged by another lane.
 */
export function confirm(journals: Journals, lane: number, index: number, state: bigint): void {
  const other = journals(lane);
  const at = E_CONFIRM64 / 2;
  // Acquire: the journal fields below were written before the confirm word was stored.
  const word = Atomics.load(other.journal64, at);
  if ((word & 1n) !== 0n) return;
  if (Atomics.load(other.journal, E_SLOT) !== index || Atomics.load(other.journal64, E_NEW64 / 2) !== state) return;
  // Fails if that thread has begun another take since (its word names another sequence number).
  Atomics.compareExchange(other.journal64, at, word, word + 1n);
}

/**
 * Takes up to `units` units of the task of `generation` in slot `index`, starting from `expected`
 * (the state the handle last saw). Writes the journal fields a sweeper needs (E_SLOT, E_NEW64,
 * E_CONFIRM64), then `step` (the caller has written the operation's other fields).
 */
export function takeShared(words: BigUint64Array, lane: Lane, journals: Journals, index: number, expected: bigint, generation: number, units: number, step: number): Took {
  const word = index * SLOT_WORDS64 + S_STATE64;
  const tag = BigInt(lane.index + 1) << TAG_SHIFT;
  const seq = ++lane.seq;
  const journal = lane.journal;
  // Before the step names this operation: the previous take's state may still be in its slot.
  lane.journal64[E_NEW64 / 2] = NOT_WRITTEN;
  journal[E_SLOT] = index;
  lane.journalF64[E_SEQ64 / 2] = seq;
  journal[E_STEP] = step;
  // Atomic, so that a confirming thread that reads this sequence number also sees E_SLOT above
  // and, through the slot word it observed, the E_NEW64 written before our compare-and-exchange.
  Atomics.store(lane.journal64, E_CONFIRM64 / 2, BigInt(seq) * 2n);
  // A fresh reading, not the handle's last one: a state computed from a stale one may be a state
  // this very thread wrote before through another handle of the task, and a sweeper would then
  // take the failed attempt for a take that happened. From a fresh reading, the state we write
  // carries our tag and a remainder no take has left yet.
  let current = expected === Atomics.load(words, word) ? expected : Atomics.load(words, word);
  for (;;) {
    const left = remainingOf(current);
    if (left === 0 || generationOf(current) !== generation) return { taken: 0, state: current };
    const taken = Math.min(units, left);
    const rest = left - taken;
    // The last unit advances the generation: no handle of this task can match the slot again.
    const next =
      rest === 0 ? (BigInt(generation + 1) << GENERATION_SHIFT) | tag : (current & ~(TAG_MASK | REMAINING_MASK)) | tag | BigInt(rest);
    lane.journal64[E_OLD64 / 2] = current;
    lane.journal64[E_NEW64 / 2] = next;
    const previous = tagOf(current);
    if (previous !== 0 && previous !== lane.index + 1) confirm(journals, previous - 1, index, current);
    const seen = Atomics.compareExchange(words, word, current, next);
    if (seen === current) return { taken, state: next };
    current = seen;
  }
}

/** Units the take a dead thread's journal describes took, if it happened. */
export function unitsTaken(lane: Lane): number {
  return remainingOf(lane.journal64[E_OLD64 / 2] ?? 0n) - remainingOf(lane.journal64[E_NEW64 / 2] ?? 0n);
}

/**
 * Whether the take a dead thread's journal describes happened: its state is still in the slot, or
 * the thread that replaced it confirmed it. Read the slot before the confirmation: a replacer
 * confirms before it replaces.
 */
export function tookShared(words: BigUint64Array, lane: Lane): boolean {
  const index = lane.journal[E_SLOT] ?? -1;
  if (index < 0) return false;
  const written = lane.journal64[E_NEW64 / 2] ?? 0n;
  if (Atomics.load(words, index * SLOT_WORDS64 + S_STATE64) === written) return true;
  const confirmed = Atomics.load(lane.journal64, E_CONFIRM64 / 2);
  return (confirmed & 1n) !== 0n && confirmed === BigInt(lane.journalF64[E_SEQ64 / 2] ?? 0) * 2n + 1n;
}
