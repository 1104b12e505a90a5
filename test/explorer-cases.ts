// The checks every protocol scenario gets (test/explorer.test.ts, test/explorer-v3.test.ts): in
// its test scope, no counterexample once its proposed fixes are applied; each hole it is known to
// have found without them; each planted bug found. A checker that never fails proves nothing.
import { expect, it } from 'vitest';
import { explore, type Report } from '../model/explorer.js';
import { formatViolation } from '../model/report.js';
import { scenario } from '../model/scenarios.js';

/**
 * Time allowed to one exploration: each is a fixed amount of CPU work (its state count), a few
 * seconds on an idle core, which the full suite's parallel files and a loaded machine can stretch
 * past the 30 s default without anything being wrong.
 */
export const EXPLORE_TIMEOUT = 120_000;

/** The counterexamples of a report, printed: what a failing assertion should show. */
export const found = (report: Report): string[] => report.violations.map(formatViolation);

/** The vitest cases of scenario `name`. */
export function scenarioCases(name: string): void {
  const s = scenario(name);
  const scope = s.test ?? s.scope;
  // Fixes are applied only where the protocol as committed has a known hole in this scenario.
  const fixes = s.known.length > 0 ? Object.keys(s.fixes) : [];
  const clean = { ...scope, fixes };
  const withFixes = fixes.length === 0 ? '' : ` (with ${fixes.join(', ')})`;
  if (s.known.length === 0 || fixes.length > 0) {
    it(`${name}: no counterexample in scope${withFixes}`, () => {
      const report = explore(s.build(clean), { reduce: true });
      expect(found(report)).toEqual([]);
      expect(report.complete).toBe(true);
      expect(report.states).toBeGreaterThan(1000);
    }, EXPLORE_TIMEOUT);
  }
  if (s.known.length > 0 && fixes.length === 0) {
    it(`${name}: finds each of its known holes (${s.known.join(', ')})`, () => {
      const report = explore(s.build(scope), { reduce: true, stopAtFirst: false, strategy: 'bfs' });
      expect(report.violations.map((v) => v.name).sort()).toEqual([...s.known].sort());
    }, EXPLORE_TIMEOUT);
  } else if (s.known.length > 0) {
    it(`${name}: without the fixes, finds its known hole (${s.known.join(', ')})`, () => {
      const report = explore(s.build(scope), { reduce: true, stopOn: s.known });
      const names = report.violations.map((v) => v.name);
      expect(names.some((n) => s.known.includes(n))).toBe(true);
      expect(names.filter((n) => !s.known.includes(n))).toEqual([]);
    }, EXPLORE_TIMEOUT);
  }
  for (const [bug, finds] of Object.entries(s.bugs)) {
    it(`${name}: finds the planted bug ${bug} (${finds})`, () => {
      const report = explore(s.build({ ...clean, bugs: [bug] }), { reduce: true, stopOn: [finds] });
      expect(report.violations.map((v) => v.name)).toContain(finds);
    }, EXPLORE_TIMEOUT);
  }
}
