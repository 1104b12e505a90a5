// Memory: task slots are reused, so endless add/done cycles neither grow the shared slot buffer nor
// the heap; and a group nobody holds any more is collected, whatever it was used for.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { WaitGroup } from '../src/index.js';

/**
 * A full garbage collection. The test processes are started without --expose-gc (vitest's
 * `execArgv` option could add it, but only for every test file at once), so the flag is set now
 * and a fresh context, which is made after it, exposes `gc`.
 */
function exposeGc(): () => void {
  const native = globalThis.gc;
  if (native !== undefined) {
    return () => {
      native();
    };
  }
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const gc = exposeGc();

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const MB = 1024 * 1024;

describe('add/done cycles', () => {
  it('one million cycles grow neither the shared buffers nor the heap', () => {
    const wg = new WaitGroup();
    const { tree, slots, log } = wg.share().tree;
    const sizes = (): number[] => [tree.byteLength, slots.byteLength, log.byteLength];
    const held = [wg.add('held across the cycles'), wg.sub('sub').add(2)];
    const before = sizes();
    for (let i = 0; i < 50_000; i++) wg.add().done();
    const heap = heapAfterGc();
    for (let i = 0; i < 1_000_000; i++) {
      const task = wg.add(i % 3 === 0 ? 2 : 1, 'cycle');
      task.done();
      if (task.remaining > 0) task.done();
    }
    const growth = heapAfterGc() - heap;
    expect(sizes()).toEqual(before);
    expect(growth).toBeLessThan(5 * MB);
    expect(wg.stats()).toEqual({ added: 1_050_000 + 333_334 + 3, done: 1_050_000 + 333_334, failed: 0, pending: 3 });
    expect(held.map((t) => t.remaining)).toEqual([1, 2]);
  });

  it('failures past maxFailures are counted without growing the log or the heap', async () => {
    const wg = new WaitGroup({ maxFailures: 10 });
    const { log } = wg.share().tree;
    for (let i = 0; i < 100; i++) wg.add().done(new Error(`warm-up ${i}`));
    const size = log.byteLength;
    const heap = heapAfterGc();
    for (let i = 0; i < 10_000; i++) wg.add().done(new Error(`failure ${i}`));
    expect(heapAfterGc() - heap).toBeLessThan(5 * MB);
    expect(log.byteLength).toBe(size);
    const error = await wg.wait().catch((e: unknown) => e as { errors: unknown[]; omitted: number });
    expect(error?.errors).toHaveLength(10);
    expect(error?.omitted).toBe(10_090);
  });
});

/** True once every object made by `make` (and dropped by it) has been collected. */
async function collected(make: () => object[]): Promise<boolean> {
  const refs = make().map((object) => new WeakRef(object));
  // A WeakRef target lives at least until the end of the current job: collect between turns.
  for (let turn = 0; turn < 20 && refs.some((ref) => ref.deref() !== undefined); turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return refs.every((ref) => ref.deref() === undefined);
}

const keptAlive = new AbortController();

describe('a dropped group is collectable', () => {
  it.each<[string, () => object[]]>([
    ['unused', () => [new WaitGroup()]],
    [
      'with completed and pending tasks',
      () => {
        const wg = new WaitGroup();
        wg.add().done();
        wg.add(3, 'left pending');
        return [wg];
      },
    ],
    [
      'whose signal was accessed',
      () => {
        const wg = new WaitGroup();
        return [wg, wg.signal];
      },
    ],
    [
      'with sub-groups whose signals were accessed',
      () => {
        const wg = new WaitGroup();
        const sub = wg.sub('a');
        const deeper = sub.sub('b');
        deeper.add();
        return [wg, sub, deeper, deeper.signal, wg.sub('c')];
      },
    ],
    [
      'cancelled, with failures, after a wait',
      () => {
        const wg = new WaitGroup({ cancelOnError: true, limit: 2 });
        wg.go(() => {
          throw new Error('fails');
        });
        void wg.wait().catch(() => undefined);
        return [wg, wg.signal];
      },
    ],
    [
      'linked to another',
      () => {
        const wg = new WaitGroup();
        const other = new WaitGroup();
        wg.link(other);
        other.link(new WaitGroup());
        return [wg, other];
      },
    ],
    [
      'made with a signal option that outlives it',
      () => [new WaitGroup({ signal: keptAlive.signal })],
    ],
  ])('%s', async (_, make) => {
    expect(await collected(make)).toBe(true);
  });
});
