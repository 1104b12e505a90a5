// Statistics and the printed table of the benchmark suite. Every row compares our figure with a
// baseline measured in the same run: samples are interleaved (ours, baseline, ours, ...) so that the
// machine's drift hits both alike, and the verdict is taken on medians, never on single samples.

/** Median, quartiles and extremes of a set of samples. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
}

/** Linear-interpolated quantile `q` (0 to 1) of ascending `sorted`. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const lower = sorted[low] ?? Number.NaN;
  const upper = sorted[Math.min(low + 1, sorted.length - 1)] ?? lower;
  return lower + (upper - lower) * (at - low);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** A measured series: what it is, its unit, and every sample. */
export interface Series {
  readonly label: string;
  readonly unit: string;
  readonly samples: number[];
}

/**
 * How a row passes. `max` bounds the ratio ours ÷ baseline (both costs: lower is better); `check`
 * is an extra condition (e.g. nothing lost); a row with neither only reports.
 */
export interface Goal {
  readonly text: string;
  readonly max?: number;
  readonly check?: { readonly ok: boolean; readonly why: string };
}

export interface Row {
  /** Scenario number and letter, e.g. '3c'. */
  readonly id: string;
  readonly title: string;
  readonly ours: Series;
  readonly baseline: Series;
  readonly goal: Goal;
  /**
   * One ratio per round, ours ÷ baseline measured back to back, when the samples themselves do not
   * pair up (e.g. per-round medians of latencies). Default: sample i of ours ÷ sample i of baseline,
   * when both series have as many samples (each round ran both).
   */
  readonly pairs?: readonly number[];
  /** Figures worth printing under the table (e.g. bytes per task, what the baseline lost). */
  readonly note?: string;
}

/** PASS / FAIL when the goal is met or missed beyond the noise; NOISY when the noise straddles it. */
export type Result = 'PASS' | 'FAIL' | 'NOISY' | 'REPORT';

/** A row with its verdict, as printed and as written to the results file. */
export interface Verdict {
  readonly id: string;
  readonly title: string;
  readonly ours: Series & { readonly summary: Summary };
  readonly baseline: Series & { readonly summary: Summary };
  /** Median of ours ÷ median of baseline. */
  readonly ratio: number;
  /** Interquartile range of the per-round ratios: how far the ratio moved from round to round. */
  readonly ratioIqr: readonly [number, number];
  readonly goal: string;
  readonly result: Result;
  readonly spread: string;
  readonly note?: string;
}

/** Relative half-interquartile range, the row's spread: "±4%". */
function halfIqr(summary: Summary): string {
  if (summary.n < 2 || summary.median === 0) return 'n=1';
  return `±${((100 * (summary.p75 - summary.p25)) / 2 / Math.abs(summary.median)).toFixed(summary.p75 === summary.p25 ? 0 : 1)}%`;
}

/** The per-round ratios of a row: given, or paired sample by sample, or (unpaired) the quartiles crossed. */
function roundRatios(row: Row, ours: Summary, baseline: Summary): number[] {
  if (row.pairs !== undefined) return [...row.pairs];
  const a = row.ours.samples;
  const b = row.baseline.samples;
  if (a.length === b.length) return a.map((value, i) => value / (b[i] ?? Number.NaN));
  return [ours.p25 / baseline.p75, ours.p75 / baseline.p25];
}

/**
 * The verdict of a row. The ratio of medians must meet the goal, and so must the per-round ratios
 * of at least three rounds in four (their upper quartile): a PASS that the machine's noise could
 * have produced is reported as NOISY, and so is a FAIL that the noise could have produced.
 */
export function judge(row: Row): Verdict {
  const ours = summarize(row.ours.samples);
  const baseline = summarize(row.baseline.samples);
  const ratio = ours.median / baseline.median;
  const rounds = summarize(roundRatios(row, ours, baseline));
  const ratioIqr = [rounds.p25, rounds.p75] as const;
  const max = row.goal.max;
  const check = row.goal.check?.ok ?? true;
  let result: Result = 'REPORT';
  if (max !== undefined) {
    if (!check || (ratio > max && rounds.p25 > max)) result = 'FAIL';
    else if (ratio <= max && rounds.p75 <= max) result = 'PASS';
    else result = 'NOISY';
  } else if (row.goal.check !== undefined) {
    result = check ? 'PASS' : 'FAIL';
  }
  const note = [row.note, row.goal.check?.why].filter((part) => part !== undefined && part !== '').join('; ');
  return {
    id: row.id,
    title: row.title,
    ours: { ...row.ours, summary: ours },
    baseline: { ...row.baseline, summary: baseline },
    ratio,
    ratioIqr,
    goal: row.goal.text,
    result,
    spread: `${halfIqr(ours)} / ${halfIqr(baseline)} (n=${ours.n}/${baseline.n})`,
    ...(note === '' ? {} : { note }),
  };
}

/** A figure with 3 significant digits and its unit. */
export function figure(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)} ${unit}`;
}

function ratioText(ratio: number): string {
  return ratio >= 100 ? `${ratio.toFixed(0)}x` : ratio >= 10 ? `${ratio.toFixed(1)}x` : `${ratio.toFixed(3)}x`;
}

/** The plain-text table: one line per row, then the notes. */
export function table(verdicts: readonly Verdict[]): string {
  const header = ['#', 'scenario', 'ours (median)', 'baseline (median)', 'ratio', 'ratio IQR', 'goal', 'result', 'spread ours/base'];
  const lines = verdicts.map((v) => [
    v.id,
    `${v.title} [${v.ours.label} vs ${v.baseline.label}]`,
    figure(v.ours.summary.median, v.ours.unit),
    figure(v.baseline.summary.median, v.baseline.unit),
    ratioText(v.ratio),
    `${ratioText(v.ratioIqr[0])}-${ratioText(v.ratioIqr[1])}`,
    v.goal,
    v.result,
    v.spread,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)));
  const format = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ').trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('-+-');
  const notes = verdicts.filter((v) => v.note !== undefined).map((v) => `  ${v.id}: ${v.note ?? ''}`);
  return [format(header), rule, ...lines.map(format), ...(notes.length > 0 ? ['', 'notes:', ...notes] : [])].join('\n');
}

/** Nanoseconds since an arbitrary point, the same in every thread of the process. */
export function clock(): number {
  return Number(process.hrtime.bigint());
}
