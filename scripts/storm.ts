// `npm run storm [-- --kills N] [--op OP...] [--seed N] [--verbose]`: the terminate() storm of
// test/storm.ts at scale. For each operation, starts a worker looping on it, terminates it after a
// seeded random number of iterations, checks the group for the exact outcome the library promises,
// and prints a table: op, kills, wrong, and the reasons with how many kills gave each. Exits 1 when
// any kill went wrong. Built to dist/scripts/storm.js (`npm run build`; `npm run storm` builds first).
import { Command, InvalidArgumentError, Option } from 'commander';
import { STORM_OPS, storm, table, type StormOp, type StormSummary } from '../test/storm.js';

function whole(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new InvalidArgumentError(`expected a whole number from ${min} up`);
    return parsed;
  };
}

interface Options {
  readonly kills: number;
  readonly op?: StormOp[];
  readonly seed: number;
  readonly verbose?: true;
}

const program = new Command('storm')
  .description('terminate() worker threads in the middle of wait-group operations and check the outcome of each kill')
  .option('--kills <n>', 'kills per operation', whole(1), 100)
  .addOption(new Option('--op <op...>', 'operations to storm (default: all)').choices(STORM_OPS))
  .option('--seed <n>', 'seed of the random kill points', whole(0), 1)
  .option('--verbose', 'print every kill that went wrong, with its target and reasons')
  .action(async (options: Options) => {
    const ops = options.op ?? [...STORM_OPS];
    process.stderr.write(`terminate() storm: ${options.kills} kills of each of ${ops.join(', ')} (seed ${options.seed})\n`);
    const summaries: StormSummary[] = [];
    for (const op of ops) {
      const start = performance.now();
      const summary = await storm(op, {
        kills: options.kills,
        seed: options.seed,
        onKill: (result) => {
          if (options.verbose === true && result.wrong.length > 0) {
            process.stderr.write(`  ${op} target ${result.target}, died after ${result.count} iterations: ${result.wrong.join('; ')}\n`);
          }
        },
      });
      summaries.push(summary);
      process.stderr.write(`${op}: ${summary.wrong} of ${summary.kills} kills wrong (${((performance.now() - start) / 1000).toFixed(1)} s)\n`);
    }
    process.stdout.write(`\n${table(summaries)}\n`);
    if (summaries.some((summary) => summary.wrong > 0)) process.exitCode = 1;
  });

await program.parseAsync();
