// `node dist/benchmarks/churn-run.js [--groups N] [--in-flight N] [--mode io|tight|bare] [--every N] [--stop-at-maps N]`:
// one churn run (benchmarks/churn.ts) in a process of its own, so that nothing else's mappings or
// heap count; prints its figures as one line of JSON. The test suite runs it in a child process, and
// `npm run bench:churn` runs the full million.
import { Command, InvalidArgumentError, Option } from 'commander';
import { churn } from './churn.js';

function positive(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a whole number from 1 up');
  return parsed;
}

const program = new Command()
  .name('churn-run')
  .description('one churn run (a group per request) in a process of its own; prints its figures as one line of JSON')
  .addOption(new Option('--mode <mode>', 'io: completed by a setImmediate callback; tight: all in one job; bare: no group').choices(['io', 'tight', 'bare'] as const).default('io'))
  .option('--groups <n>', 'groups (requests) in all', positive, 1_000_000)
  .option('--in-flight <n>', 'requests in flight at once', positive, 500)
  .option('--every <n>', 'groups between two readings of the mappings and RSS', positive, 1000)
  .option('--stop-at-maps <n>', 'stop once the process has this many memory mappings', positive, 30_000)
  .action(async (options: { mode: 'io' | 'tight' | 'bare'; groups: number; inFlight: number; every: number; stopAtMaps: number }) => {
    const result = await churn(options);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

await program.parseAsync();
