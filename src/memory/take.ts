// Runs on both sides of a thread boundary: taking units of a shared task, exactly once, in a way
// a sweeper can audit. A take is one compare-and-exchange on the slot state that also writes the
// taker's tag (its lane + 1). If the taker dies right after, its journal holds the state it wrote
// (E_NEW64): the sweeper finds that state still in the slot, or, if another thread has replaced it
// since, a confirmation in the journal (E_CONFIRM), because whoever replaces a tagged state
// first confirms the take that wrote it. Either way it knows whether the take happened.
import * as layout from './layout.js';
import type { Lane } from './registry.js';
import * as slotsModule from './slots.js';
import * as states from './state.js';

// Imported bindings are live: V8 loads one from its module's cell, with a check that it is
// initialized, at every use, and cannot fold it into optimized code; it folds this module's own
// constants. So the hot paths read copies.
const { fields, join, split } = states;
const { remainingOf } = slotsModule;
const { E_CONFIRM, E_NEW64, E_OLD64, E_SEQ, E_SLOT, E_STEP, GENERATIONS, S_ACK64, S_STATE64, TAG_MASK, slotByte } = layout;

/** The journals of a tree's lanes, by lane index, for confirming another thread's take. */
export type Journals = (lane: number) => Lane;

/**
 * E_NEW64 before a take has chosen its state: generation 0, tag 31 (all tag bits), no units left.
 * No slot ever holds it, so it never equals the state in the slot (the state a previous take wrote
 * may still be there): a state with a tag and no units left is written only by a task's last
 * take, which moves the generation on, to 1 or more, because the last generation of a slot keeps
 * its number instead of wrapping to 0 (the slot retires). Tag 31 alone would not do: it is lane
 * 30's.
 */
const NOT_WRITTEN = TAG_MASK;

/**
 * Confirms, in lane `lane`'s journal, that its take on slot `index` wrote `state`, if that take is
 * still the one its journal describes. Called before replacing a state tagged by another lane.
 */
export function confirm(journals: Journals, lane: number, index: number, state: bigint): void {
  const other = journals(lane);
  // Acquire: the journal fields below were written before the confirm word was stored.
  const word = Atomics.load(other.journal, E_CONFIRM);
  if ((word & 1) !== 0) return;
  if (Atomics.load(other.journal, E_SLOT) !== index || Atomics.load(other.journal64, E_NEW64 / 2) !== state) return;
  // Fails if that thread has begun another take since (its word names another sequence number).
  Atomics.compareExchange(other.journal, E_CONFIRM, word, word | 1);
}

/**
 * What the last takeShared() in this thread left for its handle, read right after the call (an
 * object per take would be allocated): the units the task has left, 0 once it is complete or gone.
 */
export const took = { remaining: 0 };
/** The same object, for this module's functions: an exported binding is read through its cell, a local one is folded. */
const result = took;

/**
 * Takes up to `units` units of the task of `generation` in slot `index`. Writes the journal fields
 * a sweeper needs (E_SLOT, E_OLD64, E_NEW64, E_CONFIRM), then `step` (the caller has written the
 * operation's other fields).
 * @returns units taken (0 if the task was complete or gone); see `took` for what the task has left
 */
export function takeShared(words: BigUint64Array, lane: Lane, journals: Journals, index: number, generation: number, units: number, step: number): number {
  const base = slotByte(index) >> 3;
  const word = base + S_STATE64;
  const tag = lane.index + 1;
  const seq = (lane.seq = (lane.seq + 1) & 0x3fffffff);
  const journal = lane.journal;
  const journal64 = lane.journal64;
  // Before the step names this operation: the previous take's state may still be in its slot.
  journal64[E_NEW64 / 2] = NOT_WRITTEN;
  journal[E_SLOT] = index;
  journal[E_SEQ] = seq;
  journal[E_STEP] = step;
  // Atomic, so that a confirming thread that reads this sequence number also sees E_SLOT above
  // and, through the slot word it observed, the E_NEW64 written before our compare-and-exchange.
  Atomics.store(journal, E_CONFIRM, seq << 1);
  // Where to start. Not the handle's last reading: a state computed from a stale one may be a
  // state this very thread wrote before through another handle of the task, and if the attempt
  // failed and we died, a sweeper would take it for a take that happened. The state this thread
  // wrote last into this slot serves, with no atomic step: within a generation remainders only go
  // down, so the state computed from our last one, with our tag and a lower remainder, is one the
  // slot never held. If another thread has taken since, the compare-and-exchange fails and returns
  // a fresh reading. Otherwise (our last take was elsewhere, or of another task) a fresh reading.
  let current: bigint;
  let left: number;
  let previous: number;
  if (lane.lastSlot === index && lane.lastGeneration === generation) {
    left = lane.lastRemaining;
    previous = tag;
    current = join(generation, tag, left);
  } else {
    current = Atomics.load(words, word);
    split(current);
    left = fields.remaining;
    previous = fields.tag;
    if (fields.generation !== generation) left = 0;
  }
  for (;;) {
    if (left === 0) {
      result.remaining = 0;
      return 0;
    }
    const taken = units < left ? units : left;
    const rest = left - taken;
    // The last unit advances the generation: no handle of this task can match the slot again.
    // In the slot's last generation it stays (the slot retires, Slots#freeShared): wrapping to 0
    // could write NOT_WRITTEN itself.
    const next = rest === 0 ? join(generation + 1 < GENERATIONS ? generation + 1 : generation, tag, 0) : join(generation, tag, rest);
    journal64[E_OLD64 / 2] = current;
    journal64[E_NEW64 / 2] = next;
    // The previous taker acknowledges its take in the slot right after it: only a taker caught
    // between its compare-and-exchange and that acknowledgement (or dead there) needs confirming.
    if (previous !== 0 && previous !== tag && words[base + S_ACK64] !== current) confirm(journals, previous - 1, index, current);
    const seen = Atomics.compareExchange(words, word, current, next);
    if (seen === current) {
      // Our own acknowledgement: the journal first (what a sweeper reads), then the slot.
      journal[E_CONFIRM] = (seq << 1) | 1;
      words[base + S_ACK64] = next;
      lane.lastSlot = rest === 0 ? -1 : index;
      lane.lastGeneration = generation;
      lane.lastRemaining = rest;
      result.remaining = rest;
      return taken;
    }
    current = seen;
    split(current);
    left = fields.generation === generation ? fields.remaining : 0;
    previous = fields.tag;
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
  if (Atomics.load(words, (slotByte(index) >> 3) + S_STATE64) === written) return true;
  return Atomics.load(lane.journal, E_CONFIRM) === (((lane.journal[E_SEQ] ?? 0) << 1) | 1);
}
