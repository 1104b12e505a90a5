// shared-waitgroup demo (`npm start`, `npm start -- --help`): counts primes on a piscina pool whose
// tasks, and the parts each fans out into inside its worker, are tasks of one shared WaitGroup.
// The group gives the progress (stats()), the cancellation every CPU loop sees (cancelled), the
// drain on Ctrl-C (TrackedPool#shutdown) and every failure with its worker stack and origin.
import { Piscina } from 'piscina';
import { TaskGroupError, WaitGroup, registerErrorClass } from '../src/index.js';
import { TrackedPool } from '../src/integrations/piscina.js';
import { fmt, plural, seconds } from './format.js';
import { parseOptions } from './options.js';
import { InjectedFailure, PARTS_DONE, PARTS_STOPPED, PRIMES, type ChunkJob } from './primes.js';
import { startProgress } from './progress.js';
import { printFailures, printShutdown } from './report.js';

type Cause = 'SIGINT' | 'deadline';

/** Resolves with what stopped the run: Ctrl-C or --deadline. A second Ctrl-C exits at once. */
function interruption(deadline: number | undefined): { stopped: Promise<{ cause: Cause }>; dispose: () => void } {
  let stop: (cause: Cause) => void = () => undefined;
  const stopped = new Promise<{ cause: Cause }>((resolve) => (stop = (cause) => resolve({ cause })));
  const force = (): void => {
    console.log('shutdown: second Ctrl-C, exiting without waiting');
    process.exit(130);
  };
  const onSigint = (): void => {
    process.on('SIGINT', force);
    stop('SIGINT');
  };
  process.once('SIGINT', onSigint);
  const timer = deadline === undefined ? undefined : setTimeout(() => stop('deadline'), deadline);
  return {
    stopped,
    dispose() {
      clearTimeout(timer);
      process.off('SIGINT', onSigint);
      process.off('SIGINT', force);
    },
  };
}

async function settle(wait: Promise<void>): Promise<{ failure: unknown }> {
  try {
    await wait;
    return { failure: undefined };
  } catch (failure) {
    return { failure };
  }
}

const options = parseOptions();
const { chunks, chunkSize, parts, threads } = options;
// Failures of this class thrown in a worker come back as this class here.
registerErrorClass(InjectedFailure);

const units = chunks * (1 + parts);
const group = new WaitGroup({ name: 'primes', cancelOnError: options.failFast, maxGroups: chunks + 1, capacity: Math.min(1 << 20, units) });
// stricterFIFO: chunks start in order (by default piscina sends a task it could not place to the back of its queue).
const pool = new Piscina({ filename: new URL('../workers/demo-task.js', import.meta.url).href, minThreads: threads, maxThreads: threads, atomics: 'async', stricterFIFO: true });
const tracked = new TrackedPool<ChunkJob, undefined>(pool, group);
const totals = new BigInt64Array(new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT));

console.log(`shared-waitgroup demo: counting the primes below ${fmt(chunks * chunkSize)}`);
console.log(`  ${plural(chunks, 'chunk')} of ${plural(chunkSize, 'number')} on ${plural(threads, 'pool thread')}, each fanned out into ${plural(parts, 'part')} in its worker`);
console.log(`  ${fmt(units)} units in one shared group: ${plural(chunks, 'pool task')} + ${plural(chunks * parts, 'part')}${options.failRate > 0 ? `; failure injection: --fail-rate ${options.failRate} --seed ${options.seed}` : ''}`);

const started = performance.now();
const stop = interruption(options.deadline);
const runs: Promise<unknown>[] = [];
for (let chunk = 0; chunk < chunks; chunk++) {
  const from = chunk * chunkSize;
  const job: ChunkJob = { chunk, from, to: from + chunkSize, parts, slice: options.slice, failRate: options.failRate, seed: options.seed, totals };
  // A pool-level failure (a destroyed pool, a dead worker) is already a failure of the group, which reports it.
  runs.push(tracked.run(job, { label: `chunk ${chunk}` }).catch(() => undefined));
}
const progress = startProgress(group, units, started);

const outcome = await Promise.race([settle(group.wait()), stop.stopped]);
const counted = (): string => {
  const stopped = Number(Atomics.load(totals, PARTS_STOPPED));
  const midway = stopped > 0 ? ` (${plural(stopped, 'part')} stopped mid-count by the cancellation)` : '';
  return `${fmt(Atomics.load(totals, PARTS_DONE))} of ${plural(chunks * parts, 'part')} completed, ${fmt(Atomics.load(totals, PRIMES))} primes in them${midway}`;
};

if ('cause' in outcome) {
  const elapsed = seconds(performance.now() - started);
  progress.stop();
  console.log(`shutdown: ${outcome.cause === 'SIGINT' ? 'Ctrl-C (SIGINT)' : `--deadline ${fmt(options.deadline ?? 0)} ms reached`} after ${elapsed}: cancelling the group and draining the pool (grace ${fmt(options.grace)} ms)`);
  const draining = performance.now();
  const report = await tracked.shutdown({ cancel: true, reason: outcome.cause, deadline: options.grace });
  printShutdown(report, options.grace, performance.now() - draining);
  await Promise.all(runs);
  stop.dispose();
  // Tasks forced down by the pool's destruction are failures too; their stacks are the pool's, not the work's.
  if (report.failure !== undefined) printFailures(report.failure, report.timedOut ? 0 : options.showErrors);
  console.log(`result: stopped by ${outcome.cause} after ${elapsed}; ${counted()}`);
  process.exitCode = outcome.cause === 'SIGINT' ? 130 : 124;
} else {
  const elapsed = seconds(performance.now() - started);
  progress.stop();
  stop.dispose();
  await tracked.shutdown();
  await Promise.all(runs);
  if (outcome.failure === undefined) {
    console.log(`result: ${fmt(Atomics.load(totals, PRIMES))} primes below ${fmt(chunks * chunkSize)} in ${elapsed} (${plural(units, 'unit')}, 0 failed)`);
  } else if (outcome.failure instanceof TaskGroupError) {
    printFailures(outcome.failure, options.showErrors);
    const cancelled = group.cancelled ? '; --fail-fast: the first failure cancelled the rest' : '';
    console.log(`result: ${plural(outcome.failure.errors.length + outcome.failure.omitted, 'task')} failed in ${elapsed}; ${counted()}${cancelled}`);
    process.exitCode = 1;
  } else {
    // The wait has no timeout nor signal: a TaskGroupError is the only rejection it has.
    throw new Error('the wait rejected with something else than a TaskGroupError', { cause: outcome.failure });
  }
}
