// Number and time formatting of the demo's output: fixed (en-US), so the output reads the same
// everywhere and the tests can parse it.

/** 1234567 -> '1,234,567'. */
export function fmt(n: number | bigint): string {
  return n.toLocaleString('en-US');
}

/** 1234.5 ms -> '1.23 s'. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** '1 part', '2 parts'. */
export function plural(n: number, word: string): string {
  return `${fmt(n)} ${word}${n === 1 ? '' : 's'}`;
}
