// One group per request (issue #11, finding 1): a server making groups by the thousand, never
// calling gc(), must not run out of memory mappings. Each growable SharedArrayBuffer reserves
// address space in two mappings that the garbage collector does not count, so trees made of them
// piled up until Linux's vm.max_map_count (65,530) and the process crashed after ~10,000 groups.
// The churn runs in a child process (benchmarks/churn-run.ts, built by `npm run build`), so that
// nothing else of the test process counts, and reports the peak of its /proc/self/maps lines. It
// stops early, and says so, past 30,000 mappings, well before a crash. No timing is asserted.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ChurnResult } from '../benchmarks/churn.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GROUPS = 50_000;
/** A bound on the peak, not on growth: the process starts with about 120, and Node's heap adds a few hundred. */
const MAX_MAPPINGS = 1000;

async function churn(mode: 'io' | 'tight'): Promise<ChurnResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['dist/benchmarks/churn-run.js', '--mode', mode, '--groups', String(GROUPS), '--in-flight', '500'], {
    cwd: ROOT,
    timeout: 60_000,
  });
  return JSON.parse(stdout) as ChurnResult;
}

describe('group churn, one group per request, 500 in flight, no gc()', () => {
  it(`${GROUPS} groups, each completed by an I/O callback while wait() sleeps, stay under ${MAX_MAPPINGS} memory mappings`, { timeout: 70_000 }, async () => {
    const result = await churn('io');
    expect({ completed: result.completed, stopped: result.stopped }).toEqual({ completed: GROUPS, stopped: false });
    expect(result.peakMaps).toBeLessThan(MAX_MAPPINGS);
  });

  it(`${GROUPS} groups made, completed, awaited and dropped without leaving the current job stay under ${MAX_MAPPINGS} memory mappings`, { timeout: 70_000 }, async () => {
    const result = await churn('tight');
    expect({ completed: result.completed, stopped: result.stopped }).toEqual({ completed: GROUPS, stopped: false });
    expect(result.peakMaps).toBeLessThan(MAX_MAPPINGS);
  });
});
