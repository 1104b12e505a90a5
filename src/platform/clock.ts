// Runs on both sides of a thread boundary: the time stamp of each added task. Date.now() costs
// about as much as the rest of add() together, so one reading serves a burst of adds: it is taken
// again after at most STAMP_USES adds, at the next microtask checkpoint, or after a blocking wait.

/** Adds that may share one reading of the clock. */
const STAMP_USES = 256;

let stamp = 0;
let uses = 0;
/** An expire() is queued: a long synchronous burst must not queue one per reading. */
let queued = false;

function expire(): void {
  uses = 0;
  queued = false;
}

/** The current time in ms since the epoch, as of at most a few microseconds ago. */
export function now(): number {
  // Small on purpose, so that V8 inlines it into add(); the reading is taken out of line.
  return uses-- > 0 ? stamp : read();
}

function read(): number {
  stamp = Date.now();
  uses = STAMP_USES - 1;
  if (!queued) {
    queued = true;
    queueMicrotask(expire);
  }
  return stamp;
}

/** Forgets the cached reading: the thread is about to block, so it will be stale afterwards. */
export function expireClock(): void {
  uses = 0;
}
