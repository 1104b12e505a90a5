// Scenario 9: group churn, one group per request (issue #11). Each sample is a run of
// benchmarks/churn-run.ts in a child process of its own, so that its memory mappings and RSS are
// its own: groups created and dropped, 500 in flight, no gc(). The baseline serves the same
// requests without a group (mode 'bare'). `--churn-groups N` sets the number of groups (default
// 100,000; `npm run bench:churn` runs 1,000,000 alone).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ChurnMode, ChurnResult } from './churn.js';
import { progress, samplesOf, type Scenario } from './scenario.js';
import type { Row } from './stats.js';

/** The goal: peak mappings of a churning process. */
const MAX_MAPPINGS = 1000;
const IN_FLIGHT = 500;
const RUNNER = fileURLToPath(new URL('./churn-run.js', import.meta.url));

async function run(mode: ChurnMode, groups: number): Promise<ChurnResult> {
  const { stdout } = await promisify(execFile)(process.execPath, [RUNNER, '--mode', mode, '--groups', String(groups), '--in-flight', String(IN_FLIGHT)], {
    timeout: 30 * 60_000,
  });
  return JSON.parse(stdout) as ChurnResult;
}

export const churn: Scenario = {
  id: 9,
  name: 'churn',
  run: async (settings) => {
    const groups = settings.churnGroups ?? (settings.quick ? 10_000 : 100_000);
    const rounds = samplesOf(settings, 3);
    progress(`9: ${rounds} x ${groups.toLocaleString('en')} groups, one per request, ${IN_FLIGHT} in flight, each in a child process (I/O, no I/O, bare)`);
    const io: ChurnResult[] = [];
    const tight: ChurnResult[] = [];
    const bare: ChurnResult[] = [];
    for (let round = 0; round < rounds; round++) {
      io.push(await run('io', groups));
      bare.push(await run('bare', groups));
      tight.push(await run('tight', groups));
    }
    const all = [...io, ...tight];
    const complete = all.every((result) => result.completed === groups && !result.stopped);
    const peak = Math.max(...all.map((result) => result.peakMaps));
    const title = `${groups.toLocaleString('en')} groups, one per request, ${IN_FLIGHT} in flight, no gc()`;
    const perSecond = (results: readonly ChurnResult[]): string => results.map((result) => Math.round(result.groupsPerSecond).toLocaleString('en')).join('/');
    const rows: Row[] = [
      {
        id: '9a',
        title: `churn: ${title}`,
        ours: { label: 'group per request', unit: 'µs/request', samples: io.map((result) => (1e6 * result.seconds) / result.completed) },
        baseline: { label: 'bare request', unit: 'µs/request', samples: bare.map((result) => (1e6 * result.seconds) / result.completed) },
        goal: { text: 'reported' },
        note: `groups/s: ${perSecond(io)} (bare: ${perSecond(bare)} requests/s; no I/O: ${perSecond(tight)} groups/s)`,
      },
      {
        id: '9b',
        title: `churn: peak memory mappings, ${title}`,
        ours: { label: 'group per request', unit: 'mappings', samples: io.map((result) => result.peakMaps) },
        baseline: { label: 'bare request', unit: 'mappings', samples: bare.map((result) => result.peakMaps) },
        goal: {
          text: `< ${MAX_MAPPINGS}, every group served`,
          check: { ok: complete && peak < MAX_MAPPINGS, why: `peak ${peak} mappings (no I/O: ${tight.map((result) => result.peakMaps).join('/')})${complete ? '' : '; a run stopped before its last group'}` },
        },
      },
      {
        id: '9c',
        title: `churn: peak RSS, ${title}`,
        ours: { label: 'group per request', unit: 'MB', samples: io.map((result) => result.peakRssMB) },
        baseline: { label: 'bare request', unit: 'MB', samples: bare.map((result) => result.peakRssMB) },
        goal: { text: 'reported' },
        note: `no I/O (one job): ${tight.map((result) => result.peakRssMB.toFixed(0)).join('/')} MB`,
      },
    ];
    return rows;
  },
};
