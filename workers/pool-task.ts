// piscina task module for the integration tests, wrapped with tracked(): each payload names what
// the task does with its group, its own task and the group's signal.
import { tracked } from '../src/integrations/piscina.js';

export type PoolJob =
  | { readonly kind: 'echo'; readonly value: unknown }
  | { readonly kind: 'flush'; readonly flushed: Int32Array }
  | { readonly kind: 'fail' }
  | { readonly kind: 'sleep'; readonly ms: number }
  | { readonly kind: 'hold'; readonly latch: Int32Array }
  | { readonly kind: 'until-cancelled' }
  /** Bumps `latch`, then waits (without blocking its thread) until `gate` is set; returns 'opened'. */
  | { readonly kind: 'gate'; readonly latch: Int32Array; readonly gate: Int32Array }
  /** Completes its group task itself, bumps `latch`, then waits until `gate` is set; returns 'late'. */
  | { readonly kind: 'done-early'; readonly latch: Int32Array; readonly gate: Int32Array };

export default tracked(async (job: PoolJob, { group, task, signal }) => {
  switch (job.kind) {
    case 'echo':
      return job.value;
    case 'flush': {
      // Work that outlives the task function: the group waits for it.
      const flush = group.add('flush');
      setImmediate(() => {
        Atomics.store(job.flushed, 0, 1);
        flush.done();
      });
      return 'scheduled';
    }
    case 'fail':
      throw Object.assign(new RangeError('out of range in the pool'), { code: 'E_POOL', cause: new TypeError('root cause') });
    case 'sleep':
      // The workload of piscina's close() reproduction: tasks that take a while.
      await new Promise((resolve) => setTimeout(resolve, job.ms));
      return job.ms;
    case 'hold':
      // Counts itself in, then never ends on its own: only a shutdown deadline gets past it.
      Atomics.add(job.latch, 0, 1);
      Atomics.notify(job.latch, 0);
      return new Promise(() => undefined);
    case 'gate':
      Atomics.add(job.latch, 0, 1);
      Atomics.notify(job.latch, 0);
      while (Atomics.load(job.gate, 0) === 0) await Atomics.waitAsync(job.gate, 0, 0).value;
      return 'opened';
    case 'done-early':
      task.done();
      Atomics.add(job.latch, 0, 1);
      Atomics.notify(job.latch, 0);
      while (Atomics.load(job.gate, 0) === 0) await Atomics.waitAsync(job.gate, 0, 0).value;
      return 'late';
    case 'until-cancelled':
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return String(signal.reason);
  }
});
