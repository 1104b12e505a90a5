// The model checker on the parts of protocol v3 between groups: sub-groups (every laned step and
// its recovery at each level of a chain) and links (a wait over linked groups returns only on a
// snapshot, and the v2 reading of each group in turn must be caught), a group's `limit` (running
// counts exact, never above the limit, no queued go() left asleep after a death) and cancel (the
// journaled reason, a half-done cancel finished by the sweep), in a file of its own so that vitest runs it beside the
// other explorer files on the other core.
import { describe } from 'vitest';
import { scenarioCases } from './explorer-cases.js';

describe('explorer: protocol v3 across groups', () => {
  for (const name of ['v3-subgroup', 'v3-subgroup-root', 'v3-links', 'v3-limit', 'v3-cancel']) scenarioCases(name);
});
