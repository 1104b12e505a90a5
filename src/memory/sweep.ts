// The sweep: what a live thread does, in one tree, for a thread that has exited (crash,
// process.exit(), terminate(), or a normal end) while it held tasks there. Its tasks fail with
// WorkerExitedError and their units are completed, so no waiter hangs; its in-flight operation is
// finished or undone from its journal (recover.ts). No code on the dying thread can be relied on,
// so this runs elsewhere, when platform/exits.ts hears of the exit.
import { finishCancel, markCancelled } from './cancel.js';
import { WorkerExitedError, type FailureOrigin } from '../errors/errors.js';
import { GroupHost } from './host.js';
import { E_THREAD, LANES, MAX_UNITS, SLOT_LIMITED } from './layout.js';
import { creatorOf } from '../platform/lineage.js';
import { recover } from './recover.js';
import { liveOwner, sweepingOwner } from './registry.js';
import type { Tree } from './tree.js';

/**
 * Sweeps up after thread `dead` in `tree`: finishes or undoes the operation it had in flight,
 * fails every task it held (WorkerExitedError) and completes their units, gives back its empty
 * slots, its staged failures and half-written cancellations, and frees its registry entry. The
 * threads it created, which died with it, are swept too. Costs what the dead thread held: a tree
 * it never used is left after one pass over the registry. Safe to run in several threads at
 * once: the entry is claimed by compare-and-exchange, and a sweeper that dies leaves the entry
 * marked with its own lane, for whoever sweeps it to resume.
 */
export function sweep(tree: Tree, dead: number, exitCode: number | undefined): void {
  const me = tree.lane.index;
  for (let lane = 0; lane < LANES; lane++) {
    if (lane === me) continue;
    if (tree.claimEntry(lane, liveOwner(dead), sweepingOwner(me))) sweepLane(tree, lane, exitCode);
  }
}

function sweepLane(tree: Tree, lane: number, exitCode: number | undefined): void {
  const me = tree.lane.index;
  const dead = tree.journalOf(lane);
  const thread = dead.journal[E_THREAD] ?? -1;
  recover(tree, dead);
  // Sweeps it had begun and not finished (it died sweeping): ours now.
  for (let other = 0; other < LANES; other++) {
    if (other !== me && tree.claimEntry(other, sweepingOwner(lane), sweepingOwner(me))) sweepLane(tree, other, exitCode);
  }
  // Threads it created died with it (Node terminates a worker's workers). A child that registered
  // before its creator's 'worker' event noted it has no parent word yet: the lineage table says.
  for (let other = 0; other < LANES; other++) {
    if (other === me || other === lane) continue;
    const parent = tree.parentEntry(other);
    if (parent !== thread + 1 && !(parent === 0 && creatorOf(tree.threadOf(other)) === thread)) continue;
    const owner = tree.ownerEntry(other);
    if (owner > 0 && tree.claimEntry(other, owner, sweepingOwner(me))) sweepLane(tree, other, undefined);
  }
  const slots = tree.slots;
  slots.ownedBy(lane, (index) => {
    // A reading that raced a shared take of the task (another thread's done()) reads nothing:
    // read again until the slot is either a task or empty at its generation (then given back).
    let held = slots.snapshot(index);
    for (let tries = 0; held === undefined && tries < 1000 && slots.ownerOf(index).lane === lane && !slots.isEmpty(index); tries++) held = slots.snapshot(index);
    if (held === undefined) {
      slots.release(index, lane);
      return;
    }
    const group = tree.names.get(held.group) ?? `group ${held.group}`;
    const error = new WorkerExitedError(thread, exitCode, held.label, held.remaining);
    const host = hostFor(tree, held.group, { threadId: thread, group });
    host.doneShared(index, held.generation, MAX_UNITS, true, error, held.label, (held.flags & SLOT_LIMITED) !== 0);
  });
  tree.log.discardAll(lane);
  for (let id = 1; id <= tree.groups; id++) {
    const record = tree.published(id);
    if (record !== undefined) finishCancel(record.i32, dead);
  }
  tree.freeEntry(lane);
}

/** A counting handle on group `id` of `tree` for the sweep, whose failures name the dead thread. */
function hostFor(tree: Tree, id: number, origin: FailureOrigin): GroupHost {
  const chain = tree.chainOf(id).map((record) => ({ record, name: tree.names.get(record.id) ?? `group ${record.id}` }));
  return new GroupHost({
    tree,
    id,
    chain,
    origin: (label) => (label === undefined ? origin : { ...origin, label }),
    cancel: (level, error, entry) => {
      const link = chain[level];
      if (link !== undefined) markCancelled(link.record.i32, tree.log, tree.lane, link.name, error, entry >= 0 ? entry : undefined);
    },
    share: () => {
      throw new TypeError('a sweep does not share groups');
    },
  });
}
