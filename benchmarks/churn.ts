// Group churn: a server that makes one group per request. `groups` groups are created and dropped,
// `inFlight` of them alive at once, each doing what a request handler does: add() a task, let an
// I/O callback (setImmediate) complete it, and await wait(), which sleeps until it does. Mode
// 'tight' is the same without I/O: create, add, done, await wait(), await a resolved promise, drop, so that the
// whole run is one job of the event loop (a WeakRef made per group would keep every group alive
// until it ends). Nothing calls gc(): the groups must be collectable as the garbage collector sees
// fit, and cost no memory mapping meanwhile. Peaks are sampled every `every` groups: the process's
// memory mappings (lines of /proc/self/maps; Linux fails allocations past vm.max_map_count, 65,530
// by default) and RSS.
import { readFileSync } from 'node:fs';
import { WaitGroup } from '../src/index.js';

/** 'io' and 'tight': a group per request (see above); 'bare': the same requests without a group, the baseline. */
export type ChurnMode = 'io' | 'tight' | 'bare';

export interface ChurnOptions {
  readonly mode?: ChurnMode;
  readonly groups: number;
  readonly inFlight: number;
  /** Sample mappings and RSS every this many groups. */
  readonly every?: number;
  /** Stop early once the process holds this many mappings (a crash would follow). */
  readonly stopAtMaps?: number;
}

export interface ChurnResult {
  readonly mode: ChurnMode;
  readonly groups: number;
  readonly inFlight: number;
  /** Groups completed before the run stopped (all of them unless `stopped`). */
  readonly completed: number;
  readonly seconds: number;
  readonly groupsPerSecond: number;
  readonly mapsBefore: number;
  readonly peakMaps: number;
  readonly rssBeforeMB: number;
  readonly peakRssMB: number;
  /** True when the run stopped at `stopAtMaps`. */
  readonly stopped: boolean;
  readonly node: string;
}

/** Memory mappings of this process now. */
export function mappings(): number {
  let lines = 0;
  const text = readFileSync('/proc/self/maps', 'latin1');
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}

const MB = 1024 * 1024;

/** One request: a group, a task its I/O completes, a wait that sleeps until then. */
async function request(): Promise<void> {
  const group = new WaitGroup({ name: 'request' });
  const task = group.add('handler');
  setImmediate(() => task.done());
  await group.wait();
}

/** One request as 'io' makes it, without a group: its I/O callback resolves the promise it awaits. */
async function bare(): Promise<void> {
  await new Promise<void>((resolve) => {
    setImmediate(resolve);
  });
}

/** One request with no I/O: it never leaves the current job. */
async function tight(): Promise<void> {
  const group = new WaitGroup({ name: 'request' });
  group.add('handler').done();
  await group.wait();
  await Promise.resolve();
}

export async function churn(options: ChurnOptions): Promise<ChurnResult> {
  const { groups, inFlight } = options;
  const mode = options.mode ?? 'io';
  const serve = { io: request, tight, bare }[mode];
  const every = options.every ?? 1000;
  const stopAt = options.stopAtMaps ?? 30_000;
  const mapsBefore = mappings();
  const rssBefore = process.memoryUsage.rss();
  let peakMaps = mapsBefore;
  let peakRss = rssBefore;
  let started = 0;
  let completed = 0;
  let stopped = false;
  const sample = (): void => {
    peakMaps = Math.max(peakMaps, mappings());
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (peakMaps >= stopAt) stopped = true;
  };
  const begin = performance.now();
  // `inFlight` handlers, each serving one request after another: `inFlight` groups alive at once.
  const handler = async (): Promise<void> => {
    while (!stopped && started < groups) {
      started++;
      await serve();
      if (++completed % every === 0) sample();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, handler));
  sample();
  const seconds = (performance.now() - begin) / 1000;
  return {
    mode,
    groups,
    inFlight,
    completed,
    seconds,
    groupsPerSecond: completed / seconds,
    mapsBefore,
    peakMaps,
    rssBeforeMB: rssBefore / MB,
    peakRssMB: peakRss / MB,
    stopped,
    node: process.version,
  };
}
