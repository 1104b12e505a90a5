// An explicit-state model checker: from a model's initial state it enumerates every interleaving of
// its threads' atomic steps, and at every point also the death of any mortal thread (a worker
// terminated between two Atomics calls), after which the model's sweepers for that thread start.
// States are compared by their whole content (memory, ghost words, and every thread's program
// counter, status and locals), so each distinct state is expanded once. No partial-order reduction:
// the one reduction made is running a thread's purely local steps together with the step before
// them (see Step.local), which no other thread can observe.
import { END, type Next, type Status, type Step, type StepContext, type ThreadSpec, type ThreadView } from './program.js';

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
  /** States deeper than this are counted but not expanded (default: no bound). */
  readonly depth?: number;
  /** Give up after this many states (the report says incomplete). */
  readonly maxStates?: number;
  /** dfs (default) or bfs: bfs finds the shortest counterexamples, with more memory. */
  readonly strategy?: 'dfs' | 'bfs';
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

interface Thread {
  readonly spec: number;
  pc: number;
  status: Status;
  /** Word slept on, -1 when awake. */
  word: number;
  readonly locals: number[];
}

interface State {
  readonly mem: number[];
  readonly ghost: number[];
  readonly threads: Thread[];
  deaths: number;
}

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
  #transitions = 0;
  #maxDepth = 0;
  #quiescent = 0;
  #truncated = 0;

  constructor(model: Model, options: ExploreOptions) {
    this.#model = model;
    this.#options = options;
  }

  run(): Report {
    const started = performance.now();
    const model = this.#model;
    const initial: State = { mem: [...model.memory], ghost: [...model.ghost], threads: model.threads.map((spec) => this.#thread(spec)), deaths: 0 };
    const root: Node = { state: initial, key: this.#key(initial), depth: 0, parent: undefined, line: undefined };
    const stopAtFirst = this.#options.stopAtFirst ?? true;
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
      if (!this.#visit(node)) continue;
      if (stopAtFirst && this.#violations.size > 0) break;
      const children = this.#successors(node);
      if (stopAtFirst && this.#violations.size > 0) break;
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
      if (alive && this.#spec(thread).mortal && state.deaths < this.#model.maxDeaths) moves.push({ thread: index, die: true });
    });
    if (!moves.some((move) => !move.die)) this.#checkQuiescent(node);
    const children: Node[] = [];
    for (const move of moves) {
      this.#transitions++;
      const child = this.#apply(node, move);
      if (child === undefined) continue;
      const seenAt = this.#seen.get(child.key);
      // Seen already: skip, unless a depth bound cut it off deeper than it is reached now.
      if (seenAt !== undefined && (this.#options.depth === undefined || seenAt <= child.depth)) continue;
      this.#seen.set(child.key, child.depth);
      children.push(child);
    }
    return children;
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

  /** The state's identity: everything a future step or invariant can read. */
  #key(state: State): string {
    let key = `${state.mem.join(',')}/${state.ghost.join(',')}`;
    for (const t of state.threads) key += `/${t.spec}.${t.pc}.${t.status}.${t.word}.${t.locals.join('.')}`;
    return key;
  }
}

function clone(state: State): State {
  return {
    mem: [...state.mem],
    ghost: [...state.ghost],
    threads: state.threads.map((t) => ({ spec: t.spec, pc: t.pc, status: t.status, word: t.word, locals: [...t.locals] })),
    deaths: state.deaths,
  };
}

/** An element the code has just made sure exists (noUncheckedIndexedAccess cannot know). */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('explorer: missing element');
  return value;
}
