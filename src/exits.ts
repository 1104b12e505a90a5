// Worker death: when a thread exits (crash, process.exit(), terminate(), or a normal end) while it
// holds tasks, those tasks fail with WorkerExitedError and their units are completed, so no waiter
// hangs. No code on the dying thread can be relied on, so the sweep runs elsewhere: in the thread
// that created the worker (Node's 'worker' event), which also posts a notice on the private channel
// of every tree it knows, so that threads holding trees it does not know sweep those too.
import process from 'node:process';
import { BroadcastChannel, threadId, type Worker } from 'node:worker_threads';
import { markCancelled } from './cancel.js';
import { chainOf, foldAddedCell, lowerPending, recordIn } from './counters.js';
import { WorkerExitedError } from './errors.js';
import { H_LIMIT_WAITERS, H_RUNNING } from './layout.js';
import { type Tree } from './tree.js';

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

function sweepAll(dead: number, exitCode: number | undefined): void {
  for (const { tree } of trees.values()) {
    const live = tree.deref();
    if (live !== undefined) sweep(live, dead, exitCode);
  }
}

/**
 * Fails every task of `tree` held by thread `dead` and completes its units. Safe to run in several
 * threads at once: each unit is taken by exactly one compare-and-exchange.
 */
export function sweep(tree: Tree, dead: number, exitCode: number | undefined): void {
  // Its counts of added units move to the shared counts, so that its cells serve other threads.
  // A group still being created has no cell taken yet.
  for (let id = 1; id <= tree.groups; id++) {
    const record = tree.published(id);
    if (record !== undefined) foldAddedCell(record, dead);
  }
  for (const slot of tree.slots.occupied((s) => s.threadId === dead)) {
    const taken = tree.slots.take(slot.index, slot.state, slot.generation, slot.remaining, Infinity);
    if (taken === 0) continue;
    const chain = chainOf(tree, slot.group);
    const group = tree.names.get(slot.group) ?? `group ${slot.group}`;
    const error = new WorkerExitedError(dead, exitCode, slot.label, taken);
    const origin = slot.label === undefined ? { threadId: dead, group } : { threadId: dead, group, label: slot.label };
    recordIn(tree, chain, slot.group, error, origin, (index, kept) => {
      const record = chain[index];
      if (record !== undefined) markCancelled(record, tree.log, group, error, kept);
    });
    const own = chain[0];
    if (slot.limited && own !== undefined) {
      Atomics.sub(own, H_RUNNING, 1);
      if (Atomics.load(own, H_LIMIT_WAITERS) > 0) Atomics.notify(own, H_RUNNING);
    }
    for (const record of chain) lowerPending(record, taken);
  }
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
  worker.once('exit', (exitCode: number) => {
    announce(dead, exitCode);
  });
});
