// Protocol v3's worker operations as explorer steps: add() (host.ts GroupHost#add with
// Slots#claim/fill), done() on a task only its creator holds (GroupHost#doneOwn) or through a
// shared handle (GroupHost#doneShared, take.ts), Task#share() and Task.from() (Slots#adopt).
// Plain journal writes that name no step yet are made in the step that then names it: a death
// between them leaves E_STEP as it was, which recovery reads first.
import { OPF_FAILED, OPF_LIMITED, OP_ADD, OP_DONE, OP_NONE, PHASE_COUNT, PHASE_TAKE, OWNER_RETIRED, step } from '../../src/memory/layout.js';
import { generationOf, remainingOf, stateOf } from '../../src/memory/slots.js';
import type { GhostLayout } from '../ghost.js';
import type { Block, Step, StepContext } from '../program.js';
import { J_CELL, J_ENTRY, J_FLAGS, J_GROUP, J_REMAINING, J_SLOT, J_STEP, J_UNITS, ownerGeneration, ownerLane, ownerWord, type V3Memory } from './memory.js';
import { O_AUX, O_CUR, O_ENTRY, O_GEN, O_NEXT, O_PARITY, O_REM, O_SLOT, O_TAKEN, O_UNITS, OWN_AT, T_SPARE, clearOp, opLocals, stage } from './steps.js';
import { doneShared, finish } from './take.js';

/** A handle's locals: slot (-1: none), generation, remaining units as last seen, 1 while own, state last seen. */
const H_SLOT = 0;
const H_GEN = 1;
const H_REM = 2;
const H_OWN = 3;
const H_STATE = 4;
const at = (h: number, field: number): number => OWN_AT + h * 5 + field;

/** Locals of a worker holding at most `handles` task handles. */
export function workerLocals(handles: number): number[] {
  const locals = [...opLocals(), ...new Array<number>(handles * 5).fill(0)];
  for (let h = 0; h < handles; h++) locals[at(h, H_SLOT)] = -1;
  return locals;
}

/** What the operations of one worker share. */
export interface Worker {
  readonly m: V3Memory;
  readonly ghost: GhostLayout;
  /** The worker's lane (its owner words name lane + 1). */
  readonly lane: number;
  /** Planted bugs (mutations of the protocol) to apply. */
  readonly bugs: ReadonlySet<V3Bug>;
  /** The group its tasks are added to (default 0, the root): a sub-group's tasks count at every level of its chain. */
  readonly group?: number;
}

/** Mutations of protocol v3 planted to prove the checks bite on it too. */
export type V3Bug =
  /** The sweep finishes only a cancel word still naming the dead thread, and never wakes the watchers of one it had finished but not notified. */
  | 'no-wake-cancel-done'
  /** add() raises pending without flipping its lane bit: a sweeper cannot tell whether the raise happened. */
  | 'no-lane-bit'
  /** doneOwn() writes the units left before the journal names the completion. */
  | 'take-before-journal'
  /** adopt() checks the slot, then stores the owner (v2's adopt) instead of a compare-and-exchange. */
  | 'adopt-check-then-store'
  /** The sweep of a dead sweeper does not resume the sweeps it had claimed. */
  | 'no-resume'
  /** recover() does not notify the waiters after an operation (as before main's commit 4581431). */
  | 'no-recover-wake'
  /** The sweep gives back any slot of the dead lane its snapshot reads as empty (as before main's commit e966388). */
  | 'release-any-empty'
  /** Every journaled step names level 0 (E_STEP without its level field): a sweeper cannot tell which level of a sub-group's chain a dead thread's step was at. */
  | 'no-level'
  /** recover() finishes or undoes a dead thread's operation in its group alone, not up the group's chain (a record where Tree#chainOf belongs). */
  | 'recover-own-level'
  /** acquireRunning() checks the count, then adds (check-then-act) instead of a compare-and-exchange. */
  | 'limit-check-then-add'
  /** acquireRunning() takes the slot without flipping its lane bit: a sweeper cannot tell whether it happened. */
  | 'limit-no-lane-bit'
  /** recover() does not wake the threads waiting for a running slot after a dead thread's release (as before this branch's fix). */
  | 'no-recover-running-wake'
  /** cancel() claims the cancel word before it journals the reason (a sweep then finishes the cancellation with a stale reason). */
  | 'reason-after-claim'
  /** The sweep does not finish a dead canceller's claimed cancellation (exits.ts without finishCancel()). */
  | 'no-finish-cancel';

/** GroupHost#add of task `k` (`count` units) into handle `h`. */
export function add(w: Worker, p: string, k: number, h: number, count: number): Block[] {
  const { m, ghost, lane } = w;
  const j = (field: number): number => m.journal(lane, field);
  const claim: Step = {
    label: `${p}.claim`,
    run: (ctx) => {
      const spare = ctx.locals[T_SPARE] ?? -1;
      if (spare >= 0) {
        // The spare: still owned by us, reused with plain writes.
        ctx.locals[T_SPARE] = -1;
        ctx.locals[O_SLOT] = spare;
        ctx.locals[O_GEN] = ownerGeneration(ctx.mem[m.owner(spare)] ?? 0);
        ctx.note(`spare slot ${spare}`);
        return undefined;
      }
      // Slots#tryClaim, one slot per step: the owner word (g, free) -> (g, us).
      const s = ctx.locals[O_AUX] ?? 0;
      const owner = ctx.mem[m.owner(s)] ?? 0;
      if (ownerLane(owner) === 0) {
        ctx.mem[m.owner(s)] = ownerWord(ownerGeneration(owner), lane + 1);
        ctx.locals[O_AUX] = 0;
        ctx.locals[O_SLOT] = s;
        ctx.locals[O_GEN] = ownerGeneration(owner);
        ctx.note(`claimed slot ${s}`);
        return undefined;
      }
      ctx.locals[O_AUX] = s + 1;
      if (s + 1 < m.slots) return `${p}.claim`;
      ctx.note('every slot taken: add() throws');
      clearOp(ctx);
      return `${p}.end`;
    },
  };
  const group = w.group ?? 0;
  const chain = m.chain(group);
  const noLevel = w.bugs.has('no-level');
  const levelField = (level: number): number => (noLevel ? 0 : level);
  const journal: Step = {
    label: `${p}.journal`,
    run: (ctx) => {
      const parity = m.parity(lane, ctx.mem[m.pendingOf(group)] ?? 0);
      ctx.locals[O_PARITY] = parity;
      ctx.mem[j(J_GROUP)] = group;
      ctx.mem[j(J_SLOT)] = ctx.locals[O_SLOT] ?? -1;
      ctx.mem[j(J_UNITS)] = count;
      ctx.mem[j(J_STEP)] = step(OP_ADD, 0, 0, parity);
    },
  };
  const fill: Step = {
    label: `${p}.fill`,
    run: (ctx) => {
      const s = ctx.locals[O_SLOT] ?? 0;
      ctx.mem[m.state(s)] = Number(stateOf(ctx.locals[O_GEN] ?? 0, count));
      ctx.mem[m.slotGroup(s)] = group;
      ctx.ghost[ghost.slotTask(s)] = k + 1;
      ctx.ghost[ghost.units(k)] = count;
      ctx.ghost[ghost.holders(k)] = (ctx.ghost[ghost.holders(k)] ?? 0) | (1 << lane);
      ctx.note(`task ${k}`);
    },
  };
  /** The raise at `level` (GroupHost#add for level 0, #raiseAncestors above it: journaled first). */
  const raise = (level: number): Step[] => {
    const word = m.pendingOf(chain[level] ?? 0);
    const up: Step = {
      label: `${p}.raise${level}`,
      run: (ctx) => {
        const delta = w.bugs.has('no-lane-bit') ? BigInt(count) << 32n : (m.lane[lane]?.delta(count, ctx.locals[O_PARITY] === 1 ? 1 : 0) ?? 0n);
        ctx.mem[word] = Number(BigInt(ctx.mem[word] ?? 0) + delta);
        ctx.locals[O_PARITY] = 0;
      },
    };
    if (level === 0) return [up];
    const named: Step = {
      label: `${p}.raise${level}-journal`,
      private: true,
      run: (ctx) => {
        const parity = m.parity(lane, ctx.mem[word] ?? 0);
        ctx.locals[O_PARITY] = parity;
        ctx.mem[j(J_STEP)] = step(OP_ADD, 0, levelField(level), parity);
      },
    };
    return [named, up];
  };
  /** The count in this lane's cell at `level` (GroupHost#add, #countAncestors). */
  const count1 = (level: number): Step[] => {
    const cellWord = m.cellOf(chain[level] ?? 0, lane);
    const journalCell: Step = {
      label: `${p}.count${level}`,
      private: true,
      run: (ctx) => {
        const value = ctx.mem[cellWord] ?? 0;
        ctx.locals[O_AUX] = value;
        ctx.mem[j(J_CELL)] = value;
        ctx.mem[j(J_STEP)] = step(OP_ADD, PHASE_COUNT, levelField(level), 0);
      },
    };
    const cell: Step = { label: `${p}.cell${level}`, private: true, run: (ctx) => void (ctx.mem[cellWord] = (ctx.locals[O_AUX] ?? 0) + count) };
    return [journalCell, cell];
  };
  const raises = chain.flatMap((_, level) => raise(level));
  const counts = chain.flatMap((_, level) => count1(level));
  const done: Step = {
    label: `${p}.return`,
    run: (ctx) => {
      ctx.mem[j(J_STEP)] = OP_NONE;
      // add() returns: from here a wait must wait for the task.
      ctx.ghost[ghost.added(k)] = 1;
      const s = ctx.locals[O_SLOT] ?? -1;
      ctx.locals[at(h, H_SLOT)] = s;
      ctx.locals[at(h, H_GEN)] = ctx.locals[O_GEN] ?? 0;
      ctx.locals[at(h, H_REM)] = count;
      ctx.locals[at(h, H_OWN)] = 1;
      clearOp(ctx);
    },
  };
  return [{ prefix: p, steps: [claim, journal, fill, ...raises, ...counts, done] }];
}

/** Task#done() through handle `h`: doneOwn while the handle is its task's only one, else doneShared; `limited`: the task holds a `limit` slot. */
export function done(w: Worker, p: string, h: number, failed: boolean, limited = false): Block[] {
  return [...doneOwn(w, `${p}.own`, h, failed, `${p}.shared`, limited), ...doneSharedBy(w, `${p}.shared`, h, failed, limited)];
}

/** GroupHost#doneOwn of one unit; goes to `${shared}` instead when the handle is not own. */
function doneOwn(w: Worker, p: string, h: number, failed: boolean, shared: string, limited: boolean): Block[] {
  const { m, ghost, lane } = w;
  const j = (field: number): number => m.journal(lane, field);
  const setup: Step = {
    label: `${p}.setup`,
    local: true,
    run: (ctx) => {
      if (ctx.locals[at(h, H_OWN)] !== 1) return `${shared}.setup`;
      // Task#settle: a task complete as this handle knows, or never added, changes nothing.
      if ((ctx.locals[at(h, H_REM)] ?? 0) === 0 || (ctx.locals[at(h, H_SLOT)] ?? -1) < 0) return `${shared}.quit.end`;
      ctx.locals[O_SLOT] = ctx.locals[at(h, H_SLOT)] ?? -1;
      ctx.locals[O_GEN] = ctx.locals[at(h, H_GEN)] ?? 0;
      ctx.locals[O_REM] = ctx.locals[at(h, H_REM)] ?? 0;
      ctx.locals[O_TAKEN] = 1;
      return undefined;
    },
  };
  const journal: Step = {
    label: `${p}.journal`,
    run: (ctx) => {
      ctx.mem[j(J_GROUP)] = w.group ?? 0;
      ctx.mem[j(J_SLOT)] = ctx.locals[O_SLOT] ?? -1;
      ctx.mem[j(J_UNITS)] = 1;
      ctx.mem[j(J_REMAINING)] = ctx.locals[O_REM] ?? 0;
      ctx.mem[j(J_ENTRY)] = ctx.locals[O_ENTRY] ?? -1;
      ctx.mem[j(J_FLAGS)] = (failed ? OPF_FAILED : 0) | (limited ? OPF_LIMITED : 0);
      ctx.mem[j(J_STEP)] = step(OP_DONE, PHASE_TAKE, 0, 0);
    },
  };
  const take: Step = {
    label: `${p}.take`,
    run: (ctx) => {
      // The take is a plain write of the units left: a sweeper compares them with E_REMAINING.
      const s = ctx.locals[O_SLOT] ?? 0;
      ctx.mem[m.state(s)] = Number(stateOf(ctx.locals[O_GEN] ?? 0, (ctx.locals[O_REM] ?? 0) - 1));
      ctx.note(`took 1 of task ${ghost.take(ctx.ghost, s, 1)} in slot ${s} (own)`);
    },
  };
  const none: Step = {
    label: `${p}.none`,
    private: true,
    run: (ctx) => {
      ctx.mem[j(J_STEP)] = OP_NONE;
      const s = ctx.locals[O_SLOT] ?? 0;
      const left = (ctx.locals[O_REM] ?? 0) - 1;
      ctx.locals[at(h, H_REM)] = left;
      const spare = ctx.locals[T_SPARE] ?? -1;
      clearOp(ctx);
      if (left > 0) return `${shared}.quit.end`;
      // Slots#keepOrRelease: the empty slot becomes the spare, or goes back if there is one.
      if (spare < 0) {
        ctx.locals[T_SPARE] = s;
        return `${shared}.quit.end`;
      }
      ctx.locals[O_SLOT] = s;
      return undefined;
    },
  };
  const release: Step = {
    label: `${p}.release`,
    run: (ctx) => {
      // Slots#release: its load and compare-and-exchange made one step (only this lane holds the word).
      const s = ctx.locals[O_SLOT] ?? 0;
      const owner = ctx.mem[m.owner(s)] ?? 0;
      if (ownerLane(owner) === lane + 1) ctx.mem[m.owner(s)] = ownerWord(ownerGeneration(owner), 0);
      clearOp(ctx);
      return `${shared}.quit.end`;
    },
  };
  return [
    { prefix: p, steps: [setup, ...(failed ? [stage(m, p, lane)] : []), ...(w.bugs.has('take-before-journal') ? [take, journal] : [journal, take])] },
    ...finish(m, ghost, p, lane, OP_DONE, failed, () => w.group ?? 0, w.bugs.has('no-level'), () => (limited ? 1 : 0)),
    { prefix: `${p}.fin`, steps: [none, release] },
  ];
}

/** GroupHost#doneShared of one unit through handle `h`. */
function doneSharedBy(w: Worker, p: string, h: number, failed: boolean, limited: boolean): Block[] {
  const setup: Step = {
    label: `${p}.setup`,
    local: true,
    run: (ctx) => {
      if ((ctx.locals[at(h, H_REM)] ?? 0) === 0 || (ctx.locals[at(h, H_SLOT)] ?? -1) < 0) return `${p}.quit.end`;
      ctx.locals[O_SLOT] = ctx.locals[at(h, H_SLOT)] ?? -1;
      ctx.locals[O_GEN] = ctx.locals[at(h, H_GEN)] ?? 0;
      ctx.locals[O_UNITS] = 1;
      return undefined;
    },
  };
  const after = (ctx: StepContext, taken: boolean): void => {
    // Task#settle: the state left (or seen) tells the handle what remains.
    const state = BigInt((taken ? ctx.locals[O_NEXT] : ctx.locals[O_CUR]) ?? 0);
    const generation = ctx.locals[at(h, H_GEN)] ?? 0;
    ctx.locals[at(h, H_STATE)] = Number(state);
    ctx.locals[at(h, H_REM)] = generationOf(state) === generation ? remainingOf(state) : 0;
    clearOp(ctx);
  };
  return doneShared(w.m, w.ghost, p, w.lane, failed, { setup, after, group: () => w.group ?? 0, noLevel: w.bugs.has('no-level'), limited: () => (limited ? 1 : 0) });
}

/** Task#share() and a postMessage: the handle is no longer its task's only one. */
export function share(w: Worker, p: string, h: number): Block[] {
  const post: Step = {
    label: `${p}.post`,
    run: (ctx) => {
      ctx.locals[at(h, H_OWN)] = 0;
      ctx.locals[at(h, H_STATE)] = Number(stateOf(ctx.locals[at(h, H_GEN)] ?? 0, ctx.locals[at(h, H_REM)] ?? 0));
      ctx.ghost[w.ghost.mailFull] = 1;
      ctx.ghost[w.ghost.mailSlot] = ctx.locals[at(h, H_SLOT)] ?? -1;
      ctx.ghost[w.ghost.mailGeneration] = ctx.locals[at(h, H_GEN)] ?? 0;
      ctx.ghost[w.ghost.mailUnits] = ctx.locals[at(h, H_REM)] ?? 0;
    },
  };
  return [{ prefix: p, steps: [post] }];
}

/** Task.from() of the handle `sender` posts: receive it, then Slots#adopt (a compare-and-exchange of the owner word). */
export function from(w: Worker, p: string, h: number, sender: number, k: number): Block[] {
  const { m, ghost, lane } = w;
  const slot = (ctx: StepContext): number => ctx.locals[at(h, H_SLOT)] ?? -1;
  const generation = (ctx: StepContext): number => ctx.locals[at(h, H_GEN)] ?? 0;
  const receive: Step = {
    label: `${p}.receive`,
    enabled: (ctx) => ghost.mailReady(ctx, sender),
    run: (ctx) => {
      if (ctx.ghost[ghost.mailFull] !== 1) return `${p}.end`;
      ctx.locals[at(h, H_SLOT)] = ctx.ghost[ghost.mailSlot] ?? -1;
      ctx.locals[at(h, H_GEN)] = ctx.ghost[ghost.mailGeneration] ?? 0;
      ctx.locals[at(h, H_REM)] = ctx.ghost[ghost.mailUnits] ?? 0;
      ctx.locals[at(h, H_STATE)] = Number(stateOf(generation(ctx), ctx.locals[at(h, H_REM)] ?? 0));
      ctx.ghost[ghost.holders(k)] = (ctx.ghost[ghost.holders(k)] ?? 0) | (1 << lane);
      // A handle that saw the task complete does not adopt (Task.attach).
      return (ctx.locals[at(h, H_REM)] ?? 0) > 0 ? undefined : `${p}.end`;
    },
  };
  const ownerLoad: Step = {
    label: `${p}.adopt-owner`,
    run: (ctx) => {
      const owner = ctx.mem[m.owner(slot(ctx))] ?? 0;
      const holder = ownerLane(owner);
      if (ownerGeneration(owner) !== generation(ctx) || holder === 0 || holder === OWNER_RETIRED || holder === lane + 1) return `${p}.end`;
      ctx.locals[O_AUX] = owner;
      return undefined;
    },
  };
  const stateLoad: Step = {
    label: `${p}.adopt-state`,
    run: (ctx) => {
      const state = BigInt(ctx.mem[m.state(slot(ctx))] ?? 0);
      if (generationOf(state) === generation(ctx) && remainingOf(state) !== 0) return undefined;
      ctx.locals[O_AUX] = 0;
      return `${p}.end`;
    },
  };
  const cas: Step = {
    label: `${p}.adopt-cas`,
    run: (ctx) => {
      const seen = ctx.locals[O_AUX] ?? 0;
      ctx.locals[O_AUX] = 0;
      if (ctx.mem[m.owner(slot(ctx))] !== seen && !w.bugs.has('adopt-check-then-store')) return `${p}.adopt-owner`;
      ctx.mem[m.owner(slot(ctx))] = ownerWord(generation(ctx), lane + 1);
      ctx.note(`slot ${slot(ctx)} now owned by lane ${lane}`);
      return undefined;
    },
  };
  return [{ prefix: p, steps: [receive, ownerLoad, stateLoad, cas] }];
}
