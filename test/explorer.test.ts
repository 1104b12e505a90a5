// The protocol model checker (model/): every scenario explored in its usual scope, with no
// counterexample unless the scenario models a protocol with known holes; and, since a checker that
// never fails proves nothing, every known hole and planted bug found.
import { describe, expect, it } from 'vitest';
import { END, program, type Step } from '../model/program.js';
import { explore, type Model, type Report } from '../model/explorer.js';
import { formatViolation } from '../model/report.js';
import { scenarios } from '../model/scenarios.js';

/** The counterexamples of a report, printed: what a failing assertion should show. */
const found = (report: Report): string[] => report.violations.map(formatViolation);

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

describe('explorer: protocol scenarios', () => {
  for (const scenario of scenarios) {
    if (scenario.known.length === 0) {
      it(`${scenario.name}: no counterexample in scope`, () => {
        const report = explore(scenario.build(scenario.scope));
        expect(found(report)).toEqual([]);
        expect(report.complete).toBe(true);
        expect(report.states).toBeGreaterThan(100);
      });
    } else {
      it(`${scenario.name}: finds each of its known holes (${scenario.known.join(', ')})`, () => {
        const report = explore(scenario.build(scenario.scope), { stopAtFirst: false, strategy: 'bfs' });
        expect(report.violations.map((v) => v.name).sort()).toEqual([...scenario.known].sort());
      });
    }
    for (const [bug, finds] of Object.entries(scenario.bugs)) {
      it(`${scenario.name}: finds the planted bug ${bug} (${finds})`, () => {
        const report = explore(scenario.build({ ...scenario.scope, bugs: [bug] }), { stopAtFirst: false });
        expect(report.violations.map((v) => v.name)).toContain(finds);
      });
    }
  }
});
