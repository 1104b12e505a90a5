// piscina task module of the service example (examples/service.ts): the CPU work of one request,
// run as the group task TrackedPool#run registered. `crash` kills the worker thread mid-request,
// so that the example can show a worker's death reported by Service#close().
import process from 'node:process';
import { tracked } from '../src/integrations/piscina.js';

/** A parsed request line: `primes N` or `crash`. */
export type Job = { readonly kind: 'primes'; readonly n: number } | { readonly kind: 'crash' };

/** How many primes are <= n (sieve of Eratosthenes). */
export function countPrimes(n: number): number {
  if (n < 2) return 0;
  const composite = new Uint8Array(n + 1);
  let count = 0;
  for (let i = 2; i <= n; i++) {
    if (composite[i] === 1) continue;
    count++;
    for (let j = i * i; j <= n; j += i) composite[j] = 1;
  }
  return count;
}

export default tracked((job: Job): string => {
  // A crash, not a throw: the thread dies holding its task, which the group fails with WorkerExitedError.
  if (job.kind === 'crash') process.exit(1);
  return `${job.n} ${countPrimes(job.n)}`;
});
