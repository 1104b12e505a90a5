// Live progress, read from the group's stats() on an unref'd interval: a cli-progress bar when
// stdout is a terminal, plain lines (one a second, and one at the end) when it is not.
import cliProgress from 'cli-progress';
import type { WaitGroup, WaitGroupStats } from '../src/index.js';
import { fmt, seconds } from './format.js';

export interface Progress {
  /** Stops polling, shows the last state, and leaves the cursor on a fresh line. */
  stop(): void;
}

/**
 * @param group - the group whose units are counted
 * @param total - the units the run will add in all (the bar's end)
 * @param started - performance.now() when the run began
 */
export function startProgress(group: WaitGroup, total: number, started: number): Progress {
  return process.stdout.isTTY ? barProgress(group, total) : lineProgress(group, total, started);
}

function payload(stats: WaitGroupStats): { pending: string; failed: string } {
  return { pending: fmt(stats.pending), failed: fmt(stats.failed) };
}

function barProgress(group: WaitGroup, total: number): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: 'progress {bar} {percentage}% | {value}/{total} units | {pending} pending | {failed} failed | ETA {eta_formatted}',
      stream: process.stdout,
      hideCursor: true,
      barsize: 30,
      etaBuffer: 50,
      formatValue: (value, _options, type) => (type === 'value' || type === 'total' ? fmt(value) : String(value)),
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload(group.stats()));
  const update = (): void => {
    const stats = group.stats();
    bar.update(stats.done, payload(stats));
  };
  const timer = setInterval(update, 100);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      update();
      bar.stop();
    },
  };
}

function lineProgress(group: WaitGroup, total: number, started: number): Progress {
  let last = '';
  const print = (): void => {
    const stats = group.stats();
    const percent = total === 0 ? 100 : Math.floor((100 * stats.done) / total);
    const line = `progress: ${String(percent).padStart(3)}% | ${fmt(stats.done)}/${fmt(total)} units | ${fmt(stats.pending)} pending | ${fmt(stats.failed)} failed`;
    if (line === last) return;
    last = line;
    console.log(`${line} | ${seconds(performance.now() - started)}`);
  };
  const timer = setInterval(print, 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      print();
    },
  };
}
