// `node dist/benchmarks/churn-run.js [--groups N] [--in-flight N] [--mode io|tight|bare] [--every N] [--stop-at-maps N]`:
// one churn run (benchmarks/churn.ts) in a process of its own, so that nothing else's mappings or
// heap count; prints its figures as one line of JSON. The test suite runs it in a child process, and
// `npm run bench:churn` runs the full million.
import { parseArgs } from 'node:util';
import { churn } from './churn.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'io' },
    groups: { type: 'string', default: '1000000' },
    'in-flight': { type: 'string', default: '500' },
    every: { type: 'string', default: '1000' },
    'stop-at-maps': { type: 'string', default: '30000' },
  },
});

function whole(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a whole number from 1 up; received ${text}`);
  return value;
}

if (values.mode !== 'io' && values.mode !== 'tight' && values.mode !== 'bare') throw new RangeError(`--mode must be io, tight or bare; received ${values.mode}`);
const result = await churn({
  mode: values.mode,
  groups: whole('groups', values.groups),
  inFlight: whole('in-flight', values['in-flight']),
  every: whole('every', values.every),
  stopAtMaps: whole('stop-at-maps', values['stop-at-maps']),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
