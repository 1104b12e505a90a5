// The benchmark suite's command line: `npm run bench [-- <filter...>] [--quick] [--samples N] [--churn-groups N]`.
// Runs the scenarios against the built package (dist/src), prints one table row per comparison
// (ours, baseline, ratio, goal, verdict, spread) and writes every sample to a results file:
// benchmarks/results/latest.json for a full run, a .tmp.json beside it for a quick or filtered one.
import { Command, InvalidArgumentError } from 'commander';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { churn } from './churn-scenario.js';
import { latency } from './latency.js';
import { memory } from './memory.js';
import { pool } from './pool.js';
import { scale } from './scale.js';
import type { Scenario, Settings } from './scenario.js';
import { addDone, pending } from './single.js';
import { judge, table, type Verdict } from './stats.js';
import { completions, contention, failures } from './threads.js';

const SCENARIOS: readonly Scenario[] = [addDone, completions, latency, pool, failures, pending, memory, contention, churn, scale];
const RESULTS = new URL('../../benchmarks/results/', import.meta.url);

function positive(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a whole number from 1 up');
  return parsed;
}

/** The scenarios a filter names: by number ('3') or by a part of the name ('wake'). */
function select(filters: readonly string[]): Scenario[] {
  if (filters.length === 0) return [...SCENARIOS];
  const chosen = SCENARIOS.filter((scenario) => filters.some((filter) => filter === String(scenario.id) || scenario.name.includes(filter.toLowerCase())));
  if (chosen.length === 0) {
    program.error(`error: no scenario matches ${filters.join(', ')}; scenarios: ${SCENARIOS.map((s) => `${s.id} ${s.name}`).join(', ')}`);
  }
  return chosen;
}

function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cpus: cpu.length,
    parallelism: availableParallelism(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    platform: `${platform()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}

/** The commit the package was built from, and whether src/ had changes not committed. */
function revision(): string {
  try {
    const run = (...args: string[]): string => execFileSync('git', args, { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' }).trim();
    return `${run('rev-parse', '--short', 'HEAD')}${run('status', '--porcelain', '--', 'src') === '' ? '' : ' + uncommitted changes in src/'}`;
  } catch {
    return 'unknown';
  }
}

async function main(filters: readonly string[], options: { quick: boolean; samples?: number; out?: string; churnGroups?: number }): Promise<void> {
  const scenarios = select(filters);
  const settings: Settings = { quick: options.quick, samples: options.samples, churnGroups: options.churnGroups };
  const started = new Date();
  const loadBefore = loadavg();
  process.stderr.write(`shared-waitgroup benchmarks (${options.quick ? 'quick' : 'full'}): ${scenarios.map((s) => s.id).join(', ')}\n`);
  const verdicts: Verdict[] = [];
  const durations: Record<string, number> = {};
  for (const scenario of scenarios) {
    const start = performance.now();
    const rows = await scenario.run(settings);
    durations[`${scenario.id} ${scenario.name}`] = Math.round(performance.now() - start);
    verdicts.push(...rows.map(judge));
  }
  const full = filters.length === 0 && !options.quick && options.samples === undefined && options.churnGroups === undefined;
  const file = options.out ?? fileURLToPath(new URL(full ? 'latest.json' : `${options.quick ? 'quick' : 'partial'}.tmp.json`, RESULTS));
  const report = {
    command: `node dist/benchmarks/main.js ${process.argv.slice(2).join(' ')}`.trim(),
    date: started.toISOString(),
    seconds: Math.round((Date.now() - started.getTime()) / 1000),
    revision: revision(),
    machine: machine(),
    loadAverage: { before: loadBefore, after: loadavg() },
    settings,
    durationsMs: durations,
    note: 'ratio = median ours / median baseline, both as costs (time, bytes): below 1 means ours is cheaper. ratioIqr = quartiles of the per-round ratios (rounds run ours and baseline back to back). result: PASS / FAIL when the ratio and 3 rounds in 4 are on the same side of the goal, else NOISY. Every sample is kept.',
    rows: verdicts,
  };
  mkdirSync(fileURLToPath(RESULTS), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  const ids = (result: Verdict['result']): string[] => verdicts.filter((v) => v.result === result).map((v) => v.id);
  const failed = ids('FAIL');
  const noisy = ids('NOISY');
  process.stdout.write(
    [
      '',
      `shared-waitgroup benchmarks, ${report.machine['cpu'] as string} x${cpus().length}, Node ${process.version}, ${report.date}${options.quick ? ' (QUICK: sizes too small for verdicts)' : ''}`,
      'ratio = median ours / median baseline, as costs (lower is better for ours); ratio IQR = quartiles of the per-round ratios;',
      'PASS / FAIL = ratio and 3 rounds in 4 on the same side of the goal, else NOISY; spread = half the IQR of each series, relative to its median',
      '',
      table(verdicts),
      '',
      `goals: ${ids('PASS').length} pass, ${failed.length} fail${failed.length > 0 ? ` (${failed.join(', ')})` : ''}, ${noisy.length} noisy${noisy.length > 0 ? ` (${noisy.join(', ')})` : ''}, ${ids('REPORT').length} reported`,
      `results: ${file}`,
      '',
    ].join('\n'),
  );
}

const program = new Command()
  .name('bench')
  .description('shared-waitgroup benchmarks: each scenario against its baselines, in the same run')
  .argument('[filter...]', `scenario numbers or names: ${SCENARIOS.map((s) => `${s.id} ${s.name}`).join(', ')}`)
  .option('--quick', 'tiny sizes, one sample: checks that every scenario runs, not its speed', false)
  .option('--samples <n>', 'samples per series (default: per scenario, 3 to 15)', positive)
  .option('--churn-groups <n>', 'groups of the churn scenario (9); default 100000, 10000 with --quick', positive)
  .option('--out <file>', 'results file (default: benchmarks/results/latest.json for a full run, *.tmp.json otherwise)')
  .action(main);

await program.parseAsync();
