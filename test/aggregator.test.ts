// The aggregator's robustness: the private exit channel ignores whatever is not a well-formed
// notice about a thread that has really exited, its name cannot be guessed, and a failure that cannot be rebuilt
// never costs the others.
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { afterEach, expect, it } from 'vitest';
import { Task, TaskGroupError, WaitGroup, WorkerExitedError, type SharedTask } from '../src/index.js';
import { L_LENGTH, L_OFFSET, LOG_ENTRY_WORDS, T_MAX_FAILURES } from '../src/memory/layout.js';
import { FailureLog } from '../src/memory/failure-log.js';
import { Tree } from '../src/memory/tree.js';
import { cases } from '../workers/fidelity-cases.js';
import { startFixture, terminateAll } from './helpers.js';

afterEach(terminateAll);

it('ignores malformed notices and notices about live threads on the exit channel, and sweeps the real exit', async () => {
  const wg = new WaitGroup({ name: 'robust' });
  const own = wg.add('own');
  const worker = startFixture('death', { group: wg.share(), cause: 'blocked', go: new Int32Array(new SharedArrayBuffer(4)) });
  const alive = worker.threadId;
  const { handedOver } = await new Promise<{ handedOver: SharedTask }>((resolve) => worker.once('message', resolve));
  const rebuilt = Task.from(handedOver);
  const secret = Tree.attach(wg.share().tree).secret;
  const channel = new BroadcastChannel(secret);
  const probe = new BroadcastChannel(secret);
  const kind = 'shared-waitgroup/exit';
  const garbage: unknown[] = [
    'garbage',
    42,
    null,
    {},
    [kind, 1, alive],
    { kind },
    { kind, v: 2, threadId: alive },
    { kind: 'other', v: 1, threadId: alive },
    { kind, v: 1, threadId: String(alive) },
    { kind, v: 1, threadId: alive + 0.5 },
    { kind, v: 1, threadId: alive, exitCode: 'crashed' },
    { kind, v: 1, threadId },
    { kind, v: 1, threadId: 0 },
    // Well-formed, but the worker is alive: read from the tree's memory, the channel's name lets
    // any code post this. Acting on it would fail the live worker's tasks.
    { kind, v: 1, threadId: alive, exitCode: 99 },
  ];
  const heard = new Promise((resolve) => (probe.onmessage = resolve));
  for (const message of garbage) channel.postMessage(message);
  channel.postMessage('last');
  // The tree's own listener in this thread was handed every message above when the probe was.
  await heard;
  await new Promise((resolve) => setImmediate(resolve));
  expect(wg.pendingTasks().filter((task) => task.threadId === alive).length).toBeGreaterThan(0);
  own.done();
  rebuilt.done();
  // The real exit: its creator (this thread) sees it and sweeps, with the real exit code.
  await worker.terminate();
  const error = await wg.wait({ timeout: 20_000 }).catch((e: unknown) => e);
  channel.close();
  probe.close();
  expect(error).toBeInstanceOf(TaskGroupError);
  const failures = (error as TaskGroupError).errors;
  expect(failures).toHaveLength(3);
  for (const failure of failures) {
    expect(failure).toBeInstanceOf(WorkerExitedError);
    expect(failure).toMatchObject({ threadId: alive, exitCode: 1 });
  }
});

it('names each tree channel with 124 random bits', () => {
  const secrets = Array.from({ length: 50 }, () => Tree.attach(new WaitGroup().share().tree).secret);
  expect(new Set(secrets).size).toBe(50);
  for (const secret of secrets) expect(secret).toMatch(/^shared-waitgroup:(\d+-){3}\d+$/);
});

it('rebuilds every other failure when one envelope is corrupt', async () => {
  const wg = new WaitGroup({ name: 'corrupt' });
  const worker = startFixture('fidelity', { mode: 'throw', group: wg.share() });
  await new Promise((resolve) => worker.once('message', resolve));
  // Overwrite the second failure's envelope in the shared log, as a stray writer could.
  const { log, tree } = wg.share().tree;
  const maxFailures = new Int32Array(tree)[T_MAX_FAILURES] ?? 0;
  const index = new Int32Array(log);
  const offset = FailureLog.indexBytes(maxFailures) + (index[LOG_ENTRY_WORDS + L_OFFSET] ?? 0);
  new Uint8Array(log, offset, index[LOG_ENTRY_WORDS + L_LENGTH] ?? 0).fill(0xff);
  const error = await wg.wait({ timeout: 20_000 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TaskGroupError);
  const { errors, origins } = error as TaskGroupError;
  expect(errors[0]).toBeInstanceOf(Error);
  expect(errors[1]).toMatch(/^\[unreadable failure envelope/);
  expect(errors).toHaveLength(cases.length);
  // The origin travels inside the envelope, so the corrupt one's is unknown; the others are intact.
  expect(origins.map((o) => o.label)).toEqual(cases.map((c, i) => (i === 1 ? undefined : c.name)));
  expect(errors[2]).toBeInstanceOf(RangeError);
});
