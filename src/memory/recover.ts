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
 * Finishes or undoes the operation in dead lane `dead`'s journal, then clears it.
 */
export function recover(tree: Tree, dead: Lane): void {
  const word = dead.journal[E_STEP] ?? OP_NONE;
  const op = stepOp(word);
  switch (op) {
    case OP_ADD:
    case OP_ADD_UNDO:
      undoAdd(tree, dead, word);
      break;
    case OP_DONE:
    case OP_DONE_SHARED:
      finishDone(tree, dead, word);
      break;
    case OP_LIMIT:
      finishLimit(tree, dead, word);
      break;
    default:
      break;
  }
  // The dead thread may have cleared a waiter's PENDING_WAITED and died before its notify (two
  // steps of wakeAtZero): wake every waiter of the groups its operation touched. A waiter that
  // wakes for nothing re-checks and sleeps again.
  if (op !== OP_NONE && op !== OP_LIMIT) {
    for (const record of tree.chainOf(dead.journal[E_GROUP] ?? 0)) Atomics.notify(record.i64, H_PENDING / 2);
  }
  dead.journal[E_STEP] = OP_NONE;
}

/** Whether the dead lane's step at `record`'s laned counter `at` happened: its bit moved off the journaled value. */
function happened(dead: Lane, record: GroupRecord, at: number, word: number): boolean {
  return dead.parity(record.i32, at) !== stepParity(word);
}

/**
 * OP_ADD raises levels 0, 1, ... of the chain (phase 0), then counts the units in this lane's cell
 * of each level (PHASE_COUNT); OP_ADD_UNDO takes the cells back down from the top (PHASE_COUNT),
 * then lowers the levels from the top (phase 0). Every step before the journaled one is done,
 * none after it; a laned step's own fate is told by the lane bit, a cell's by E_CELL64.
 */
function undoAdd(tree: Tree, dead: Lane, word: number): void {
  const journal = dead.journal;
  const chain = tree.chainOf(journal[E_GROUP] ?? 0);
  const units = journal[E_UNITS] ?? 0;
  const level = stepLevel(word);
  const undo = stepOp(word) === OP_ADD_UNDO;
  const cell = cellOf(dead.index);
  let top = level;
  if (stepPhase(word) === PHASE_COUNT) {
    const journaled = chain[level];
    const value = dead.journalF64[E_CELL64 / 2] ?? 0;
    // The journaled level's cell, whether or not its step happened; the levels below it are counted.
    if (journaled !== undefined) journaled.f64[cell] = undo ? value - units : value;
    for (let at = level - 1; at >= 0; at--) {
      const record = levelOf(chain, at);
      const counted = record.f64[cell] ?? 0;
      dead.journalF64[E_CELL64 / 2] = counted;
      journal[E_STEP] = step(OP_ADD_UNDO, PHASE_COUNT, at, 0);
      record.f64[cell] = counted - units;
    }
    // Cells are counted only once every level is raised.
    top = chain.length - 1;
  } else {
    const record = chain[level];
    if (record !== undefined) {
      const moved = happened(dead, record, H_PENDING, word);
      top = undo ? (moved ? level - 1 : level) : moved ? level : level - 1;
    }
  }
  for (let at = top; at >= 0; at--) {
    const raised = levelOf(chain, at);
    const parity = dead.parity(raised.i32, H_PENDING);
    journal[E_STEP] = step(OP_ADD_UNDO, 0, at, parity);
    Atomics.add(raised.i64, H_PENDING / 2, dead.delta(-units, parity));
    wakeAtZero(raised);
  }
  const slot = journal[E_SLOT] ?? -1;
  const slots = tree.slots;
  // The slot is the dead thread's (it claimed it before the journal named it): empty it, and the
  // sweep gives it back with the thread's other empty slots.
  if (slot >= 0) {
    const owner = slots.ownerOf(slot);
    if (owner.lane === dead.index) slots.storeOwn(slot, owner.generation, 0);
  }
  journal[E_STEP] = OP_NONE;
}

function finishDone(tree: Tree, dead: Lane, word: number): void {
  const journal = dead.journal;
  const op = stepOp(word);
  const slots = tree.slots;
  const slot = journal[E_SLOT] ?? -1;
  const flags = journal[E_FLAGS] ?? 0;
  const entry = journal[E_ENTRY] ?? -1;
  let phase = stepPhase(word);
  let level = stepLevel(word);
  // Whether the journaled step itself happened is only in doubt for laned steps; the take is judged here.
  let checked = false;
  if (phase === PHASE_TAKE) {
    const took = op === OP_DONE ? remainingOf(slots.load(slot)) !== (journal[E_REMAINING] ?? 0) : tookShared(slots.words64(slot), dead);
    if (!took) {
      if (entry >= 0) tree.log.discard(entry, dead.index);
      return;
    }
    phase = PHASE_FAIL;
    level = 0;
    checked = true;
  }
  const units = op === OP_DONE ? (journal[E_UNITS] ?? 0) : unitsTaken(dead);
  const chain = tree.chainOf(journal[E_GROUP] ?? 0);
  const doubt = (record: GroupRecord, at: number): boolean => {
    // Only the first laned step the sweep reaches may have happened already.
    if (checked) return false;
    checked = true;
    return happened(dead, record, at, word);
  };
  if (phase === PHASE_FAIL && (flags & OPF_FAILED) !== 0) {
    if (entry >= 0) tree.log.publish(entry, dead.index);
    for (let at = level; at < chain.length; at++) {
      const record = levelOf(chain, at);
      if (!doubt(record, H_FAILED)) {
        const parity = dead.parity(record.i32, H_FAILED);
        journal[E_STEP] = step(op, PHASE_FAIL, at, parity);
        Atomics.add(record.i64, H_FAILED / 2, dead.up1[parity]);
      }
      if (cancelsOnError(record)) markCancelled(record.i32, tree.log, tree.lane, tree.names.get(record.id) ?? `group ${record.id}`, undefined, entry >= 0 ? entry : undefined);
      wakeFailureWatchers(record);
    }
  }
  if (phase <= PHASE_LIMIT && (flags & OPF_LIMITED) !== 0) {
    const record = levelOf(chain, 0);
    if (!(phase === PHASE_LIMIT && doubt(record, H_RUNNING))) {
      const parity = dead.parity(record.i32, H_RUNNING);
      journal[E_STEP] = step(op, PHASE_LIMIT, 0, parity);
      releaseRunning(record, dead.down1[parity]);
    }
    if (op === OP_DONE && slots.ownerOf(slot).lane === dead.index) slots.setFlag(slot, SLOT_LIMITED, false);
  }
  // A failure that completed no unit (GroupHost#failAlone) lowers nothing.
  if (phase <= PHASE_LOWER && units > 0) {
    for (let at = phase === PHASE_LOWER ? level : 0; at < chain.length; at++) {
      const record = levelOf(chain, at);
      if (phase === PHASE_LOWER && at === level && doubt(record, H_PENDING)) continue;
      const parity = dead.parity(record.i32, H_PENDING);
      journal[E_STEP] = step(op, PHASE_LOWER, at, parity);
      Atomics.add(record.i64, H_PENDING / 2, dead.delta(-units, parity));
      wakeAtZero(record);
    }
  }
  if (op === OP_DONE_SHARED && phase <= PHASE_FREE) {
    const old = dead.journal64[E_OLD64 / 2] ?? 0n;
    if (remainingOf(old) === units) {
      journal[E_STEP] = step(op, PHASE_FREE, 0, 0);
      slots.freeShared(slot, generationOf(old));
    }
  }
}

/** OP_LIMIT phase 0: the dead thread's compare-and-exchange on H_RUNNING; phase 1: a sweep giving it back. */
function finishLimit(tree: Tree, dead: Lane, word: number): void {
  const journal = dead.journal;
  const record = tree.record(journal[E_GROUP] ?? 0);
  const moved = happened(dead, record, H_RUNNING, word);
  if (stepPhase(word) === 0) {
    const slot = journal[E_SLOT] ?? -1;
    // Not taken, or taken and already marked on the task: the task's own sweep gives it back.
    if (!moved || (slot >= 0 && (tree.slots.flags(slot) & SLOT_LIMITED) !== 0 && tree.slots.ownerOf(slot).lane === dead.index)) return;
  } else if (moved) {
    return;
  }
  const parity = dead.parity(record.i32, H_RUNNING);
  journal[E_STEP] = step(OP_LIMIT, 1, 0, parity);
  releaseRunning(record, dead.down1[parity]);
}
