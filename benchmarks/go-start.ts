// What `go()` costs per function, start to finish: `node dist/benchmarks/go-start.js [n] [rounds]`.
// Not part of `npm run bench` (whose rows and goals are fixed): a quick measurement of the rule
// that a `go()` function starts in a microtask, never inside `go()` itself, to compare a build
// before and after a change. Each round calls `go()` n times with a no-op function, in bursts of
// 100,000 or of 100 (each burst followed by `await wait()`), and prints the median ns per function
// of CPU time (user + system) of the process, which other processes on a shared machine disturb
// less than they do wall time; the wall time follows.
import { AsyncLocalStorage } from 'node:async_hooks';
import { WaitGroup } from '../src/index.js';

const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 15);

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

const samples = cases.map((): { cpu: number; wall: number }[] => []);
// Rounds alternate the cases, so drift in the machine's speed spreads over all of them.
for (let round = 0; round < rounds; round++) {
  for (const [index, c] of cases.entries()) samples[index]?.push(await once(c));
}
for (const [index, c] of cases.entries()) {
  const cpu = (samples[index] ?? []).map((sample) => sample.cpu);
  const wall = (samples[index] ?? []).map((sample) => sample.wall);
  console.log(`${c.name.padEnd(56)} ${median(cpu).toFixed(0).padStart(6)} ns CPU per go() (min ${Math.min(...cpu).toFixed(0)}, max ${Math.max(...cpu).toFixed(0)}); wall ${median(wall).toFixed(0)} ns`);
}
console.log(`${n.toLocaleString('en')} functions per round, ${rounds} rounds, Node ${process.version}`);
