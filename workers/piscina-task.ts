// Piscina task module for worker-death tests: takes a task of the group it is given, opens the
// latch, then blocks until its thread is killed (by an abort or by pool.destroy()).
import { WaitGroup, type SharedWaitGroup } from '../src/index.js';

export default function hold({ group, latch }: { group: SharedWaitGroup; latch: Int32Array }): void {
  WaitGroup.from(group).add('piscina task');
  Atomics.add(latch, 0, 1);
  Atomics.notify(latch, 0);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
