// The model checker on protocol v3 with thread deaths (the long scenarios, in a file of their own
// so that vitest runs them beside test/explorer.test.ts on the other core).
import { describe } from 'vitest';
import { scenarioCases } from './explorer-cases.js';

describe('explorer: protocol v3 with deaths', () => {
  for (const name of ['v3-death', 'v3-shared-death', 'v3-sweeper-death']) scenarioCases(name);
});
