// terminate() storms (issue 10): for each operation of the public API, a worker loops on it and is
// terminated after a seeded random number of iterations, so V8 stops it between two arbitrary steps
// of the operation; every kill must leave the exact outcome the library promises (see test/storm.ts
// for the checks). A bounded number of kills here; `npm run storm -- --kills 1000` runs many more.
import { afterEach, describe, expect, it } from 'vitest';
import { STORM_OPS, storm, terminateStorms } from './storm.js';

/** Kills per operation: about 0.15 s each on 2 cores, so the whole file stays well under a minute. */
const KILLS = 20;
const SEED = 10;

afterEach(terminateStorms);

describe('a worker terminated in the middle of an operation', () => {
  it.each(STORM_OPS)(
    '%s: its tasks fail with ERR_WORKER_EXITED, every wait settles, every count is exact',
    async (op) => {
      const summary = await storm(op, { kills: KILLS, seed: SEED });
      expect(summary.kills).toBe(KILLS);
      // The reasons, with how many kills gave each, are what a failure should show.
      expect({ op, wrong: summary.wrong, reasons: Object.fromEntries(summary.reasons) }).toEqual({ op, wrong: 0, reasons: {} });
    },
    60_000,
  );
});
