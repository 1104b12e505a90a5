// Hearing of thread exits. A worker's exit (crash, process.exit(), terminate(), or a normal end)
// is seen only by the thread that created it (Node's 'worker' event). That thread notes the exit in
// the lineage table, sweeps its own trees, and posts a notice for the threads holding trees it does
// not know. Notices go only where they are needed: each shared tree listens on one of 64 exit
// channels, picked from its key, and each thread's lineage entry says which channels its trees
// (and those of the threads it created) listen on. So the exit of a thread that shared nothing
// posts nothing, and a thread that holds no tree on those channels is not woken. A tree is watched
// from its first share or its attachment in a thread (memory/tree.ts): a tree that was never shared
// holds no other thread's work, and costs no channel nor WeakRef.
//
// Channel names are public. A notice is believed only when the lineage table says its thread has
// exited (its creator writes that before it posts): one about a live thread is ignored.
// What a sweep does is the memory layer's business (memory/sweep.ts); this module only calls it.
import process from 'node:process';
import { BroadcastChannel, threadId, type Worker } from 'node:worker_threads';
import { channelsOf, hasExited, noteChild, noteExited, noteHolds } from './lineage.js';

const NOTICE = 'shared-waitgroup/exit';
const NOTICE_VERSION = 2;
/** Exit channels: a power of two, as many as the lineage table's mask has bits. */
const CHANNELS = 64;

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
  readonly channel: number;
}

/** This thread's watched trees, by key. */
const trees = new Map<string, Watched>();
/** The exit channels this thread listens on, with how many of its trees use each. */
const listening = new Map<number, { readonly port: BroadcastChannel; users: number }>();

const forgetOnCollect = new FinalizationRegistry<string>((key) => {
  const entry = trees.get(key);
  // The key may since name a newer object of the same tree (attached again after the first died).
  if (entry === undefined || entry.target.deref() !== undefined) return;
  trees.delete(key);
  release(entry.channel);
});

/** The BroadcastChannel name of exit channel `index`. */
const nameOf = (index: number): string => `shared-waitgroup/exits/${index}`;

/**
 * The exit channel of a tree: which of the 64 channels hears of the exits that may concern it.
 * @param key - the tree's key
 * @returns the channel's index and its BroadcastChannel name
 */
export function exitChannelOf(key: string): { readonly index: number; readonly name: string } {
  // FNV-1a: keys are random already; this only folds the string to a channel.
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  const index = (hash >>> 0) & (CHANNELS - 1);
  return { index, name: nameOf(index) };
}

/** A notice as posted by `announce()`; anything else on a channel is ignored. */
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

function listen(index: number, name: string): void {
  const known = listening.get(index);
  if (known !== undefined) {
    known.users++;
    return;
  }
  const port = new BroadcastChannel(name);
  // The handler holds no tree: trees live in a module map, and the channel must not pin them.
  port.onmessage = (event: unknown) => {
    const notice = parseNotice((event as { data?: unknown }).data);
    // Only a thread the lineage table knows to have exited is swept: a notice naming a live
    // thread (forged: the channels' names are public) is ignored.
    if (notice !== undefined && hasExited(notice.threadId)) sweepAll(notice.threadId, notice.exitCode);
  };
  port.unref();
  listening.set(index, { port, users: 1 });
}

function release(index: number): void {
  const known = listening.get(index);
  if (known === undefined || --known.users > 0) return;
  known.port.close();
  listening.delete(index);
}

/**
 * Calls `sweep(target, dead, exitCode)` when a thread that may have used `target` exits, from now
 * on, while `target` lives. Called once per tree per thread, when the tree becomes visible to other
 * threads (shared, or attached from a shared value). Nothing here keeps `target` or the thread alive.
 * @param target - the object swept (a tree); held weakly
 * @param key - its identity: a second call with the same key replaces the first
 * @param sweep - what to do for a thread that exited; a module-level function, so that it pins nothing
 */
export function watch<T extends object>(target: T, key: string, sweep: Sweeper<T>): void {
  const { index, name } = exitChannelOf(key);
  // Before any task of this thread can be in the tree: an exit after this posts to `index`.
  noteHolds(index);
  const previous = trees.get(key);
  listen(index, name);
  if (previous !== undefined) release(previous.channel);
  trees.set(key, { target: new WeakRef(target), sweep: sweep as Sweeper<object>, channel: index });
  forgetOnCollect.register(target, key);
}

/**
 * How many trees this thread watches for exits (for tests: a private tree is never watched).
 * @internal
 * @returns the number of watched trees
 */
export function watching(): number {
  return trees.size;
}

/**
 * Threads this thread has swept up after lately: the same exit may come as one notice per channel
 * this thread listens on, and a sweep of every tree concerned once is enough (thread ids are never
 * reused). Bounded: the oldest are forgotten.
 */
const swept = new Set<number>();
const SWEPT_KEPT = 1024;

function sweepAll(dead: number, exitCode: number | undefined): void {
  if (swept.has(dead)) return;
  swept.add(dead);
  if (swept.size > SWEPT_KEPT) swept.delete(swept.values().next().value ?? dead);
  const concerned = new Set(channelsOf(dead));
  if (concerned.size === 0) return;
  for (const { target, sweep, channel } of trees.values()) {
    if (!concerned.has(channel)) continue;
    const live = target.deref();
    if (live !== undefined) sweep(live, dead, exitCode);
  }
}

function announce(dead: number, exitCode: number | undefined): void {
  // First: every thread that hears of this exit checks it here.
  noteExited(dead);
  sweepAll(dead, exitCode);
  const notice: ExitNotice = { kind: NOTICE, v: NOTICE_VERSION, threadId: dead, exitCode };
  for (const index of channelsOf(dead)) {
    const known = listening.get(index)?.port;
    // postMessage hands the notice to every other listener of the name before it returns, so a
    // channel opened only to post may close at once.
    const port = known ?? new BroadcastChannel(nameOf(index));
    port.postMessage(notice);
    if (known === undefined) port.close();
  }
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
