// The protocol model checker (model/): the search itself on tiny models, then the protocol
// scenarios (see explorer-cases.ts; the v3 scenarios with deaths are in explorer-v3.test.ts).
import { describe, expect, it } from 'vitest';
import { END, program, type Step } from '../model/program.js';
import { explore, type Model } from '../model/explorer.js';
import { scenario, scenarios } from '../model/scenarios.js';
import { EXPLORE_TIMEOUT, found, scenarioCases } from './explorer-cases.js';
import { H_FAILED, H_PENDING, H_RUNNING, OPF_FAILED, OPF_LIMITED, OP_ADD, OP_DONE, OP_DONE_SHARED, OP_LIMIT, PHASE_COUNT, PHASE_FAIL, PHASE_LIMIT, PHASE_LOWER, PHASE_TAKE, step } from '../src/memory/layout.js';
import { recoveryNeeds, recoveryPlan, type RecoveryFacts } from '../src/memory/recover.js';

describe('explorer: the search itself', () => {
  const writes = (word: number): Step[] => [
    { label: 'one', run: (ctx) => void (ctx.mem[word] = 1) },
    { label: 'two', run: (ctx) => void (ctx.mem[word] = 2) },
  ];
  const pair = (maxDeaths: number): Model => ({
    name: 'pair',
    memory: [0, 0],
    ghost: [],
    threads: [0, 1].map((word) => ({ name: `t${word}`, program: program(`t${word}`, [{ prefix: 'p', steps: writes(word) }]), locals: [], mortal: true })),
    maxDeaths,
    invariants: [],
    quiescent: [],
  });

  it('counts every interleaving once, and every death at every step', () => {
    // Each thread at step 0, 1 or finished: 3 x 3 states.
    expect(explore(pair(0)).states).toBe(9);
    // Each thread also dead at step 0 or 1 (5 ways), at most one of them dead: 25 - 2 x 2.
    expect(explore(pair(1)).states).toBe(21);
  });

  /** Two threads incrementing one word, by a load and a store (racy) or by one atomic add. */
  const counter = (racy: boolean): Model => {
    const steps: Step[] = racy
      ? [
          { label: 'load', run: (ctx) => void (ctx.locals[0] = ctx.mem[0] ?? 0) },
          { label: 'store', run: (ctx) => void (ctx.mem[0] = (ctx.locals[0] ?? 0) + 1) },
        ]
      : [{ label: 'add', run: (ctx) => void (ctx.mem[0] = (ctx.mem[0] ?? 0) + 1) }];
    const worker = program('inc', [{ prefix: 'inc', steps }]);
    return {
      name: 'counter',
      memory: [0],
      ghost: [],
      threads: ['a', 'b'].map((name) => ({ name, program: worker, locals: [0], mortal: false })),
      maxDeaths: 0,
      invariants: [],
      quiescent: [{ name: 'sum', check: (view) => (view.mem[0] === 2 ? undefined : `counter is ${view.mem[0] ?? 0}`) }],
    };
  };

  it('finds the lost update of a check-then-act increment, and passes the atomic one', () => {
    const racy = explore(counter(true));
    expect(racy.violations.map((v) => v.name)).toEqual(['sum']);
    expect(racy.violations[0]?.trace.map((s) => `${s.thread} ${s.label}`)).toEqual(['a load', 'b load', 'a store', 'b store']);
    expect(found(explore(counter(false)))).toEqual([]);
  });

  it('tells a sleeper that was never woken, and only when it would sleep', () => {
    // The waiter sleeps while the word is 0; the other thread sets it to 1, with or without a notify.
    const set: Step = { label: 'set', run: (ctx) => void (ctx.mem[0] = 1) };
    const wake: Step = { label: 'notify', run: (ctx) => void ctx.notify(0) };
    const model = (notify: boolean): Model => ({
      name: 'wake',
      memory: [0],
      ghost: [],
      threads: [
        { name: 'waiter', program: program('w', [{ prefix: 'w', steps: [{ label: 'sleep', run: (ctx) => (ctx.wait(0, 0) ? 'sleep' : END) }] }]), locals: [], mortal: false },
        {
          name: 'setter',
          program: program('s', [{ prefix: 's', steps: notify ? [set, wake] : [set] }]),
          locals: [],
          mortal: false,
        },
      ],
      maxDeaths: 0,
      invariants: [],
      quiescent: [],
    });
    expect(explore(model(false)).violations.map((v) => v.name)).toEqual(['deadlock']);
    expect(found(explore(model(true)))).toEqual([]);
  });
});

describe("recover.ts's decision, which the explorer's sweep calls", () => {
  const facts = (word: number, more: Partial<RecoveryFacts> = {}): RecoveryFacts => ({ word, flags: 0, units: 1, levels: 3, took: false, moved: false, oldRemaining: 0, marked: false, ...more });
  const kinds = (f: RecoveryFacts): string[] => recoveryPlan(f).map((a) => a.kind + ('level' in a ? String(a.level) : ''));

  it('names the laned counter whose lane bit decides the journaled step', () => {
    expect(recoveryNeeds(step(OP_ADD, 0, 2, 1), 0, 1)).toEqual({ take: false, counter: H_PENDING, level: 2 });
    expect(recoveryNeeds(step(OP_DONE, PHASE_FAIL, 1, 0), OPF_FAILED, 1)).toEqual({ take: false, counter: H_FAILED, level: 1 });
    expect(recoveryNeeds(step(OP_DONE_SHARED, PHASE_LIMIT, 0, 0), OPF_LIMITED, 1)).toEqual({ take: false, counter: H_RUNNING, level: 0 });
    expect(recoveryNeeds(step(OP_DONE, PHASE_TAKE, 0, 0), 0, 1).take).toBe(true);
    expect(recoveryNeeds(step(OP_ADD, PHASE_COUNT, 1, 0), 0, 1).counter).toBe(-1);
  });

  it('undoes an add from the raise it proved, and finishes a completion from the journaled level up', () => {
    // A raise at level 1 that happened: levels 1 and 0 are lowered again.
    expect(kinds(facts(step(OP_ADD, 0, 1, 0), { moved: true }))).toEqual(['unraise1', 'unraise0', 'empty', 'notify']);
    expect(kinds(facts(step(OP_ADD, 0, 1, 0)))).toEqual(['unraise0', 'empty', 'notify']);
    // Counting at level 2: its cell is set back, the cells below taken down, every level lowered.
    expect(kinds(facts(step(OP_ADD, PHASE_COUNT, 2, 0)))).toEqual(['cell2', 'uncount1', 'uncount0', 'unraise2', 'unraise1', 'unraise0', 'empty', 'notify']);
    // A lowering at level 1 that happened: only level 2 is left.
    expect(kinds(facts(step(OP_DONE, PHASE_LOWER, 1, 0), { moved: true }))).toEqual(['lower2', 'notify']);
    expect(kinds(facts(step(OP_DONE, PHASE_TAKE, 0, 0), { flags: OPF_FAILED, took: true }))).toEqual(['publish', 'fail0', 'fail1', 'fail2', 'lower0', 'lower1', 'lower2', 'notify']);
    expect(kinds(facts(step(OP_DONE, PHASE_TAKE, 0, 0), { flags: OPF_FAILED }))).toEqual(['discard', 'notify']);
  });

  it("wakes the threads waiting for a running slot when the dead thread's release happened", () => {
    expect(kinds(facts(step(OP_DONE, PHASE_LIMIT, 0, 0), { flags: OPF_LIMITED, moved: true, levels: 1 }))).toEqual(['wake-running', 'unmark', 'lower0', 'notify']);
    expect(kinds(facts(step(OP_DONE, PHASE_LIMIT, 0, 0), { flags: OPF_LIMITED, levels: 1 }))).toEqual(['release', 'unmark', 'lower0', 'notify']);
    expect(kinds(facts(step(OP_LIMIT, 1, 0, 0), { moved: true, levels: 1 }))).toEqual(['wake-running']);
    expect(kinds(facts(step(OP_LIMIT, 0, 0, 0), { moved: true, marked: true, levels: 1 }))).toEqual([]);
    expect(kinds(facts(step(OP_LIMIT, 0, 0, 0), { moved: true, levels: 1 }))).toEqual(['running']);
  });
});

describe('explorer: the reduction and the hashed keys change nothing found', () => {
  for (const name of ['v2-death', 'v3-add-done', 'v3-sweeper-death']) {
    it(name, () => {
      const s = scenario(name);
      const runs = [
        explore(s.build(s.scope), { stopAtFirst: false, exact: true }),
        explore(s.build(s.scope), { stopAtFirst: false, reduce: true }),
        explore(s.build(s.scope), { stopAtFirst: false }),
      ];
      const [exact, reduced, hashed] = runs.map((r) => ({ quiescent: r.quiescent, found: r.violations.map((v) => v.name).sort() }));
      expect(reduced).toEqual(exact);
      expect(hashed).toEqual(exact);
      // The hash compares the same states as the exact key.
      expect(runs[2]?.states).toBe(runs[0]?.states);
      // Three explorations of fixed CPU work: a loaded machine stretched this past the 30 s default.
    }, EXPLORE_TIMEOUT);
  }
});

describe('explorer: protocol v2 (commit 6cab03b)', () => {
  for (const name of ['v2-add-done', 'v2-death', 'v2-adopt']) scenarioCases(name);
});

describe('explorer: protocol v3 without deaths', () => {
  for (const name of ['v3-add-done', 'v3-adopt', 'v3-release-race']) scenarioCases(name);
});

describe('explorer: every scenario is tested', () => {
  it('in this file, test/explorer-v3.test.ts or test/explorer-groups.test.ts', () => {
    const tested = ['v2-add-done', 'v2-death', 'v2-adopt', 'v3-add-done', 'v3-adopt', 'v3-release-race', 'v3-death', 'v3-shared-death', 'v3-sweeper-death', 'v3-subgroup', 'v3-subgroup-root', 'v3-links', 'v3-limit', 'v3-cancel'];
    expect(scenarios.map((s) => s.name).sort()).toEqual(tested.sort());
  });
});
