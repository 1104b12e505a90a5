// What the demo prints at the end: failures with their worker stacks and origins, the shutdown
// summary, and the pending tasks of a shutdown whose grace expired.
import { pathToFileURL } from 'node:url';
import type { FailureOrigin, PendingTask, TaskGroupError } from '../src/index.js';
import type { ShutdownReport } from '../src/integrations/piscina.js';
import { fmt, plural } from './format.js';

const here = `${pathToFileURL(process.cwd()).href}/`;

/** 'InjectedFailure E_INJECTED', 'Error', or the type of a thrown non-error. */
function kind(failure: unknown): string {
  if (!(failure instanceof Error)) return `thrown ${typeof failure}`;
  const code = (failure as { code?: unknown }).code;
  if (typeof code === 'string') return `${failure.name} ${code}`;
  // No code to tell failures apart (piscina's own errors): the message does.
  return `${failure.name} "${failure.message.length > 40 ? `${failure.message.slice(0, 39)}…` : failure.message}"`;
}

/** '3 x InjectedFailure E_INJECTED, 1 x WorkerExitedError ERR_WORKER_EXITED'. */
export function kinds(failures: readonly unknown[]): string {
  const counts = new Map<string, number>();
  for (const failure of failures) counts.set(kind(failure), (counts.get(kind(failure)) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${fmt(n)} x ${name}`).join(', ');
}

function where(origin: FailureOrigin | undefined): string {
  if (origin === undefined) return 'origin unknown';
  const task = origin.label === undefined ? '' : `, task "${origin.label}"`;
  return `${origin.threadId === 0 ? 'main thread' : `thread ${origin.threadId}`}, group ${origin.group}${task}`;
}

function stackOf(failure: unknown): string[] {
  const text = failure instanceof Error ? (failure.stack ?? `${failure.name}: ${failure.message}`) : String(failure);
  return text.split('\n').map((line) => line.replaceAll(here, ''));
}

/** Every failure of the group: a count by kind, then (unless `show` is 0) the first `show` with their origin and stack. */
export function printFailures(error: TaskGroupError, show: number): void {
  const total = error.errors.length + error.omitted;
  console.log(`failures: ${plural(total, 'task')} failed (${kinds(error.errors)}${error.omitted > 0 ? `, ${fmt(error.omitted)} more counted but not kept` : ''})`);
  error.errors.slice(0, show).forEach((failure, i) => {
    console.log(`  [${i + 1}] ${kind(failure)} in ${where(error.origins[i])}`);
    for (const line of stackOf(failure)) console.log(`      ${line}`);
  });
  const rest = total - Math.min(show, error.errors.length);
  if (show > 0 && rest > 0) console.log(`  ... and ${fmt(rest)} more (--show-errors to print more)`);
}

/**
 * Label, thread and age of pending tasks, at most `show`: those held by worker threads (running)
 * first, then those held by the main thread (pool tasks still queued), each oldest first.
 */
export function printPending(pending: readonly PendingTask[], show = 10): void {
  const now = Date.now();
  const queued = pending.filter((task) => task.threadId === 0);
  const listed = [...pending.filter((task) => task.threadId !== 0), ...queued];
  for (const task of listed.slice(0, show)) {
    const label = (task.label ?? '(no label)').padEnd(17);
    const thread = task.threadId === 0 ? 'main thread' : `thread ${task.threadId}`;
    console.log(`  pending  ${label}  ${thread.padEnd(11)}  ${fmt(now - task.since)} ms old`);
  }
  const rest = listed.length - Math.min(show, listed.length);
  if (rest > 0) console.log(`  ... and ${fmt(rest)} more (${fmt(Math.min(rest, queued.length))} of them pool tasks still queued, held by the main thread)`);
}

/** What the shutdown met: drained in time, or forced after the grace, with what was pending. */
export function printShutdown(report: ShutdownReport, grace: number, took: number): void {
  if (!report.timedOut) {
    console.log(`shutdown: drained in ${fmt(Math.round(took))} ms, nothing forced`);
    return;
  }
  console.log(`shutdown: the grace of ${fmt(grace)} ms expired with ${plural(report.pending.length, 'task')} pending; the pool was destroyed:`);
  printPending(report.pending);
}
