// Main-thread side of the benchmark workers (workers/bench-agent.ts): start them, hand each a job,
// and let the scenario start the clock and the jobs at the same instant.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { FINISHED, GO, READY, type BenchAgentData, type BenchJob, type BenchMessage } from '../workers/bench-protocol.js';
import { newMarks, reach, set } from '../workers/sync.js';
import { clock } from './stats.js';

/** A started job: `go()` releases it and returns the start time; `finished` resolves when every worker ran its loop. */
export interface Started {
  go(): number;
  readonly finished: Promise<void>;
}

/** Workers of workers/bench-agent.js, each with a port of its own for the messages it posts. */
export class Agents {
  readonly marks = newMarks(4);
  readonly workers: Worker[] = [];
  /** The main thread's ends of the workers' ports, in worker order. */
  readonly ports: MessagePort[] = [];
  #round = 0;
  #ready = 0;
  #finished = 0;
  #died: Promise<never>;

  constructor(count: number) {
    let fail: (error: Error) => void = () => undefined;
    this.#died = new Promise((_, reject) => {
      fail = reject;
    });
    this.#died.catch(() => undefined);
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new MessageChannel();
      const data: BenchAgentData = { marks: this.marks, port: port2 };
      const worker = new Worker(new URL('../workers/bench-agent.js', import.meta.url), { workerData: data, transferList: [port2] });
      worker.on('error', fail);
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /** Resolves once `promise` does, or rejects when a worker throws. */
  #guard<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.#died]);
  }

  /** Hands `jobs[i]` to worker i and resolves once all of them are prepared and blocked on the go mark. */
  async start(jobs: readonly BenchJob[]): Promise<Started> {
    const round = ++this.#round;
    jobs.forEach((job, i) => {
      const message: BenchMessage = { round, job };
      this.workers[i]?.postMessage(message);
    });
    this.#ready += jobs.length;
    this.#finished += jobs.length;
    await this.#guard(reach(this.marks, READY, this.#ready));
    const marks = this.marks;
    const finished = this.#guard(reach(marks, FINISHED, this.#finished));
    finished.catch(() => undefined);
    return {
      go: () => {
        const start = clock();
        set(marks, GO, round);
        return start;
      },
      finished,
    };
  }

  async stop(): Promise<void> {
    for (const port of this.ports) port.close();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/** Runs `body` with `count` agents, terminating them however it ends. */
export async function withAgents<T>(count: number, body: (agents: Agents) => Promise<T>): Promise<T> {
  const agents = new Agents(count);
  try {
    return await body(agents);
  } finally {
    await agents.stop();
  }
}
