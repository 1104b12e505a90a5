// Real worker threads: `limit` bounds the go() functions running at once across every thread.
// The functions count themselves in shared memory (running, max by compare-and-exchange, total).
import { afterEach, describe, expect, it } from 'vitest';
import { WaitGroup } from '../src/index.js';
import { bump, countedRun, newMarks, reach, set, type Counters } from '../workers/sync.js';
import { startAgent, terminateAll, type TestWorker } from './helpers.js';

afterEach(terminateAll);

const COUNTERS: Counters = { running: 0, max: 1, total: 2 };
const STARTED = 3;
const HOLD = 4;

async function attached(wg: WaitGroup, marks: Int32Array, count: number): Promise<TestWorker[]> {
  const agents = Array.from({ length: count }, () => startAgent(marks));
  await Promise.all(agents.map((agent) => agent.call('attach', { group: 'g', value: wg.share(), path: [] })));
  return agents;
}

describe('limit across threads', () => {
  it('never runs more than `limit` functions at once in all threads, and runs every one', async () => {
    const FNS = 150;
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'limited', limit: 2 });
    const agents = await attached(wg, marks, 2);
    const gate = wg.add('gate'); // no wait may pass before every thread has queued its functions
    const queued = agents.map((agent) => agent.call('limited', { group: 'g', fns: FNS, counters: COUNTERS }));
    for (let fn = 0; fn < FNS; fn++) wg.go(() => countedRun(marks, COUNTERS), 'main');
    await Promise.all(queued);
    gate.done();
    await wg.wait();
    expect(Atomics.load(marks, COUNTERS.total)).toBe(3 * FNS);
    expect(Atomics.load(marks, COUNTERS.running)).toBe(0);
    expect(Atomics.load(marks, COUNTERS.max)).toBeGreaterThanOrEqual(1);
    expect(Atomics.load(marks, COUNTERS.max)).toBeLessThanOrEqual(2);
    expect(wg.stats()).toEqual({ added: 3 * FNS + 1, done: 3 * FNS + 1, failed: 0, pending: 0 });
  });

  it('makes tryGo() return false in a worker while two functions run in other threads', async () => {
    const marks = newMarks();
    const wg = new WaitGroup({ name: 'full', limit: 2 });
    const [other, trier] = (await attached(wg, marks, 2)) as [TestWorker, TestWorker];
    const hold = { kind: 'hold', started: STARTED, hold: HOLD } as const;
    wg.go(async () => {
      bump(marks, STARTED);
      await reach(marks, HOLD, 1);
    }, 'held-on-main');
    await other.call('go', { group: 'g', label: 'held-in-other', behavior: hold });
    await reach(marks, STARTED, 2);
    // Both slots are taken, one on main and one in another worker.
    expect(await trier.call('tryGo', { group: 'g', label: 'refused', behavior: hold })).toBe(false);
    // go() queues instead; its function does not start while the slots are held.
    await trier.call('go', { group: 'g', label: 'queued', behavior: hold });
    await trier.call('ping', {});
    expect(Atomics.load(marks, STARTED)).toBe(2);
    expect(wg.pendingTasks().map((task) => task.label).sort()).toEqual(['held-in-other', 'held-on-main', 'queued']);
    set(marks, HOLD);
    await reach(marks, STARTED, 3);
    await wg.wait();
    expect(wg.stats()).toEqual({ added: 3, done: 3, failed: 0, pending: 0 });
    // With the slots free again, tryGo() starts at once.
    expect(await trier.call('tryGo', { group: 'g', label: 'accepted', behavior: hold })).toBe(true);
    await wg.wait();
    expect(Atomics.load(marks, STARTED)).toBe(4);
  });
});
