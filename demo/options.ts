// The demo's command line (commander): every option has a default sized for this machine, and
// `--help` says what the demo does and what its exit codes mean.
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';

export interface DemoOptions {
  readonly chunks: number;
  readonly chunkSize: number;
  readonly parts: number;
  readonly slice: number;
  readonly threads: number;
  readonly failRate: number;
  readonly failFast: boolean;
  readonly seed: number;
  /** Stop the run after this many ms (a graceful shutdown, as on Ctrl-C). */
  readonly deadline: number | undefined;
  /** Most ms a shutdown waits for the pool to drain before it forces it down. */
  readonly grace: number;
  readonly showErrors: number;
}

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

function probability(value: string): number {
  const p = Number(value);
  if (value.trim() === '' || !(p >= 0 && p <= 1)) throw new InvalidArgumentError('expected a probability from 0 to 1.');
  return p;
}

const HELP = `
Counts the primes below chunks x chunk-size on a piscina pool. Each pool task is a task of one
shared WaitGroup; inside its worker it fans its chunk out as parts (go() tasks of a sub-group),
counted a slice per turn of the event loop. The progress bar reads the group's stats(), Ctrl-C
cancels the group (the CPU loops see \`cancelled\` at once) and drains the pool, and failures come
back aggregated, with their worker stacks and origins.

Exit codes: 0 success, 1 task failures, 124 --deadline expired, 130 interrupted (Ctrl-C).

Examples:
  npm start
  npm start -- --fail-rate 0.01 --chunks 50
  npm start -- --chunks 2000 --deadline 1500 --grace 0`;

/** Parses `argv` (process.argv by default); on --help or a bad option, prints and exits as commander does. */
export function parseOptions(argv: readonly string[] = process.argv): DemoOptions {
  const program = new Command()
    .name('npm start --')
    .description('shared-waitgroup demo: a CPU-bound job spread over a piscina pool, tracked by one shared WaitGroup.')
    .option('--chunks <n>', 'pool tasks, one chunk of numbers each', integer(1, 60_000), 300)
    .option('--chunk-size <n>', 'numbers per chunk', integer(1, 1_000_000), 100_000)
    .option('--parts <n>', 'parts each chunk is fanned out into, inside its worker', integer(1, 64), 4)
    .option('--slice <n>', 'numbers a part counts per turn of the event loop', integer(1, 1_000_000), 5_000)
    .option('--threads <n>', 'pool threads', integer(1, 256), availableParallelism())
    .option('--fail-rate <p>', 'probability that a part fails (injected, deterministic for a seed)', probability, 0)
    .option('--fail-fast', 'cancel the group on the first failure (cancelOnError)', false)
    .option('--seed <n>', 'seed of the failure injection', integer(0, 2 ** 31 - 1), 42)
    .option('--deadline <ms>', 'stop the run after this many ms, gracefully, as on Ctrl-C', integer(0, 2 ** 31 - 1))
    .option('--grace <ms>', 'most ms a shutdown waits for the pool to drain before forcing it down', integer(0, 2 ** 31 - 1), 5_000)
    .addOption(new Option('--show-errors <n>', 'failures printed in full with their stacks').argParser(integer(0, 10_000)).default(5))
    .addHelpText('after', HELP)
    .showHelpAfterError('(run with --help for usage)')
    .parse(argv);
  const o = program.opts<Omit<DemoOptions, 'deadline'> & { deadline?: number }>();
  return { ...o, deadline: o.deadline };
}
