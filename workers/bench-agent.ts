// Benchmark worker (benchmarks/agent.ts drives it): runs one job at a time on a signal. For each
// job it prepares (rebuilds the group or task), counts itself ready, blocks until the go mark
// reaches the job's round, runs the job's loop, and counts itself finished. The main thread times
// from go to whatever the scenario waits on, so preparation is never timed.
import { parentPort, workerData } from 'node:worker_threads';
import { Task, WaitGroup } from '../src/index.js';
import { benchError, FINISHED, GO, READY, type BenchAgentData, type BenchJob, type BenchMessage } from './bench-protocol.js';
import { block, bump } from './sync.js';

const { marks, port } = workerData as BenchAgentData;

function prepare(job: BenchJob): () => void {
  const n = job.n;
  switch (job.op) {
    case 'done': {
      const task = Task.from(job.task);
      return () => {
        for (let i = 0; i < n; i++) task.done();
      };
    }
    case 'add-done': {
      const group = WaitGroup.from(job.group);
      return () => {
        for (let i = 0; i < n; i++) group.add().done();
      };
    }
    case 'post':
      return () => {
        for (let i = 0; i < n; i++) port.postMessage(1);
      };
    case 'count-down': {
      const counter = job.counter;
      return () => {
        for (let i = 0; i < n; i++) if (Atomics.sub(counter, 0, 1) === 1) Atomics.notify(counter, 0);
      };
    }
    case 'add-sub': {
      const counter = job.counter;
      return () => {
        for (let i = 0; i < n; i++) {
          Atomics.add(counter, 0, 1);
          Atomics.sub(counter, 0, 1);
        }
      };
    }
    case 'fail': {
      const group = WaitGroup.from(job.group);
      return () => {
        for (let i = 0; i < n; i++) group.add('fail').done(benchError(i));
      };
    }
    case 'post-error':
      return () => {
        for (let i = 0; i < n; i++) port.postMessage(benchError(i));
      };
  }
}

parentPort?.on('message', ({ round, job }: BenchMessage) => {
  const run = prepare(job);
  bump(marks, READY);
  block(marks, GO, round);
  run();
  bump(marks, FINISHED);
});
