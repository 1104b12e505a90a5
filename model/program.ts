// The language models are written in: a thread runs a program, a list of labelled steps, each one
// atomic with respect to every other thread. A step reads and writes the simulated shared memory
// (an array of numbered words), the thread's own locals, and the ghost words (bookkeeping that only
// invariants read: which task holds a slot, how often a unit was taken). One step should make at
// most one access to shared memory, as one Atomics call does: whatever a real thread does between
// two of them, another thread (or its own death) may come in between.

/** Returned by a step to end its thread's program (the thread has finished, alive). */
export const END: unique symbol = Symbol('end');

/** Where a step goes next: a label of the same program, END, or undefined for the step that follows. */
export type Next = string | typeof END | undefined;

/** How a thread stands. */
export type Status = 'running' | 'asleep' | 'finished' | 'dead';

/** What a step may read of another thread: enough to model "has the sender died?". */
export interface ThreadView {
  readonly name: string;
  readonly status: Status;
  /** Label of the step the thread runs next (or ran last, once it has ended). */
  readonly label: string;
  readonly locals: readonly number[];
}

/** What a step's guard sees: the state, read-only. */
export interface GuardContext {
  readonly mem: readonly number[];
  readonly ghost: readonly number[];
  readonly locals: readonly number[];
  readonly threads: readonly ThreadView[];
}

/** What a step sees and changes while it runs. */
export interface StepContext {
  readonly mem: number[];
  readonly ghost: number[];
  readonly locals: number[];
  readonly threads: readonly ThreadView[];
  /**
   * Atomics.wait: if word `word` holds `expected` now (in the same atomic step), the thread sleeps
   * until a notify of that word, then resumes at the step this one returns. No timeout and no
   * spurious wake: a timeout would hide exactly the lost wake-ups the explorer looks for.
   * @returns true if the thread went to sleep
   */
  wait(word: number, expected: number): boolean;
  /** Atomics.notify: wakes every thread asleep on `word`; returns how many it woke. */
  notify(word: number): number;
  /** Adds a detail to this step's line of a trace (which slot, what was read). */
  note(text: string): void;
  /** Reports a broken invariant seen at this step (a check that needs the instant, not the state). */
  violate(name: string, message: string): void;
}

/** One atomic step of a program. */
export interface Step {
  /** Unique in its program: traces show it, and other steps jump to it. */
  readonly label: string;
  /**
   * A step that touches only the thread's locals (a branch, a loop counter): it runs at once after
   * the step before it, with no interleaving point, since no other thread can tell the difference.
   * Nor can a death: a dead thread's locals are gone either way.
   */
  readonly local?: boolean;
  /**
   * A step that writes only words its thread owns (ThreadSpec.owns: words no other thread reads
   * or writes while it lives, such as its own journal's step word), reads of shared words only
   * bits no other thread changes, and no ghost word. Under ExploreOptions.reduce, no other move
   * is interleaved before it (only its thread's death): see Search#reduced.
   */
  readonly private?: boolean;
  /** False while the thread cannot run this step (it waits for a message); default always true. */
  readonly enabled?: (ctx: GuardContext) => boolean;
  /** Runs the step atomically; a step that returns nothing goes on to the next one. */
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- lets a straight-line step end without `return undefined`
  readonly run: (ctx: StepContext) => Next | void;
}

/** A compiled program: its steps and the index of each label. */
export interface Program {
  readonly name: string;
  readonly steps: readonly Step[];
  readonly at: ReadonlyMap<string, number>;
}

/** A run of steps, usually one operation (an add, a done); `${prefix}.end` names the step after it. */
export interface Block {
  readonly prefix: string;
  readonly steps: readonly Step[];
}

/**
 * Compiles blocks into one program. Labels must be unique; each block's `${prefix}.end` is an alias
 * of the next block's first step (or of the end of the program), so that an operation can skip its
 * own remaining steps without knowing what follows it.
 */
export function program(name: string, blocks: readonly Block[]): Program {
  const steps: Step[] = [];
  const at = new Map<string, number>();
  for (const block of blocks) {
    for (const step of block.steps) {
      if (at.has(step.label)) throw new Error(`program ${name}: label ${step.label} used twice`);
      at.set(step.label, steps.length);
      steps.push(step);
    }
    // The step after the block: the index one past the last step means the end of the program.
    at.set(`${block.prefix}.end`, steps.length);
  }
  return { name, steps, at };
}

/** A thread of a model: a program, its initial locals, and whether the scope may kill it. */
export interface ThreadSpec {
  readonly name: string;
  readonly program: Program;
  readonly locals: readonly number[];
  /** Whether the scope may kill it: always, never, or depending on its locals (e.g. once it has claimed work). */
  readonly mortal: boolean | ((locals: readonly number[]) => boolean);
  /** Whether the thread owns `word` (given its locals) for Step.private; default: it owns nothing. */
  readonly owns?: (word: number, locals: readonly number[]) => boolean;
}
