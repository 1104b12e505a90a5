// The demo (`npm start`, dist/demo/main.js) run as a child process with stdout a pipe, so it prints
// plain lines: it counts primes exactly, reports injected failures with their worker stacks, and
// shuts down in order on SIGINT or --deadline. Events are its output lines; timeouts only guard hangs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { draw } from '../demo/primes.js';

const main = fileURLToPath(new URL('../dist/demo/main.js', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

interface Demo {
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Resolves with the exit code (null if killed by a signal) once the process exited and its output ended. */
  readonly exited: Promise<number | null>;
  readonly stderr: () => string;
  /** The first stdout line matching `pattern`, already printed or to come; rejects if the output ends first. */
  line(pattern: RegExp): Promise<string>;
}

function demo(...args: string[]): Demo {
  const child = spawn(process.execPath, [main, '--threads', '2', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  const watchers: { pattern: RegExp; resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let stderr = '';
  let ended = false;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const stdout = createInterface({ input: child.stdout });
  stdout.on('line', (line) => {
    lines.push(line);
    for (const watcher of watchers.filter((w) => w.pattern.test(line))) {
      watchers.splice(watchers.indexOf(watcher), 1);
      watcher.resolve(line);
    }
  });
  stdout.on('close', () => {
    ended = true;
    for (const watcher of watchers.splice(0)) watcher.reject(new Error(`output ended without a line matching ${String(watcher.pattern)}:\n${lines.join('\n')}\n${stderr}`));
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    line(pattern) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      if (ended) return Promise.reject(new Error(`no line matching ${String(pattern)}:\n${lines.join('\n')}\n${stderr}`));
      return new Promise((resolve, reject) => watchers.push({ pattern, resolve, reject }));
    },
  };
}

/** '1,229' -> 1229. */
function num(text: string | undefined): number {
  return Number((text ?? 'NaN').replaceAll(',', ''));
}

/** A run far too long to finish during a test: it ends only by SIGINT or --deadline. */
const LONG = ['--chunks', '1000', '--chunk-size', '1000000'];
/** A progress line showing that units were done. */
const STARTED = /^progress: +\d+% \| (?!0\/)[\d,]+\/[\d,]+ units/;

describe('npm start', () => {
  it('counts the primes below chunks x chunk-size exactly, and exits 0', async () => {
    const run = demo('--chunks', '20', '--chunk-size', '500', '--parts', '4', '--slice', '40');
    expect(await run.exited).toBe(0);
    const result = await run.line(/^result: /);
    const [, primes, below, units] = /^result: ([\d,]+) primes below ([\d,]+) in .* \(([\d,]+) units, 0 failed\)$/.exec(result) ?? [];
    expect([num(primes), num(below), num(units)]).toEqual([1229, 10_000, 100]);
    await run.line(/^progress: 100% \| 100\/100 units \| 0 pending \| 0 failed \| /);
    expect(run.stderr()).toBe('');
  });

  it('prints --help and exits 0', async () => {
    const run = demo('--help');
    expect(await run.exited).toBe(0);
    await run.line(/^Usage: npm start -- \[options\]/);
    await run.line(/^ +--fail-rate <p> /);
    await run.line(/^Exit codes: 0 success, 1 task failures, 124 --deadline expired, 130 interrupted/);
  });

  it('reports every injected failure with its worker stack and origin, and exits 1', async () => {
    const [chunks, parts, seed, rate] = [10, 3, 7, 0.3];
    const expected: string[] = [];
    for (let c = 0; c < chunks; c++) for (let p = 0; p < parts; p++) if (draw(seed, c, p) < rate) expected.push(`chunk ${c} part ${p}`);
    // The seed is chosen so that some parts fail and some do not.
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(chunks * parts);
    const run = demo('--chunks', `${chunks}`, '--chunk-size', '400', '--parts', `${parts}`, '--seed', `${seed}`, '--fail-rate', `${rate}`, '--show-errors', '100');
    expect(await run.exited).toBe(1);
    const n = expected.length;
    await run.line(new RegExp(`^failures: ${n} tasks failed \\(${n} x InjectedFailure E_INJECTED\\)$`));
    const origins = run.lines.flatMap((line, i) => {
      const match = /^ {2}\[\d+\] InjectedFailure E_INJECTED in thread (\d+), group primes\/chunk (\d+), task "(chunk \d+ part \d+)"$/.exec(line);
      if (match === null) return [];
      // The failure's own stack, from the worker: its message, then the frame that threw.
      expect(run.lines[i + 1]).toMatch(/^ {6}InjectedFailure: injected failure at /);
      expect(run.lines[i + 2]).toMatch(/^ {10}at checkSlice \(dist\/workers\/demo-task\.js:\d+:\d+\)$/);
      expect(num(match[1])).toBeGreaterThan(0);
      expect(match[3]?.startsWith(`chunk ${match[2]} `)).toBe(true);
      return [match[3]];
    });
    expect(origins.sort()).toEqual(expected.sort());
    await run.line(new RegExp(`^result: ${n} tasks failed in .*; ${chunks * parts - n} of ${chunks * parts} parts completed, [\\d,]+ primes in them$`));
  });

  it('fails every part with --fail-rate 1, the pool tasks themselves succeeding', async () => {
    const run = demo('--chunks', '4', '--chunk-size', '100', '--parts', '2', '--fail-rate', '1');
    expect(await run.exited).toBe(1);
    await run.line(/^failures: 8 tasks failed \(8 x InjectedFailure E_INJECTED\)$/);
    expect(run.lines.filter((line) => /^ {10}at checkSlice \(dist\/workers\/demo-task\.js:/.test(line))).toHaveLength(5);
    await run.line(/^ {2}\.\.\. and 3 more \(--show-errors to print more\)$/);
    await run.line(/^result: 8 tasks failed in .*; 0 of 8 parts completed, 0 primes in them$/);
  });
});

describe('graceful shutdown', () => {
  it('on SIGINT: cancels the CPU loops, drains the pool, prints the summary and exits 130', async () => {
    const run = demo(...LONG, '--grace', '20000');
    await run.line(STARTED);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    await run.line(/^shutdown: Ctrl-C \(SIGINT\) after .*: cancelling the group and draining the pool \(grace 20,000 ms\)$/);
    await run.line(/^shutdown: drained in [\d,]+ ms, nothing forced$/);
    const result = await run.line(/^result: stopped by SIGINT after /);
    const [, completed, total, stopped] = /; ([\d,]+) of ([\d,]+) parts completed, [\d,]+ primes in them \(([\d,]+) parts? stopped mid-count by the cancellation\)$/.exec(result) ?? [];
    expect(num(total)).toBe(4000);
    expect(num(completed)).toBeLessThan(4000);
    // The parts running when Ctrl-C came saw `cancelled` in their CPU loops and stopped there.
    expect(num(stopped)).toBeGreaterThan(0);
    expect(run.lines.some((line) => line.startsWith('failures:'))).toBe(false);
    expect(run.stderr()).toBe('');
  });

  it('when the grace expires: lists the pending tasks, forces the pool down, exits 130', async () => {
    const run = demo(...LONG, '--grace', '0');
    await run.line(STARTED);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    const expired = await run.line(/^shutdown: the grace of 0 ms expired with [\d,]+ tasks pending; the pool was destroyed:$/);
    const pending = num(/with ([\d,]+) tasks/.exec(expired)?.[1]);
    const listed = run.lines.filter((line) => /^ {2}pending {2}chunk \d+( part \d+)? +(thread \d+|main thread) +[\d,]+ ms old$/.test(line));
    expect(listed).toHaveLength(10);
    const more = await run.line(/^ {2}\.\.\. and [\d,]+ more \(/);
    expect(num(/and ([\d,]+) more/.exec(more)?.[1])).toBe(pending - 10);
    await run.line(/^failures: [\d,]+ tasks failed \(/);
    await run.line(/^result: stopped by SIGINT after /);
  });

  it('stops at --deadline the same way, and exits 124', async () => {
    const run = demo(...LONG, '--deadline', '200', '--grace', '20000');
    expect(await run.exited).toBe(124);
    await run.line(/^shutdown: --deadline 200 ms reached after .*: cancelling the group and draining the pool/);
    await run.line(/^shutdown: drained in [\d,]+ ms, nothing forced$/);
    await run.line(/^result: stopped by deadline after /);
  });
});
