// The benchmark suite still runs: `node dist/benchmarks/main.js --quick` (built by `npm run build`)
// in a child process must exit 0, print a row for every comparison of every scenario, and write
// every sample to its results file. Speed is never asserted here: the quick sizes are too small to
// say anything about it, and the machine is shared.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROWS = ['1a', '1b', '1c', '2a', '2b', '2c', '3a', '3b', '3c', '3d', '4a', '4b', '4c', '4d', '5a', '6a', '6b', '7a', '7b', '7c', '7d', '8a', '9a', '9b', '9c', '10a', '10b'];
const dir = mkdtempSync(join(tmpdir(), 'bench-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface ResultRow {
  readonly id: string;
  readonly ours: { readonly samples: readonly number[] };
  readonly baseline: { readonly samples: readonly number[] };
  readonly pass: boolean | null;
}

describe('npm run bench -- --quick', () => {
  it('runs every scenario, prints each row and keeps every sample', { timeout: 90_000 }, async () => {
    const out = join(dir, 'quick.json');
    // execFile rejects on a non-zero exit code, which fails the test with the child's output.
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/benchmarks/main.js', '--quick', '--out', out], {
      cwd: ROOT,
      timeout: 80_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const printed = stdout
      .split('\n')
      .map((line) => /^(\d+[a-z]) +\|/.exec(line)?.[1])
      .filter((id) => id !== undefined);
    expect(printed).toEqual(ROWS);
    expect(stdout).toMatch(/^goals: \d+ pass, \d+ fail/m);

    const results = JSON.parse(readFileSync(out, 'utf8')) as { settings: { quick: boolean }; machine: { node: string }; rows: ResultRow[] };
    expect(results.settings.quick).toBe(true);
    expect(results.machine.node).toBe(process.version);
    expect(results.rows.map((row) => row.id)).toEqual(ROWS);
    for (const row of results.rows) {
      expect(row.ours.samples.length, row.id).toBeGreaterThan(0);
      expect(row.baseline.samples.length, row.id).toBeGreaterThan(0);
      expect(row.ours.samples.every(Number.isFinite), row.id).toBe(true);
      expect(row.baseline.samples.every(Number.isFinite), row.id).toBe(true);
    }
  });

  it('runs one scenario when given a filter, and rejects a filter that names none', { timeout: 60_000 }, async () => {
    const out = join(dir, 'filtered.json');
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/benchmarks/main.js', 'pending', '--quick', '--out', out], { cwd: ROOT, timeout: 50_000 });
    const printed = stdout
      .split('\n')
      .map((line) => /^(\d+[a-z]) +\|/.exec(line)?.[1])
      .filter((id) => id !== undefined);
    expect(printed).toEqual(['6a', '6b']);

    const failed = await promisify(execFile)(process.execPath, ['dist/benchmarks/main.js', 'no-such-scenario', '--quick'], { cwd: ROOT, timeout: 50_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toMatchObject({ code: 1 });
  });
});
