// Printing what an exploration found: one summary line per scenario, and counterexamples as traces.
import type { Report, Violation } from './explorer.js';
import type { Scope } from './scope.js';

/** The scope in one line, as the CLI's flags would set it. */
export function formatScope(scope: Scope): string {
  const parts = [`rounds=${scope.rounds}`, `deaths=${scope.deaths}`, `sweepers=${scope.sweepers}`];
  if (scope.deaths > 0 && scope.mortalWorkers < 2) parts.push(`mortal-workers=${scope.mortalWorkers}`);
  if (scope.mortalSweepers) parts.push('mortal-sweepers');
  if (!scope.failures) parts.push('no-failures');
  if (scope.bugs.length > 0) parts.push(`bugs=${scope.bugs.join('+')}`);
  if (scope.fixes.length > 0) parts.push(`fixes=${scope.fixes.join('+')}`);
  return parts.join(' ');
}

/** One line: states, transitions, depth, time, and what was found. */
export function formatSummary(report: Report): string {
  const found = report.violations.length === 0 ? 'no violation' : `VIOLATED: ${report.violations.map((v) => v.name).join(', ')}`;
  const bounds = `${report.complete ? '' : ' (state limit hit: incomplete)'}${report.truncated > 0 ? ` (${report.truncated} states at the depth bound)` : ''}`;
  return `${report.states} states, ${report.transitions} transitions, max depth ${report.maxDepth}, ${report.quiescent} quiescent, ${report.ms} ms${bounds}: ${found}`;
}

/** A counterexample: the broken invariant, then each step with the memory after it. */
export function formatViolation(violation: Violation): string {
  const width = Math.max(4, ...violation.trace.map((step) => step.thread.length));
  const labels = Math.max(4, ...violation.trace.map((step) => step.label.length));
  const lines = violation.trace.map((step, index) => {
    const note = step.note === '' ? '' : `  (${step.note})`;
    return `  ${String(index + 1).padStart(3)}. ${step.thread.padEnd(width)} ${step.label.padEnd(labels)}  ${step.memory}${note}`;
  });
  return [`${violation.name}: ${violation.message}`, ...lines].join('\n');
}
