// The demo's piscina task module (`npm start`): one pool task counts the primes of one chunk. It
// fans the chunk out in its worker as parts, tasks of a sub-group of the shared group, each counted
// over several turns of the event loop; the CPU loops stop as soon as `cancelled` reads true.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { InjectedFailure, PARTS_DONE, PARTS_STOPPED, PRIMES, countPrimes, draw, type ChunkJob } from '../demo/primes.js';
import type { WaitGroup } from '../src/index.js';
import { tracked } from '../src/integrations/piscina.js';

export default tracked(async (job: ChunkJob, { group }) => {
  // Queued when the shutdown began: nothing to do, and nothing to hold the drain up.
  if (group.cancelled) return;
  const parts = group.sub(`chunk ${job.chunk}`);
  const size = Math.ceil((job.to - job.from) / job.parts);
  for (let part = 0; part < job.parts; part++) {
    const from = Math.min(job.to, job.from + part * size);
    const to = Math.min(job.to, from + size);
    parts.go(() => countPart(job, part, from, to, parts), `chunk ${job.chunk} part ${part}`);
  }
  // The parts' failures are the group's already (a sub-group's failures count in its parent's
  // wait, with their own origins): this pool task only waits for its parts to end.
  await parts.wait().catch(() => undefined);
});

async function countPart(job: ChunkJob, part: number, from: number, to: number, parts: WaitGroup): Promise<void> {
  const failAt = draw(job.seed, job.chunk, part) < job.failRate ? from + Math.floor((to - from) / 2) : undefined;
  let count = 0;
  for (let start = from; start < to; start += job.slice) {
    // Let the worker's event loop breathe between slices: the parts of the chunk take turns.
    if (start > from) await nextTurn();
    const end = Math.min(to, start + job.slice);
    if (failAt !== undefined && failAt < end) checkSlice(job, part, failAt);
    const primes = countPrimes(start, end, () => parts.cancelled);
    // Cancelled: stop here. The part still completes (cancelling is not failing), uncounted.
    if (primes === undefined) {
      Atomics.add(job.totals, PARTS_STOPPED, 1n);
      return;
    }
    count += primes;
  }
  Atomics.add(job.totals, PRIMES, BigInt(count));
  Atomics.add(job.totals, PARTS_DONE, 1n);
}

/** Where `--fail-rate` strikes: a named frame, so the worker's stack says where it happened. */
function checkSlice(job: ChunkJob, part: number, at: number): never {
  throw new InjectedFailure(`injected failure at ${at.toLocaleString('en-US')} (chunk ${job.chunk}, part ${part}; --fail-rate ${job.failRate}, --seed ${job.seed})`);
}
