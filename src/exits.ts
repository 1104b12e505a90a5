// Worker death: when a thread exits (crash, process.exit(), terminate(), or a normal end) while it
// holds tasks, those tasks fail with WorkerExitedError and their units are completed, so no waiter
// hangs. No code on the dying thread can be relied on, so the sweep runs elsewhere: in the thread
// that created the worker (Node's 'worker' event), which also posts a notice on the private channel
// of every tree it knows, so that threads holding trees it does not know sweep those too.
import process from 'node:process';
import { BroadcastChannel, threadId, type Worker } from 'node:worker_threads';
import { finishCancel, markCancelled } from './cancel.js';
import { WorkerExitedError, type FailureOrigin } from './errors.js';
import { GroupHost } from './host.js';
import { E_THREAD, LANES, MAX_UNITS, SLOT_LIMITED } from './layout.js';
import { creatorOf, noteChild } from './lineage.js';
import { recover } from './recover.js';
import { liveOwner, sweepingOwner } from './registry.js';
import type { Tree } from './tree.js';

const NOTICE = 'shared-waitgroup/exit';
const NOTICE_VERSION = 1;

interface ExitNotice {
  readonly kind: typeof NOTICE;
  readonly v: number;
  readonly threadId: number;
  readonly exitCode: number | undefined;
}

/** This thread's trees, by key, and the private channel it listens on for each. */
const trees = new Map<string, { tree: WeakRef<Tree>; channel: BroadcastChannel }>();
const closeOnCollect = new FinalizationRegistry<string>((key) => {
  trees.get(key)?.channel.close();
  trees.delete(key);
});

/** A notice as posted by `announce()`; anything else on the channel is ignored. */
function parseNotice(data: unknown): ExitNotice | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const notice = data as Partial<ExitNotice>;
  if (notice.kind !== NOTICE || notice.v !== NOTICE_VERSION) return undefined;
  const { threadId: dead, exitCode } = notice;
  // A notice about this very thread is forged or stale: we are alive. Thread 0 is the main thread.
  if (typeof dead !== 'number' || !Number.isInteger(dead) || dead < 1 || dead === threadId) return undefined;
  if (exitCode !== undefined && (typeof exitCode !== 'number' || !Number.isInteger(exitCode))) return undefined;
  return { kind: NOTICE, v: NOTICE_VERSION, threadId: dead, exitCode };
}

/**
 * Starts sweeping `tree` when threads exit, and listening on its private channel. Called once per
 * tree per thread. The channel never keeps the thread alive.
 */
export function watchTree(tree: Tree): void {
  const channel = new BroadcastChannel(tree.secret);
  // The handler holds no tree: the channel lives in a module map, and must not pin the tree.
  channel.onmessage = (event: unknown) => {
    const notice = parseNotice((event as { data?: unknown }).data);
    if (notice !== undefined) sweepAll(notice.threadId, notice.exitCode);
  };
  channel.unref();
  trees.set(tree.key, { tree: new WeakRef(tree), channel });
  closeOnCollect.register(tree, tree.key);
}

/**
 * Threads this thread has swept up after lately: the same exit comes as one notice per tree channel
 * this thread shares with the announcer, and a sweep of every tree once is enough (thread ids are
 * never reused). Bounded: the oldest are forgotten.
 */
const swept = new Set<number>();
const SWEPT_KEPT = 1024;

function sweepAll(dead: number, exitCode: number | undefined): void {
  if (swept.has(dead)) return;
  swept.add(dead);
  if (swept.size > SWEPT_KEPT) swept.delete(swept.values().next().value ?? dead);
  for (const { tree } of trees.values()) {
    const live = tree.deref();
    if (live !== undefined) sweep(live, dead, exitCode);
  }
}

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

function announce(dead: number, exitCode: number | undefined): void {
  sweepAll(dead, exitCode);
  const notice: ExitNotice = { kind: NOTICE, v: NOTICE_VERSION, threadId: dead, exitCode };
  for (const { channel } of trees.values()) channel.postMessage(notice);
}

// Registered when the module loads, so workers created after `import 'shared-waitgroup'` are
// seen, piscina's included. The thread id must be read now: it reads -1 once the worker exited.
process.on('worker', (worker: Worker) => {
  const dead = worker.threadId;
  // Before the worker runs any code: it looks itself up when it first uses a tree.
  noteChild(dead);
  worker.once('exit', (exitCode: number) => {
    announce(dead, exitCode);
  });
});
