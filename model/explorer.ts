// An explicit-state model checker: from a model's initial state it enumerates every interleaving of
// its threads' atomic steps, and at every point also the death of any mortal thread (a worker
// terminated between two Atomics calls), after which the model's sweepers for that thread start.
// States are compared by their whole content (memory, ghost words, and every thread's program
// counter, status and locals), so each distinct state is expanded once. No partial-order reduction:
// the one reduction made is running a thread's purely local steps together with the step before
// them (see Step.local), which no other thread can observe.
import { END, type Next, type Step, type StepContext, type ThreadSpec, type ThreadView } from './program.js';
import type { ExploreOptions, Model, Report, StateView, TraceStep, Violation } from './types.js';

export type { ExploreOptions, Invariant, Model, Report, SleeperCheck, StateView, TraceStep, Violation } from './types.js';
import { Keys, clone, type State, type Thread } from './state.js';

interface Node {
  readonly state: State;
  readonly key: string;
  readonly depth: number;
  readonly parent: Node | undefined;
  /** The move that led here; its memory column is drawn from `state` only when a trace is printed. */
  readonly line: Omit<TraceStep, 'memory'> | undefined;
}

/** A step of thread `thread`, or its death. */
interface Move {
  readonly thread: number;
  readonly die: boolean;
}

/** Explores every state of `model` within the options' bounds. */
export function explore(model: Model, options: ExploreOptions = {}): Report {
  return new Search(model, options).run();
}

class Search {
  readonly #model: Model;
  readonly #options: ExploreOptions;
  /** Thread specs by index: a state names a thread's spec by its index here. */
  readonly #specs: ThreadSpec[] = [];
  readonly #specIds = new Map<ThreadSpec, number>();
  /** Depth at which each state was first reached (re-expanded only if reached shallower under a depth bound). */
  readonly #seen = new Map<string, number>();
  readonly #violations = new Map<string, Violation>();
  readonly #keys: Keys;
  #transitions = 0;
  #maxDepth = 0;
  #quiescent = 0;
  #truncated = 0;

  constructor(model: Model, options: ExploreOptions) {
    this.#model = model;
    this.#options = options;
    this.#keys = new Keys(options.exact === true);
  }

  run(): Report {
    const started = performance.now();
    const model = this.#model;
    const initial: State = { mem: [...model.memory], ghost: [...model.ghost], threads: model.threads.map((spec) => this.#thread(spec)), deaths: 0 };
    const root: Node = { state: initial, key: this.#key(initial), depth: 0, parent: undefined, line: undefined };
    const stopOn = this.#options.stopOn;
    const stopAtFirst = stopOn === undefined && (this.#options.stopAtFirst ?? true);
    const done = (): boolean => (stopAtFirst && this.#violations.size > 0) || (stopOn?.some((name) => this.#violations.has(name)) ?? false);
    const maxStates = this.#options.maxStates ?? Infinity;
    const bfs = this.#options.strategy === 'bfs';
    // The frontier: a stack for depth-first, a queue (read from `head`) for breadth-first.
    const frontier: Node[] = [root];
    let head = 0;
    this.#seen.set(root.key, 0);
    let complete = true;
    while (head < frontier.length) {
      const node = must(bfs ? frontier[head++] : frontier.pop());
      if (bfs && head > 4096 && head * 2 > frontier.length) {
        // Drop the consumed half of the queue now and then, instead of shift() on every node.
        frontier.splice(0, head);
        head = 0;
      }
      if (!this.#visit(node)) {
        if (done()) break;
        continue;
      }
      const children = this.#successors(node);
      if (done()) break;
      // Reversed on the stack, so that depth-first tries the first thread's move first.
      if (!bfs) children.reverse();
      frontier.push(...children);
      if (this.#seen.size >= maxStates) {
        complete = false;
        break;
      }
    }
    return {
      model: model.name,
      states: this.#seen.size,
      transitions: this.#transitions,
      maxDepth: this.#maxDepth,
      quiescent: this.#quiescent,
      truncated: this.#truncated,
      complete,
      violations: [...this.#violations.values()],
      ms: Math.round(performance.now() - started),
    };
  }

  /** Checks a newly reached state. @returns false if it is not to be expanded. */
  #visit(node: Node): boolean {
    this.#maxDepth = Math.max(this.#maxDepth, node.depth);
    const view = this.#view(node.state);
    let ok = true;
    for (const invariant of this.#model.invariants) {
      const message = invariant.check(view);
      if (message === undefined) continue;
      this.#report(invariant.name, message, node);
      ok = false;
    }
    if (!ok) return false;
    if (this.#options.depth !== undefined && node.depth >= this.#options.depth) {
      this.#truncated++;
      return false;
    }
    return true;
  }

  #successors(node: Node): Node[] {
    const { state } = node;
    const moves: Move[] = [];
    state.threads.forEach((thread, index) => {
      if (thread.status === 'running' && this.#enabled(state, thread)) moves.push({ thread: index, die: false });
      const alive = thread.status === 'running' || thread.status === 'asleep';
      if (alive && state.deaths < this.#model.maxDeaths && this.#mortal(thread)) moves.push({ thread: index, die: true });
    });
    if (!moves.some((move) => !move.die)) this.#checkQuiescent(node);
    const children: Node[] = [];
    for (const child of this.#reduced(node, moves) ?? moves.map((move) => this.#apply(node, move))) {
      this.#transitions++;
      if (child === undefined) continue;
      const seenAt = this.#seen.get(child.key);
      // Seen already: skip, unless a depth bound cut it off deeper than it is reached now.
      if (seenAt !== undefined && (this.#options.depth === undefined || seenAt <= child.depth)) continue;
      this.#seen.set(child.key, child.depth);
      children.push(child);
    }
    return children;
  }

  /**
   * The partial-order reduction (ExploreOptions.reduce): if a thread's next step is private (see
   * Step.private), that step and that thread's death are the only moves from here. Every other
   * move commutes with the private step (nobody else reads or writes what it touches while the
   * thread lives), so any run that takes them first reaches, with the step taken first, the same
   * states but for words only that thread's sweeper will read; and a quiescent state can only be
   * reached through the step or the death. The step is checked as it runs: it must leave the
   * thread running, change no ghost word, and write only words its thread owns.
   * @returns the children, or undefined to expand every move
   */
  #reduced(node: Node, moves: readonly Move[]): (Node | undefined)[] | undefined {
    if (this.#options.reduce !== true) return undefined;
    for (const move of moves) {
      const thread = node.state.threads[move.thread];
      if (move.die || thread === undefined || this.#current(thread)?.private !== true) continue;
      const child = this.#apply(node, move);
      const after = child?.state.threads[move.thread];
      if (child === undefined || after?.status !== 'running') continue;
      this.#checkPrivate(node.state, child.state, thread);
      const death = moves.find((other) => other.die && other.thread === move.thread);
      return [child, death === undefined ? undefined : this.#apply(node, death)];
    }
    return undefined;
  }

  #checkPrivate(before: State, after: State, thread: Thread): void {
    const spec = this.#spec(thread);
    const label = this.#label(thread);
    if (before.ghost.some((value, at) => after.ghost[at] !== value)) throw new Error(`${spec.name}: private step ${label} changed a ghost word`);
    before.mem.forEach((value, word) => {
      if (after.mem[word] !== value && spec.owns?.(word, thread.locals) !== true) throw new Error(`${spec.name}: private step ${label} wrote word ${word}, which it does not own`);
    });
  }

  #checkQuiescent(node: Node): void {
    this.#quiescent++;
    const view = this.#view(node.state);
    for (const invariant of this.#model.quiescent) {
      const message = invariant.check(view);
      if (message !== undefined) this.#report(invariant.name, message, node);
    }
    node.state.threads.forEach((thread, index) => {
      const seen = must(view.threads[index]);
      if (thread.status === 'asleep') {
        const found = this.#model.sleeper?.(view, seen, thread.word) ?? { name: 'deadlock', message: `${seen.name} sleeps for ever at ${seen.label}` };
        this.#report(found.name, found.message, node);
      } else if (thread.status === 'running') {
        this.#report('blocked', `${seen.name} waits for ever at ${seen.label}`, node);
      }
    });
  }

  /** The state after `move`, or undefined when a step reported a violation (recorded, not expanded). */
  #apply(node: Node, move: Move): Node | undefined {
    const state = clone(node.state);
    const thread = must(state.threads[move.thread]);
    const spec = this.#spec(thread);
    const notes: string[] = [];
    const broken: { name: string; message: string }[] = [];
    let label: string;
    if (move.die) {
      label = 'DIES';
      notes.push(`at ${this.#label(thread)}`);
      this.#end(state, thread, 'died');
    } else {
      label = this.#label(thread);
      this.#runStep(state, move.thread, notes, broken);
      // Purely local steps run on at once: see Step.local.
      for (let step = this.#current(thread); thread.status === 'running' && step?.local === true; step = this.#current(thread)) {
        this.#runStep(state, move.thread, notes, broken);
      }
    }
    const key = this.#key(state);
    const line = { thread: spec.name, label, note: notes.join('; ') };
    const child: Node = { state, key, depth: node.depth + 1, parent: node, line };
    if (broken.length === 0) return child;
    for (const { name, message } of broken) this.#report(name, message, child);
    return undefined;
  }

  #runStep(state: State, index: number, notes: string[], broken: { name: string; message: string }[]): void {
    const thread = must(state.threads[index]);
    const spec = this.#spec(thread);
    const step = this.#current(thread);
    if (step === undefined) throw new Error(`${spec.name}: no step at ${thread.pc}`);
    let slept = -1;
    const views = this.#threadViews(state);
    const ctx: StepContext = {
      mem: state.mem,
      ghost: state.ghost,
      locals: thread.locals,
      threads: views,
      wait: (word, expected) => {
        if (state.mem[word] !== expected) return false;
        slept = word;
        return true;
      },
      notify: (word) => {
        let woken = 0;
        for (const other of state.threads) {
          if (other.status !== 'asleep' || other.word !== word) continue;
          other.status = 'running';
          other.word = -1;
          woken++;
        }
        return woken;
      },
      note: (text) => notes.push(text),
      violate: (name, message) => broken.push({ name, message: `${spec.name} at ${step.label}: ${message}` }),
    };
    const next: Next = step.run(ctx) ?? undefined;
    const pc = next === undefined ? thread.pc + 1 : next === END ? spec.program.steps.length : spec.program.at.get(next);
    if (pc === undefined) throw new Error(`${spec.name}: step ${step.label} jumps to unknown label ${String(next)}`);
    thread.pc = pc;
    if (slept >= 0) {
      thread.status = 'asleep';
      thread.word = slept;
    } else if (pc >= spec.program.steps.length) {
      this.#end(state, thread, 'finished');
    }
  }

  #end(state: State, thread: Thread, how: 'died' | 'finished'): void {
    thread.status = how === 'died' ? 'dead' : 'finished';
    thread.word = -1;
    if (how === 'died') state.deaths++;
    for (const spec of this.#model.onEnd?.(this.#spec(thread), how) ?? []) state.threads.push(this.#thread(spec));
  }

  #enabled(state: State, thread: Thread): boolean {
    const step = this.#current(thread);
    if (step?.enabled === undefined) return true;
    return step.enabled({ mem: state.mem, ghost: state.ghost, locals: thread.locals, threads: this.#threadViews(state) });
  }

  /** Records a violation, unless one of the same name is known already (the first is the shortest under bfs). */
  #report(name: string, message: string, node: Node): void {
    if (this.#violations.has(name)) return;
    const trace: TraceStep[] = [];
    for (let at: Node | undefined = node; at?.line !== undefined; at = at.parent) trace.push({ ...at.line, memory: this.#describe(at.state) });
    this.#violations.set(name, { name, message, trace: trace.reverse() });
  }

  #thread(spec: ThreadSpec): Thread {
    let id = this.#specIds.get(spec);
    if (id === undefined) {
      id = this.#specs.push(spec) - 1;
      this.#specIds.set(spec, id);
    }
    return { spec: id, pc: 0, status: spec.program.steps.length === 0 ? 'finished' : 'running', word: -1, locals: [...spec.locals] };
  }

  #mortal(thread: Thread): boolean {
    const { mortal } = this.#spec(thread);
    return typeof mortal === 'boolean' ? mortal : mortal(thread.locals);
  }

  #spec(thread: Thread): ThreadSpec {
    return must(this.#specs[thread.spec]);
  }

  #current(thread: Thread): Step | undefined {
    return this.#spec(thread).program.steps[thread.pc];
  }

  #label(thread: Thread): string {
    const steps = this.#spec(thread).program.steps;
    return (steps[thread.pc] ?? steps[steps.length - 1])?.label ?? 'end';
  }

  #threadViews(state: State): ThreadView[] {
    return state.threads.map((thread) => ({ name: this.#spec(thread).name, status: thread.status, label: this.#label(thread), locals: thread.locals }));
  }

  #view(state: State): StateView {
    return { mem: state.mem, ghost: state.ghost, threads: this.#threadViews(state) };
  }

  #describe(state: State): string {
    const view = this.#view(state);
    return this.#model.describe?.(view) ?? `mem=[${view.mem.join(',')}]`;
  }

  /** The state's identity: everything a future step or invariant can read (see state.ts). */
  #key(state: State): string {
    return this.#keys.key(state);
  }
}

/** An element the code has just made sure exists (noUncheckedIndexedAccess cannot know). */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('explorer: missing element');
  return value;
}
