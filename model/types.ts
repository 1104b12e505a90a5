// What a model gives the explorer, and what the explorer reports.
import type { ThreadSpec, ThreadView } from './program.js';

/** A property of a state; returns a description of what is wrong, or undefined. */
export interface Invariant {
  readonly name: string;
  readonly check: (view: StateView) => string | undefined;
}

/** A state as invariants and trace printers see it. */
export interface StateView {
  readonly mem: readonly number[];
  readonly ghost: readonly number[];
  readonly threads: readonly ThreadView[];
}

/** Why a thread asleep at a quiescent state is a bug: a lost wake-up or a hang. */
export type SleeperCheck = (view: StateView, sleeper: ThreadView, word: number) => { name: string; message: string };

/** What the explorer checks: threads, memory, and the properties that must hold. */
export interface Model {
  readonly name: string;
  readonly memory: readonly number[];
  readonly ghost: readonly number[];
  readonly threads: readonly ThreadSpec[];
  /** Most deaths in one run. */
  readonly maxDeaths: number;
  /** Threads that start when `ended` ends (dies, or finishes its program): its sweepers. */
  readonly onEnd?: (ended: ThreadSpec, how: 'died' | 'finished') => readonly ThreadSpec[];
  /** Checked at every state. */
  readonly invariants: readonly Invariant[];
  /** Checked at quiescent states: no thread can take a step (all ended, asleep or blocked). */
  readonly quiescent: readonly Invariant[];
  /** Names a thread asleep for ever; default: a deadlock. */
  readonly sleeper?: SleeperCheck;
  /** One line of memory for traces. */
  readonly describe?: (view: StateView) => string;
}

/** One line of a counterexample. */
export interface TraceStep {
  readonly thread: string;
  readonly label: string;
  readonly note: string;
  /** Memory after the step, as the model describes it. */
  readonly memory: string;
}

/** A broken invariant and the shortest path the search knows to it. */
export interface Violation {
  readonly name: string;
  readonly message: string;
  readonly trace: readonly TraceStep[];
}

/** Options of one exploration. */
export interface ExploreOptions {
  /** Stop at the first violation (default); else keep the first of each name and go on. */
  readonly stopAtFirst?: boolean;
  /** Stop as soon as a violation of one of these names is found (implies stopAtFirst: false). */
  readonly stopOn?: readonly string[];
  /** States deeper than this are counted but not expanded (default: no bound). */
  readonly depth?: number;
  /** Give up after this many states (the report says incomplete). */
  readonly maxStates?: number;
  /** dfs (default) or bfs: bfs finds the shortest counterexamples, with more memory. */
  readonly strategy?: 'dfs' | 'bfs';
  /** Apply the partial-order reduction of private steps (Step.private); default false. */
  readonly reduce?: boolean;
  /**
   * Compare states by their whole content (slower, more memory) instead of a 96-bit hash of it
   * (hash compaction, as SPIN's: two distinct states share a hash with a probability of about
   * n^2 / 2^97 for n states, below 10^-16 for a million, and a shared hash can only hide a state,
   * never report a violation that is not there). Default false.
   */
  readonly exact?: boolean;
}

/** What an exploration found. */
export interface Report {
  readonly model: string;
  readonly states: number;
  readonly transitions: number;
  readonly maxDepth: number;
  /** States where no thread could step. */
  readonly quiescent: number;
  /** States not expanded because of the depth bound. */
  readonly truncated: number;
  /** False if the state limit stopped the search before it had seen everything in scope. */
  readonly complete: boolean;
  readonly violations: readonly Violation[];
  readonly ms: number;
}
