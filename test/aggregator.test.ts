// The aggregator's robustness: the private exit channel ignores whatever is not a well-formed
// notice about a thread that has really exited, its name cannot be guessed, and a failure that cannot be rebuilt
// never costs the others.
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { afterEach, expect, it } from 'vitest';
import { Task, TaskGroupError, WaitGroup, WorkerExitedError, type SharedTask } from '../src/index.js';
import { L_LENGTH, L_OFFSET, LOG_ENTRY_WORDS, T_MAX_FAILURES } from '../src/memory/layout.js';
import { FailureLog } from '../src/memory/failure-log.js';
import { Tree } from '../src/memory/tree.js';
import { exitChannelOf } from '../src/platform/exits.js';
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
  const { name } = exitChannelOf(Tree.attach(wg.share().tree).key);
  const channel = new BroadcastChannel(name);
  const probe = new BroadcastChannel(name);
  const kind = 'shared-waitgroup/exit';
  const garbage: unknown[] = [
    'garbage',
    42,
    null,
    {},
    [kind, 1, alive],
    { kind },
    { kind, v: 1, threadId: alive },
    { kind: 'other', v: 2, threadId: alive },
    { kind, v: 2, threadId: String(alive) },
    { kind, v: 2, threadId: alive + 0.5 },
    { kind, v: 2, threadId: alive, exitCode: 'crashed' },
    { kind, v: 2, threadId },
    { kind, v: 2, threadId: 0 },
    // Well-formed, but the worker is alive: channel names are public, so any code can post this.
    // Acting on it would fail the live worker's tasks.
    { kind, v: 2, threadId: alive, exitCode: 99 },
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

it('posts no notice for the exit of a thread that shared nothing, and one for a thread that held a shared tree', async () => {
  const heard: unknown[] = [];
  const listeners = Array.from({ length: 64 }, (_, index) => {
    const port = new BroadcastChannel(`shared-waitgroup/exits/${index}`);
    port.onmessage = (event: unknown) => heard.push({ index, data: (event as { data: unknown }).data });
    return port;
  });
  try {
    // Its own private group only: nobody else can hold anything of it.
    const bystander = startFixture('bystander');
    await new Promise((resolve) => bystander.once('message', resolve));
    const quiet = bystander.threadId;
    await bystander.terminate();
    // Then a worker that holds a task of a shared group (it ends by itself, or is terminated).
    const wg = new WaitGroup({ name: 'held' });
    const worker = startFixture('idle', { wg: wg.share() });
    const exitCode = new Promise<number>((resolve) => worker.once('exit', resolve));
    const { data } = await new Promise<{ data: { threadId: number } }>((resolve) => worker.once('message', resolve));
    const arrived = new Promise((resolve) => (listeners[exitChannelOf(Tree.attach(wg.share().tree).key).index] ?? listeners[0])?.addEventListener('message', resolve));
    await worker.terminate();
    await arrived;
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual([{ index: exitChannelOf(Tree.attach(wg.share().tree).key).index, data: { kind: 'shared-waitgroup/exit', v: 2, threadId: data.threadId, exitCode: await exitCode } }]);
    expect(heard.some((notice) => JSON.stringify(notice).includes(`"threadId":${quiet},`))).toBe(false);
    await expect(wg.wait({ timeout: 20_000 })).rejects.toMatchObject({ code: 'ERR_TASKS_FAILED' });
  } finally {
    for (const port of listeners) port.close();
  }
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
