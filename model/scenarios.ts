// Every scenario the CLI and the tests know, by name.
import type { Scenario } from './scope.js';
import { v2Scenarios } from './v2/scenarios.js';
import { v3Scenarios } from './v3/scenarios.js';

/** All scenarios: protocol v2 (commit 6cab03b, with its known holes), then v3. */
export const scenarios: readonly Scenario[] = [...v2Scenarios, ...v3Scenarios];

/** The scenario called `name`; throws naming the known ones otherwise. */
export function scenario(name: string): Scenario {
  const found = scenarios.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no scenario ${name}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  return found;
}
