// What `go()` costs per function, start to finish: `node dist/benchmarks/go-start.js [n] [rounds]`.
// Each case runs in a process of its own (this file, given the case's index), so that the garbage
// one case leaves does not slow the next one down.
// Not part of `npm run bench` (whose rows and goals are fixed): a quick measurement of the rule
// that a `go()` function starts in a microtask, never inside `go()` itself, to compare a build
// before and after a change. Each round calls `go()` n times with a no-op function, in bursts of
// 100,000 or of 100 (each burst followed by `await wait()`), and prints the median ns per function
// of CPU time (user + system) of the process, which other processes on a shared machine disturb
// less than they do wall time; the wall time follows.
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WaitGroup } from '../src/index.js';

const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 15);
const only = process.argv[4] === undefined ? undefined : Number(process.argv[4]);

const sync = (): void => undefined;
const async = (): Promise<void> => Promise.resolve();

interface Case {
  readonly name: string;
  readonly limit?: number;
  readonly fn: () => unknown;
  readonly burst: number;
  readonly als?: boolean;
}

async function once(c: Case): Promise<{ cpu: number; wall: number }> {
  // capacity: enough for every function to hold a task slot, as queued ones did before.
  const wg = new WaitGroup(c.limit === undefined ? { capacity: 1 << 20 } : { capacity: 1 << 20, limit: c.limit });
  const storage = c.als === true ? new AsyncLocalStorage<number>() : undefined;
  const body = async (): Promise<void> => {
    for (let done = 0; done < n; done += c.burst) {
      for (let i = 0; i < c.burst; i++) wg.go(c.fn);
      await wg.wait();
    }
  };
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await (storage === undefined ? body() : storage.run(1, body));
  const used = process.cpuUsage(cpu);
  return { cpu: ((used.user + used.system) * 1000) / n, wall: Number(process.hrtime.bigint() - start) / n };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const cases: readonly Case[] = [
  { name: 'no limit, 1 burst', fn: sync, burst: n },
  { name: 'no limit, bursts of 100', fn: sync, burst: 100 },
  { name: 'no limit, bursts of 100, in AsyncLocalStorage', fn: sync, burst: 100, als: true },
  { name: 'no limit, async fn, 1 burst', fn: async, burst: n },
  { name: 'limit 8, 1 burst', limit: 8, fn: sync, burst: n },
  { name: 'limit 8, bursts of 100', limit: 8, fn: sync, burst: 100 },
  { name: 'limit 8, async fn (queued), 1 burst', limit: 8, fn: async, burst: n },
  { name: 'limit 8, async fn (queued), bursts of 100', limit: 8, fn: async, burst: 100 },
  { name: 'limit 8, async fn, bursts of 100, in AsyncLocalStorage', limit: 8, fn: async, burst: 100, als: true },
];

const chosen = only === undefined ? undefined : cases[only];
if (chosen !== undefined) {
  const samples: { cpu: number; wall: number }[] = [];
  for (let round = 0; round < rounds; round++) samples.push(await once(chosen));
  const cpu = samples.map((sample) => sample.cpu);
  const wall = samples.map((sample) => sample.wall);
  console.log(`${chosen.name.padEnd(56)} ${median(cpu).toFixed(0).padStart(6)} ns CPU per go() (min ${Math.min(...cpu).toFixed(0)}, max ${Math.max(...cpu).toFixed(0)}); wall ${median(wall).toFixed(0)} ns`);
} else {
  const self = fileURLToPath(import.meta.url);
  for (const index of cases.keys()) process.stdout.write(execFileSync(process.execPath, [self, String(n), String(rounds), String(index)], { encoding: 'utf8' }));
  console.log(`${n.toLocaleString('en')} functions per round, ${rounds} rounds per case, a process per case, Node ${process.version}`);
}
