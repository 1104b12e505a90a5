// Runs on both sides of a thread boundary: finishing or undoing the operation a dead thread had in
// flight, from its journal. The sweeper acts as the dead thread: it moves that thread's journal
// and flips that thread's lane bit with every step it makes on its behalf, so a sweeper that dies
// in turn leaves a journal the next one resumes from, and no step is done twice. An add() that
// did not return is undone (its task never existed for anyone); a completion whose take happened
// is finished (failure published and counted, `limit` slot given back, counts lowered); a
// completion whose take did not happen leaves the task to be failed with the thread's other tasks.
// See docs/protocol.md for the invariants each case keeps.
import { markCancelled } from './cancel.js';
import { cancelsOnError, cellOf, levelOf, wakeAtZero, wakeFailureWatchers, type GroupRecord } from './counters.js';
import { releaseRunning } from './host.js';
import {
  E_CELL64,
  E_ENTRY,
  E_FLAGS,
  E_GROUP,
  E_OLD64,
  E_REMAINING,
  E_SLOT,
  E_STEP,
  E_UNITS,
  H_FAILED,
  H_LIMIT_WAITERS,
  H_PENDING,
  H_RUNNING,
  OPF_FAILED,
  OPF_LIMITED,
  OP_ADD,
  OP_ADD_UNDO,
  OP_DONE,
  OP_DONE_SHARED,
  OP_LIMIT,
  OP_NONE,
  PHASE_COUNT,
  PHASE_FAIL,
  PHASE_FREE,
  PHASE_LIMIT,
  PHASE_LOWER,
  PHASE_TAKE,
  SLOT_LIMITED,
  step,
  stepLevel,
  stepOp,
  stepParity,
  stepPhase,
} from './layout.js';
import type { Lane } from './registry.js';
import { generationOf, remainingOf } from './slots.js';
import { tookShared, unitsTaken } from './take.js';
import type { Tree } from './tree.js';

/**
 * What recovery must read, besides the journal, before `recoveryPlan()` can decide: whether the
 * journaled step is a take (PHASE_TAKE of a completion), and which laned counter (H_PENDING,
 * H_FAILED, H_RUNNING; -1 for none) at which level of the chain the journaled step changes, whose
 * dead lane bit tells whether that step happened. Pure: a function of the journal's words.
 * @param word - E_STEP
 * @param flags - E_FLAGS
 * @param units - the operation's units: E_UNITS, or for OP_DONE_SHARED `unitsTaken()`
 */
export function recoveryNeeds(word: number, flags: number, units: number): { readonly take: boolean; readonly counter: number; readonly level: number } {
  const op = stepOp(word);
  const phase = stepPhase(word);
  const level = stepLevel(word);
  const none = { take: false, counter: -1, level: 0 };
  switch (op) {
    case OP_ADD:
    case OP_ADD_UNDO:
      return phase === PHASE_COUNT ? none : { take: false, counter: H_PENDING, level };
    case OP_DONE:
    case OP_DONE_SHARED:
      // Only the first laned step the sweep reaches may have happened already: the journaled one.
      if (phase === PHASE_TAKE) return { take: true, counter: -1, level: 0 };
      if (phase === PHASE_FAIL) return (flags & OPF_FAILED) !== 0 ? { take: false, counter: H_FAILED, level } : none;
      if (phase === PHASE_LIMIT) return (flags & OPF_LIMITED) !== 0 ? { take: false, counter: H_RUNNING, level: 0 } : none;
      if (phase === PHASE_LOWER) return units > 0 ? { take: false, counter: H_PENDING, level } : none;
      return none;
    case OP_LIMIT:
      return { take: false, counter: H_RUNNING, level: 0 };
    default:
      return none;
  }
}

/** What the sweeper has read for `recoveryPlan()`: the journal's words, and the facts `recoveryNeeds()` asked for. */
export interface RecoveryFacts {
  /** E_STEP. */
  readonly word: number;
  /** E_FLAGS (OPF_*). */
  readonly flags: number;
  /** The operation's units: E_UNITS, or for OP_DONE_SHARED `unitsTaken()`. */
  readonly units: number;
  /** Levels of E_GROUP's chain (the group and its ancestors). */
  readonly levels: number;
  /** PHASE_TAKE of a completion: the take happened (OP_DONE: the slot's remaining units are not E_REMAINING; OP_DONE_SHARED: `tookShared()`). */
  readonly took: boolean;
  /** The dead lane's bit in the counter `recoveryNeeds()` names is not the journaled parity: the journaled step happened. */
  readonly moved: boolean;
  /** OP_DONE_SHARED: the remaining units of E_OLD64 (the take took the last unit when they equal `units`). */
  readonly oldRemaining: number;
  /** OP_LIMIT phase 0: the task's slot is marked SLOT_LIMITED and still owned by the dead lane. */
  readonly marked: boolean;
}

/**
 * One step of recovery, each made acting as the dead lane (its journal, its lane bits):
 * - `discard`: the take did not happen: discard the staged failure (E_ENTRY); the task is failed with the thread's others;
 * - `publish`: publish the staged failure (E_ENTRY);
 * - `fail`: at `level` (journal PHASE_FAIL, then +1 H_FAILED, unless `count` is false: the dead thread's own step happened), cancel a group that cancels on error, wake failure watchers;
 * - `release`: journal PHASE_LIMIT, give back the `limit` slot (-1 H_RUNNING at level 0);
 * - `unmark`: OP_DONE: clear the slot's SLOT_LIMITED if the slot is still the dead lane's;
 * - `lower`: journal PHASE_LOWER at `level`, -`units` H_PENDING, wake a flagged waiter at zero;
 * - `free`: journal PHASE_FREE, free the shared task's slot at E_OLD64's generation;
 * - `cell`: OP_ADD(_UNDO) PHASE_COUNT: set the journaled `level`'s cell back from E_CELL64 (less `units` when `undo`);
 * - `uncount`: journal (OP_ADD_UNDO, PHASE_COUNT, `level`) with the cell's value, then the cell -= `units`;
 * - `unraise`: journal (OP_ADD_UNDO, 0, `level`), -`units` H_PENDING, wake a flagged waiter at zero;
 * - `empty`: empty the add's slot if it is still the dead lane's, journal OP_NONE;
 * - `running`: OP_LIMIT: journal phase 1, give back the `limit` slot;
 * - `wake-running`: the dead thread gave back a `limit` slot (its release's bit moved) and may have died before releaseRunning()'s notify: wake the threads asleep until a release (H_LIMIT_WAITERS);
 * - `notify`: wake every waiter of E_GROUP's chain (the dead thread may have cleared a waiter's flag and died before its notify).
 */
export type RecoveryAction =
  | { readonly kind: 'discard' | 'publish' | 'release' | 'unmark' | 'free' | 'empty' | 'running' | 'wake-running' | 'notify' }
  | { readonly kind: 'fail'; readonly level: number; readonly count: boolean }
  | { readonly kind: 'lower' | 'uncount' | 'unraise'; readonly level: number; readonly units: number }
  | { readonly kind: 'cell'; readonly level: number; readonly undo: boolean };

/**
 * The decision of recovery, pure: given the dead lane's journal and what the shared words proved
 * (`RecoveryFacts`), the steps that finish or undo its operation, in order. `recover()` carries
 * them out; the explorer (model/v3/recover.ts) calls this same function and runs each step as
 * its own atomic steps, so that the model checks this very decision.
 *
 * OP_ADD raises levels 0, 1, ... of the chain (phase 0), then counts the units in this lane's cell
 * of each level (PHASE_COUNT); OP_ADD_UNDO takes the cells back down from the top (PHASE_COUNT),
 * then lowers the levels from the top (phase 0). Every step before the journaled one is done, none
 * after it; a laned step's own fate is told by the lane bit, a cell's by E_CELL64: the add is undone.
 * A completion whose take happened is finished (failure published and counted up the chain, `limit`
 * slot given back, counts lowered, a shared task's slot freed) from the journaled step on; one whose
 * take did not happen discards its staged failure. OP_LIMIT phase 0 is the dead thread's
 * compare-and-exchange on H_RUNNING, phase 1 a sweep giving it back.
 */
export function recoveryPlan(facts: RecoveryFacts): RecoveryAction[] {
  const { word } = facts;
  const op = stepOp(word);
  const plan: RecoveryAction[] = [];
  switch (op) {
    case OP_NONE:
      return plan;
    case OP_ADD:
    case OP_ADD_UNDO:
      planUndoAdd(facts, plan);
      break;
    case OP_DONE:
    case OP_DONE_SHARED:
      planFinishDone(facts, plan);
      break;
    case OP_LIMIT: {
      // Phase 0: not taken, or taken and already marked on the task (the task's own sweep gives it back).
      if (stepPhase(word) === 0) return facts.moved && !facts.marked ? [{ kind: 'running' }] : [];
      // Phase 1: a dead sweeper's release, which happened if its bit moved (then maybe not its notify).
      return [{ kind: facts.moved ? 'wake-running' : 'running' }];
    }
    default:
      break;
  }
  plan.push({ kind: 'notify' });
  return plan;
}

function planUndoAdd(facts: RecoveryFacts, plan: RecoveryAction[]): void {
  const { word, units, levels } = facts;
  const level = stepLevel(word);
  const undo = stepOp(word) === OP_ADD_UNDO;
  let top = level;
  if (stepPhase(word) === PHASE_COUNT) {
    // The journaled level's cell, whether or not its step happened; the levels below it are counted.
    if (level < levels) plan.push({ kind: 'cell', level, undo });
    for (let at = level - 1; at >= 0; at--) plan.push({ kind: 'uncount', level: at, units });
    // Cells are counted only once every level is raised.
    top = levels - 1;
  } else if (level < levels) {
    top = undo ? (facts.moved ? level - 1 : level) : facts.moved ? level : level - 1;
  }
  for (let at = top; at >= 0; at--) plan.push({ kind: 'unraise', level: at, units });
  plan.push({ kind: 'empty' });
}

function planFinishDone(facts: RecoveryFacts, plan: RecoveryAction[]): void {
  const { word, flags, units, levels } = facts;
  const op = stepOp(word);
  let phase = stepPhase(word);
  let level = stepLevel(word);
  // Whether the journaled step itself happened is only in doubt for laned steps; the take is judged by `took`.
  let doubted = false;
  if (phase === PHASE_TAKE) {
    if (!facts.took) {
      plan.push({ kind: 'discard' });
      return;
    }
    phase = PHASE_FAIL;
    level = 0;
    doubted = true;
  }
  const doubt = (): boolean => {
    // Only the first laned step the sweep reaches may have happened already.
    if (doubted) return false;
    doubted = true;
    return facts.moved;
  };
  if (phase === PHASE_FAIL && (flags & OPF_FAILED) !== 0) {
    plan.push({ kind: 'publish' });
    for (let at = level; at < levels; at++) plan.push({ kind: 'fail', level: at, count: !doubt() });
  }
  if (phase <= PHASE_LIMIT && (flags & OPF_LIMITED) !== 0) {
    // A release that happened may have died before its notify of the threads waiting for one.
    plan.push({ kind: phase === PHASE_LIMIT && doubt() ? 'wake-running' : 'release' });
    if (op === OP_DONE) plan.push({ kind: 'unmark' });
  }
  // A failure that completed no unit (GroupHost#failAlone) lowers nothing.
  if (phase <= PHASE_LOWER && units > 0) {
    for (let at = phase === PHASE_LOWER ? level : 0; at < levels; at++) {
      if (phase === PHASE_LOWER && at === level && doubt()) continue;
      plan.push({ kind: 'lower', level: at, units });
    }
  }
  if (op === OP_DONE_SHARED && phase <= PHASE_FREE && facts.oldRemaining === units) plan.push({ kind: 'free' });
}

/**
 * Finishes or undoes the operation in dead lane `dead`'s journal (as `recoveryPlan()` decides),
 * then clears it.
 */
export function recover(tree: Tree, dead: Lane): void {
  const journal = dead.journal;
  const word = journal[E_STEP] ?? OP_NONE;
  const op = stepOp(word);
  const slots = tree.slots;
  const slot = journal[E_SLOT] ?? -1;
  const flags = journal[E_FLAGS] ?? 0;
  const group = journal[E_GROUP] ?? 0;
  const chain = op === OP_NONE ? [] : op === OP_LIMIT ? [tree.record(group)] : tree.chainOf(group);
  // OP_DONE_SHARED's units are the take's, read from the journal (meaningful once the take is proved).
  const units = op === OP_DONE_SHARED ? unitsTaken(dead) : (journal[E_UNITS] ?? 0);
  const needs = recoveryNeeds(word, flags, units);
  const journaled = chain[needs.level];
  const facts: RecoveryFacts = {
    word,
    flags,
    units,
    levels: chain.length,
    took: needs.take && (op === OP_DONE ? remainingOf(slots.load(slot)) !== (journal[E_REMAINING] ?? 0) : tookShared(slots.words64(slot), dead)),
    moved: needs.counter >= 0 && journaled !== undefined && happened(dead, journaled, needs.counter, word),
    oldRemaining: op === OP_DONE_SHARED ? remainingOf(dead.journal64[E_OLD64 / 2] ?? 0n) : 0,
    marked: op === OP_LIMIT && stepPhase(word) === 0 && slot >= 0 && (slots.flags(slot) & SLOT_LIMITED) !== 0 && slots.ownerOf(slot).lane === dead.index,
  };
  for (const action of recoveryPlan(facts)) perform(tree, dead, chain, op, action);
  dead.journal[E_STEP] = OP_NONE;
}

/** Whether the dead lane's step at `record`'s laned counter `at` happened: its bit moved off the journaled value. */
function happened(dead: Lane, record: GroupRecord, at: number, word: number): boolean {
  return dead.parity(record.i32, at) !== stepParity(word);
}

/** Carries out one step of `recoveryPlan()` as dead lane `dead`, on the chain of its journaled group. */
function perform(tree: Tree, dead: Lane, chain: readonly GroupRecord[], op: number, action: RecoveryAction): void {
  const journal = dead.journal;
  const slots = tree.slots;
  const slot = journal[E_SLOT] ?? -1;
  const entry = journal[E_ENTRY] ?? -1;
  switch (action.kind) {
    case 'discard':
      if (entry >= 0) tree.log.discard(entry, dead.index);
      return;
    case 'publish':
      if (entry >= 0) tree.log.publish(entry, dead.index);
      return;
    case 'fail': {
      const record = levelOf(chain, action.level);
      if (action.count) {
        const parity = dead.parity(record.i32, H_FAILED);
        journal[E_STEP] = step(op, PHASE_FAIL, action.level, parity);
        Atomics.add(record.i64, H_FAILED / 2, dead.up1[parity]);
      }
      if (cancelsOnError(record)) markCancelled(record.i32, tree.log, tree.lane, tree.names.get(record.id) ?? `group ${record.id}`, undefined, entry >= 0 ? entry : undefined);
      wakeFailureWatchers(record);
      return;
    }
    case 'release':
    case 'running': {
      const record = levelOf(chain, 0);
      const parity = dead.parity(record.i32, H_RUNNING);
      journal[E_STEP] = action.kind === 'release' ? step(op, PHASE_LIMIT, 0, parity) : step(OP_LIMIT, 1, 0, parity);
      releaseRunning(record, dead.down1[parity]);
      return;
    }
    case 'wake-running': {
      const record = levelOf(chain, 0);
      if (Atomics.load(record.i32, H_LIMIT_WAITERS) > 0) Atomics.notify(record.i64, H_RUNNING / 2);
      return;
    }
    case 'unmark':
      if (slots.ownerOf(slot).lane === dead.index) slots.setFlag(slot, SLOT_LIMITED, false);
      return;
    case 'lower':
    case 'unraise': {
      const record = levelOf(chain, action.level);
      const parity = dead.parity(record.i32, H_PENDING);
      journal[E_STEP] = action.kind === 'lower' ? step(op, PHASE_LOWER, action.level, parity) : step(OP_ADD_UNDO, 0, action.level, parity);
      Atomics.add(record.i64, H_PENDING / 2, dead.delta(-action.units, parity));
      wakeAtZero(record);
      return;
    }
    case 'free': {
      const old = dead.journal64[E_OLD64 / 2] ?? 0n;
      journal[E_STEP] = step(op, PHASE_FREE, 0, 0);
      slots.freeShared(slot, generationOf(old));
      return;
    }
    case 'cell': {
      const value = dead.journalF64[E_CELL64 / 2] ?? 0;
      const record = levelOf(chain, action.level);
      record.f64[cellOf(dead.index)] = action.undo ? value - (journal[E_UNITS] ?? 0) : value;
      return;
    }
    case 'uncount': {
      const record = levelOf(chain, action.level);
      const cell = cellOf(dead.index);
      const counted = record.f64[cell] ?? 0;
      dead.journalF64[E_CELL64 / 2] = counted;
      journal[E_STEP] = step(OP_ADD_UNDO, PHASE_COUNT, action.level, 0);
      record.f64[cell] = counted - action.units;
      return;
    }
    case 'empty':
      // The slot is the dead thread's (it claimed it before the journal named it): empty it, and
      // the sweep gives it back with the thread's other empty slots.
      if (slot >= 0) {
        const owner = slots.ownerOf(slot);
        if (owner.lane === dead.index) slots.storeOwn(slot, owner.generation, 0);
      }
      journal[E_STEP] = OP_NONE;
      return;
    case 'notify':
      for (const record of chain) Atomics.notify(record.i64, H_PENDING / 2);
      return;
  }
}
