// What every scenario module shares: the run's settings, a scenario's shape, progress on stderr,
// and a garbage collector to call between measurements.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Row } from './stats.js';

/** Settings of one run of the suite. */
export interface Settings {
  /** Small sizes and one sample: proves each scenario runs, says nothing about speed. */
  readonly quick: boolean;
  /** Samples per series, overriding each scenario's default. */
  readonly samples: number | undefined;
  /** Groups of the churn scenario (9), overriding its default. */
  readonly churnGroups?: number | undefined;
}

export interface Scenario {
  /** Its number in the table. */
  readonly id: number;
  /** Short name, also accepted as a filter. */
  readonly name: string;
  readonly run: (settings: Settings) => Promise<Row[]>;
}

/** Samples to take: the user's choice, else 1 in quick mode, else the scenario's default. */
export function samplesOf(settings: Settings, fallback: number): number {
  return settings.samples ?? (settings.quick ? 1 : fallback);
}

/** Prints progress to stderr, so that stdout holds the table alone. */
export function progress(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options?: { type: 'major' }) => void;

/** Runs a full garbage collection twice (weak references and finalizers need a second pass). */
export function gc(): void {
  collect();
  collect();
}

/** Runs `rounds` rounds; each runs every series once, back to back, starting one further each round. */
export async function alternate(rounds: number, series: readonly (() => Promise<void>)[]): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so that no series always runs first (after a pause) or last.
    for (let k = 0; k < series.length; k++) await series[(round + k) % series.length]?.();
  }
}
