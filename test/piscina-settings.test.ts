// The pool settings a TrackedPool needs: a pool that would strand work a task leaves behind is
// refused, and the first error names every setting to change.
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { WaitGroup } from '../src/index.js';
import { PoolOptionsError, TrackedPool } from '../src/integrations/piscina.js';

const filename = new URL('../dist/workers/pool-task.js', import.meta.url).href;
const pools: Piscina[] = [];

function pool(options: ConstructorParameters<typeof Piscina>[0] = {}): Piscina {
  const created = new Piscina({ filename, ...options });
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

describe('pool settings', () => {
  it("names every setting to change in the first error: a pool with piscina's defaults", () => {
    const wg = new WaitGroup();
    const defaults = pool();
    let error: unknown;
    try {
      new TrackedPool(defaults, wg);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(PoolOptionsError);
    expect(error).toMatchObject({ code: 'ERR_PISCINA_ATOMICS_SYNC', settings: { atomics: 'async', idleTimeout: Infinity } });
    // What it names is all it takes.
    const fixed = pool((error as PoolOptionsError).settings);
    expect(new TrackedPool(fixed, wg).pool).toBe(fixed);
  });

  it('names only what is wrong', () => {
    const reaping = pool({ minThreads: 1, maxThreads: 2, atomics: 'async' });
    expect(() => new TrackedPool(reaping, new WaitGroup())).toThrow(expect.objectContaining({ code: 'ERR_PISCINA_IDLE_TIMEOUT', settings: { idleTimeout: Infinity } }) as Error);
    const syncOnly = pool({ minThreads: 1, maxThreads: 1, atomics: 'sync' });
    expect(() => new TrackedPool(syncOnly, new WaitGroup())).toThrow(expect.objectContaining({ code: 'ERR_PISCINA_ATOMICS_SYNC', settings: { atomics: 'async' } }) as Error);
  });
});
