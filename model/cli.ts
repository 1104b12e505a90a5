// `npm run explore -- --scenario NAME [--deep]`: explores a scenario of the protocol model and
// prints its state counts and, for each broken invariant, the first counterexample found.
import { Command, InvalidArgumentError } from 'commander';
import process from 'node:process';
import { explore } from './explorer.js';
import { formatScope, formatSummary, formatViolation } from './report.js';
import { scenario, scenarios } from './scenarios.js';
import type { Scope } from './scope.js';

interface Flags {
  scenario?: string;
  deep?: boolean;
  rounds?: number;
  deaths?: number;
  mortalWorkers?: number;
  sweepers?: number;
  mortalSweepers?: boolean;
  failures: boolean;
  bug: string[];
  fix: string[];
  depth?: number;
  maxStates?: number;
  bfs?: boolean;
  shortest: boolean;
  reduce: boolean;
  exact?: boolean;
  first?: boolean;
  list?: boolean;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

const command = new Command('explore')
  .description('Explores every interleaving (and thread death) of a scenario of the shared-memory protocol')
  .option('-s, --scenario <name>', 'scenario to explore (default: all)')
  .option('--deep', 'the scenario\'s deep scope instead of its usual one')
  .option('--rounds <n>', 'add()/done() pairs per worker', count)
  .option('--deaths <n>', 'most deaths in one run', count)
  .option('--mortal-workers <n>', 'how many workers may die (A first)', count)
  .option('--sweepers <n>', 'sweepers started per ended worker', count)
  .option('--mortal-sweepers', 'sweepers may die too')
  .option('--no-failures', 'no done() fails')
  .option('--bug <name>', 'apply a planted bug (repeatable)', (value: string, all: string[]) => [...all, value], [])
  .option('--fix <name>', 'apply a proposed fix (repeatable)', (value: string, all: string[]) => [...all, value], [])
  .option('--depth <n>', 'do not expand states deeper than this', count)
  .option('--max-states <n>', 'stop after this many states', count)
  .option('--bfs', 'breadth-first search (the same states; shortest counterexamples, more memory)')
  .option('--exact', 'compare states by their whole content, not by a 96-bit hash')
  .option('--no-reduce', 'no partial-order reduction of private steps (every interleaving of every step)')
  .option('--no-shortest', 'print the depth-first counterexamples as found, without a breadth-first run to shorten them')
  .option('--first', 'stop at the first violation (default: the first of each kind)')
  .option('--list', 'list the scenarios and their planted bugs');

// Piped into `head`: stop quietly when the reader goes away.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

command.parse();
const flags = command.opts<Flags>();

if (flags.list === true) {
  for (const s of scenarios) {
    process.stdout.write(`${s.name}: ${s.description}\n  scope: ${formatScope(s.scope)}; deep: ${formatScope(s.deep)}\n`);
    if (s.known.length > 0) process.stdout.write(`  known violations: ${s.known.join(', ')}\n`);
    for (const [bug, finds] of Object.entries(s.bugs)) process.stdout.write(`  --bug ${bug}: should find ${finds}\n`);
    for (const [fix, closes] of Object.entries(s.fixes)) process.stdout.write(`  --fix ${fix}: ${closes}\n`);
  }
  process.exit(0);
}

/** The holes known in the protocol version a scenario models (a larger scope may reach another scenario's). */
function knownHoles(name: string): Set<string> {
  const version = name.split('-')[0];
  // v2 is history, every hole of it is known; in v3 only the scenario's own (v3-cancel's open
  // lost-wakeup must not excuse a lost wake-up found by another v3 scenario).
  if (version !== 'v2') return new Set(scenario(name).known);
  return new Set(scenarios.filter((other) => other.name.split('-')[0] === version).flatMap((other) => other.known));
}

const chosen = flags.scenario === undefined || flags.scenario === 'all' ? scenarios : [scenario(flags.scenario)];
let unexpected = 0;
for (const s of chosen) {
  const base = flags.deep === true ? s.deep : s.scope;
  const scope: Scope = {
    rounds: flags.rounds ?? base.rounds,
    deaths: flags.deaths ?? base.deaths,
    mortalWorkers: flags.mortalWorkers ?? base.mortalWorkers,
    sweepers: flags.sweepers ?? base.sweepers,
    mortalSweepers: flags.mortalSweepers ?? base.mortalSweepers,
    failures: flags.failures && base.failures,
    bugs: flags.bug.length > 0 ? flags.bug : base.bugs,
    fixes: flags.fix.length > 0 ? flags.fix : base.fixes,
  };
  const options = { reduce: flags.reduce, exact: flags.exact === true, stopAtFirst: flags.first === true, strategy: flags.bfs === true ? ('bfs' as const) : ('dfs' as const), ...(flags.depth === undefined ? {} : { depth: flags.depth }), ...(flags.maxStates === undefined ? {} : { maxStates: flags.maxStates }) };
  const report = explore(s.build(scope), options);
  process.stdout.write(`${s.name} [${formatScope(scope)}]\n  ${formatSummary(report)}\n`);
  // Depth-first paths are long: a breadth-first run over the same states finds the shortest ones.
  const traces = report.violations.length > 0 && flags.shortest && options.strategy === 'dfs' ? explore(s.build(scope), { ...options, strategy: 'bfs' }) : report;
  for (const violation of traces.violations) {
    const expected = scope.bugs.length > 0 || (scope.fixes.length === 0 && knownHoles(s.name).has(violation.name));
    if (!expected) unexpected++;
    process.stdout.write(`\n${expected ? '(expected) ' : ''}${formatViolation(violation)}\n\n`);
  }
}
process.exitCode = unexpected > 0 ? 1 : 0;
