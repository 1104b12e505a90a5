// Hearing of thread exits. A worker's exit (crash, process.exit(), terminate(), or a normal end)
// is seen only by the thread that created it (Node's 'worker' event). That thread notes the exit in
// the lineage table, sweeps its own trees, and posts a notice on the private channel of every tree
// it knows, so that threads holding trees it does not know sweep those too. A tree is watched from
// its first share or its attachment in a thread (memory/tree.ts): a tree that was never shared
// holds no other thread's work, and costs no channel nor WeakRef. A notice is believed
// only when the lineage table says the thread has exited: one about a live thread is ignored.
// What a sweep does is the memory layer's business (memory/sweep.ts); this module only calls it.
import process from 'node:process';
import { BroadcastChannel, threadId, type Worker } from 'node:worker_threads';
import { hasExited, noteChild, noteExited } from './lineage.js';

const NOTICE = 'shared-waitgroup/exit';
const NOTICE_VERSION = 1;

interface ExitNotice {
  readonly kind: typeof NOTICE;
  readonly v: number;
  readonly threadId: number;
  readonly exitCode: number | undefined;
}

/** What is told of an exit: a thread's object (a tree) and the thread that exited. */
export type Sweeper<T extends object> = (target: T, dead: number, exitCode: number | undefined) => void;

interface Watched {
  readonly target: WeakRef<object>;
  readonly sweep: Sweeper<object>;
  readonly channel: BroadcastChannel;
}

/** This thread's watched trees, by key, and the private channel it listens on for each. */
const trees = new Map<string, Watched>();
const closeOnCollect = new FinalizationRegistry<string>((key) => {
  const entry = trees.get(key);
  // The key may since name a newer object of the same tree (attached again after the first died).
  if (entry === undefined || entry.target.deref() !== undefined) return;
  entry.channel.close();
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
 * Calls `sweep(target, dead, exitCode)` when a thread exits, from now on, while `target` lives,
 * and listens for exit notices on the channel named `secret`. Called once per tree per thread.
 * The channel never keeps the thread alive, and nothing here keeps `target` alive.
 * @param target the object swept (a tree); held weakly
 * @param key its identity: a second call with the same key replaces the first
 * @param secret the name of its private notice channel
 * @param sweep what to do for a thread that exited; a module-level function, so that it pins nothing
 */
export function watch<T extends object>(target: T, key: string, secret: string, sweep: Sweeper<T>): void {
  const channel = new BroadcastChannel(secret);
  // The handler holds no tree: the channel lives in a module map, and must not pin the tree.
  channel.onmessage = (event: unknown) => {
    const notice = parseNotice((event as { data?: unknown }).data);
    // Only a thread the lineage table knows to have exited is swept: a notice naming a live
    // thread (forged, by code that read the channel's name from the tree's memory) is ignored.
    if (notice !== undefined && hasExited(notice.threadId)) sweepAll(notice.threadId, notice.exitCode);
  };
  channel.unref();
  trees.get(key)?.channel.close();
  trees.set(key, { target: new WeakRef(target), sweep: sweep as Sweeper<object>, channel });
  closeOnCollect.register(target, key);
}

/**
 * Trees this thread listens for exit notices of (a channel each): trees it has shared or attached.
 * For tests: a private tree is never watched.
 * @internal
 */
export function watching(): number {
  return trees.size;
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
  for (const { target, sweep } of trees.values()) {
    const live = target.deref();
    if (live !== undefined) sweep(live, dead, exitCode);
  }
}

function announce(dead: number, exitCode: number | undefined): void {
  // First: every thread that hears of this exit checks it here.
  noteExited(dead);
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
