// Unit tests of the shared-memory layer, in one thread: the slot arena (src/slots.ts), the failure
// log (src/failure-log.ts) and the layout's invariants. The failure envelope is in unit-envelope.test.ts.
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { addCounter64, addedOf, addInCell, claimAddedCell, flagWaiting, foldAddedCell, lowerPending, pendingOf, raisePending } from '../src/counters.js';
import { FailureLog } from '../src/failure-log.js';
import * as L from '../src/layout.js';
import { Slots, ensureLength, stateOf } from '../src/slots.js';

/** A tree's counters and a slot arena of `capacity` slots, as Tree.create lays them out. */
function arena(capacity: number): { tree: Int32Array; buffer: SharedArrayBuffer; slots: Slots } {
  const tree = new Int32Array(new SharedArrayBuffer(L.TREE_WORDS * 4));
  tree[L.T_CAPACITY] = capacity;
  const { initial, max } = Slots.sizes(capacity);
  const buffer = new SharedArrayBuffer(initial, { maxByteLength: max });
  return { tree, buffer, slots: new Slots(buffer, tree) };
}

/** A claimed slot: its index, and the generation and state its claim left. */
interface Claim {
  readonly index: number;
  readonly state: bigint;
  readonly generation: number;
}

/** Claims a slot; fails when there is none (see `full` for the other case). */
function claimed(slots: Slots, count: number, group = 1, label?: string): Claim {
  const index = slots.claim(count, group, label);
  if (index < 0) throw new Error('no slot');
  return { index, state: stateOf(slots.claimedGeneration, count), generation: slots.claimedGeneration };
}

/** True when a claim finds no free slot. */
function full(slots: Slots): boolean {
  return slots.claim(1, 1, undefined) === -1;
}

/** Takes `units` of the task `claim` describes, as a shared handle that last saw `remaining` units. */
function takeAs(slots: Slots, claim: Claim, remaining: number, units: number): number {
  return slots.take(claim.index, stateOf(claim.generation, remaining), claim.generation, remaining, units);
}

describe('slots', () => {
  it('advances the generation when the last unit is taken, and a stale handle takes nothing from the next occupant', () => {
    const { slots } = arena(4);
    const first = claimed(slots, 1);
    expect(first).toMatchObject({ index: 0, generation: 0 });
    expect(slots.load(first.index)).toBe(first.state);
    expect(takeAs(slots, first, 1, 1)).toBe(1);
    // Free, and already of the next generation: no handle of the first task can match it again.
    expect(slots.load(first.index)).toBe(stateOf(1, 0));
    const second = claimed(slots, 2);
    expect(second.index).toBe(first.index);
    expect(second.generation).toBe(1);
    // The first handle saw one unit left: neither the first attempt nor the retry loop matches.
    expect(takeAs(slots, first, 1, 1)).toBe(0);
    expect(takeAs(slots, first, 1, Infinity)).toBe(0);
    expect(slots.load(second.index)).toBe(second.state);
    expect(slots.occupied(() => true).map((s) => s.remaining)).toEqual([2]);
  });

  it('a stale multi-unit handle takes nothing once the slot holds a newer task', () => {
    const { slots } = arena(4);
    const old = claimed(slots, 3);
    expect(takeAs(slots, old, 3, Infinity)).toBe(3);
    const next = claimed(slots, 3);
    expect(next.index).toBe(old.index);
    expect(takeAs(slots, old, 3, 1)).toBe(0);
    expect(takeAs(slots, old, 3, 2)).toBe(0);
    expect(slots.occupied(() => true).map((s) => s.remaining)).toEqual([3]);
  });

  it('take with more units than remain takes what remains, then nothing', () => {
    const { slots } = arena(4);
    const claim = claimed(slots, 3);
    expect(takeAs(slots, claim, 3, 2)).toBe(2);
    expect(slots.tookRemaining).toBe(1);
    expect(takeAs(slots, claim, 1, 5)).toBe(1);
    expect(slots.tookRemaining).toBe(0);
    expect(takeAs(slots, claim, 0, 5)).toBe(0);
    expect(slots.occupied(() => true)).toEqual([]);
  });

  it('a handle that saw more units than remain retries from the slot and takes only what is there', () => {
    const { slots } = arena(4);
    const claim = claimed(slots, 3);
    // Another handle (another thread's) took two units; this one still believes three remain.
    expect(takeAs(slots, claim, 3, 2)).toBe(2);
    expect(takeAs(slots, claim, 3, Infinity)).toBe(1);
    expect(slots.tookRemaining).toBe(0);
    expect(slots.load(claim.index)).toBe(stateOf(1, 0));
  });

  it('takeOwn takes units without compare-and-exchange and frees the slot with the next generation', () => {
    const { slots } = arena(4);
    const one = claimed(slots, 1);
    expect(slots.takeOwn(one.index, 1, 1)).toBe(1);
    expect(slots.load(one.index)).toBe(stateOf(1, 0));
    const three = claimed(slots, 3);
    expect(three).toMatchObject({ index: one.index, generation: 1 });
    expect(slots.takeOwn(three.index, 3, 1)).toBe(1);
    expect(slots.load(three.index)).toBe(stateOf(1, 2));
    expect(slots.takeOwn(three.index, 2, 5)).toBe(2);
    expect(slots.load(three.index)).toBe(stateOf(2, 0));
    expect(slots.takeOwn(three.index, 0, 1)).toBe(0);
    expect(slots.load(three.index)).toBe(stateOf(2, 0));
    const all = claimed(slots, 4);
    expect(slots.takeOwn(all.index, 4, Infinity)).toBe(4);
    expect(slots.load(all.index)).toBe(stateOf(3, 0));
  });

  it('the generation wraps from 2^32 - 1 to 0 when the last unit is taken, by either path', () => {
    const { buffer, slots } = arena(4);
    const state = new BigUint64Array(buffer);
    const top = 0xffffffff;
    state[0] = stateOf(top, 0);
    const own = claimed(slots, 1);
    expect(own).toMatchObject({ index: 0, generation: top });
    expect(slots.takeOwn(own.index, 1, 1)).toBe(1);
    expect(slots.load(own.index)).toBe(stateOf(0, 0));
    state[0] = stateOf(top, 0);
    const shared = claimed(slots, 2);
    expect(takeAs(slots, shared, 2, Infinity)).toBe(2);
    expect(slots.load(shared.index)).toBe(stateOf(0, 0));
  });

  it('returns undefined when full, and another view finds a freed slot by scanning', () => {
    const { tree, buffer, slots } = arena(3);
    const claims: [Claim, Claim, Claim] = [claimed(slots, 1), claimed(slots, 1), claimed(slots, 1)];
    expect(claims.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(full(slots)).toBe(true);
    const freed = claims[1];
    expect(takeAs(slots, freed, 1, 1)).toBe(1);
    // A second view of the same memory (another thread's) has no hint: fresh slots are used up, so it scans.
    const other = new Slots(buffer, tree);
    const found = claimed(other, 4);
    expect(found).toMatchObject({ index: 1, generation: 1 });
    expect(full(other)).toBe(true);
    // The first view's hint for slot 1 is stale now: its claim must not take the slot again.
    expect(full(slots)).toBe(true);
    expect(slots.occupied(() => true).map((s) => s.remaining)).toEqual([1, 4, 1]);
  });

  it('snapshots an occupied slot with its metadata, and filters with the predicate', () => {
    const { slots } = arena(4);
    const before = Date.now();
    const a = claimed(slots, 2, 5, 'alpha');
    claimed(slots, 1, 6);
    const [snap] = slots.occupied((s) => s.group === 5);
    expect(snap).toMatchObject({ index: a.index, state: a.state, generation: 0, group: 5, label: 'alpha', threadId, remaining: 2, limited: false });
    // The clock's cached reading expires at every microtask checkpoint, so a test starts fresh.
    expect(snap?.since).toBeGreaterThanOrEqual(before);
    expect(snap?.since).toBeLessThanOrEqual(Date.now());
    slots.markLimited(a.index, true);
    expect(slots.occupied((s) => s.group === 5)[0]?.limited).toBe(true);
    slots.markLimited(a.index, false);
    expect(slots.occupied((s) => s.group === 5)[0]?.limited).toBe(false);
    expect(slots.occupied((s) => s.group === 6)[0]?.label).toBeUndefined();
  });

  it('adopt makes this thread the owner only while the slot holds the same task', () => {
    const { buffer, slots } = arena(4);
    const words = new Int32Array(buffer);
    const claim = claimed(slots, 1);
    const owner = claim.index * L.SLOT_WORDS32 + L.S_OWNER;
    words[owner] = 999;
    slots.adopt(claim.index, claim.generation);
    expect(words[owner]).toBe(threadId);
    takeAs(slots, claim, 1, 1);
    words[owner] = 999;
    // Free now: no task to adopt, whether the slot is still free or holds the next task.
    slots.adopt(claim.index, claim.generation);
    expect(words[owner]).toBe(999);
    const next = claimed(slots, 1);
    words[owner] = 999;
    slots.adopt(next.index, claim.generation);
    expect(words[owner]).toBe(999);
  });

  it.each([
    ['no label', undefined, undefined],
    ['empty', '', ''],
    ['exactly 17 units', 'abcdefghijklmnopq', 'abcdefghijklmnopq'],
    ['18 units', 'abcdefghijklmnopqr', 'abcdefghijklmnop…'],
    ['long', 'x'.repeat(500), `${'x'.repeat(16)}…`],
  ])('label %s', (_, label, expected) => {
    const { slots } = arena(2);
    claimed(slots, 1, 1, label);
    const [snap] = slots.occupied(() => true);
    expect(snap?.label).toBe(expected);
    if (expected !== undefined) expect(expected.length).toBeLessThanOrEqual(L.LABEL_UNITS);
  });

  it('ensureLength grows by half again in whole 64-byte steps, never past the maximum', () => {
    const buffer = new SharedArrayBuffer(64, { maxByteLength: 1024 });
    expect(ensureLength(buffer, 40)).toBe(true);
    expect(buffer.byteLength).toBe(64);
    expect(ensureLength(buffer, 65)).toBe(true);
    expect(buffer.byteLength).toBe(128);
    expect(ensureLength(buffer, 200)).toBe(true);
    expect(buffer.byteLength).toBe(256);
    expect(ensureLength(buffer, 2000)).toBe(false);
    expect(buffer.byteLength).toBe(256);
    expect(ensureLength(buffer, 1000)).toBe(true);
    expect(buffer.byteLength).toBe(1024);
  });

  it('the arena grows past its first chunk as fresh slots are handed out, up to the capacity', () => {
    const capacity = L.SLOT_CHUNK * 2 + 3;
    const { buffer, slots } = arena(capacity);
    expect(buffer.byteLength).toBe(L.SLOT_CHUNK * L.SLOT_BYTES);
    for (let i = 0; i < capacity; i++) expect(claimed(slots, 1, 1, `t${i}`).index).toBe(i);
    expect(full(slots)).toBe(true);
    expect(buffer.byteLength).toBe(capacity * L.SLOT_BYTES);
    expect(slots.occupied(() => true).map((s) => s.label)).toEqual(Array.from({ length: capacity }, (_, i) => `t${i}`));
  });
});

/** A failure log with its tree counters, as Tree.create lays them out. */
function failureLog(maxFailures: number, maxBytes: number): FailureLog {
  const tree = new Int32Array(new SharedArrayBuffer(L.TREE_WORDS * 4));
  tree[L.T_MAX_FAILURES] = maxFailures;
  tree[L.T_LOG_MAX] = maxBytes;
  const { initial, max } = FailureLog.sizes(maxFailures, maxBytes);
  return new FailureLog(new SharedArrayBuffer(initial, { maxByteLength: max }), tree);
}

const bytes = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);

describe('failure log', () => {
  it('records in order and reads back each entry with its group', () => {
    const log = failureLog(10, 1024);
    const unused = (): Uint8Array => bytes(1, 0);
    expect(log.entry(0)).toBeUndefined();
    expect([log.record(3, bytes(5, 1), unused), log.record(4, bytes(7, 2), unused), log.record(3, bytes(1, 3), unused)]).toEqual([0, 1, 2]);
    expect(log.recorded()).toBe(3);
    expect(log.entry(0)).toEqual({ group: 3, bytes: bytes(5, 1) });
    expect(log.entry(1)).toEqual({ group: 4, bytes: bytes(7, 2) });
    expect(log.entry(2)).toEqual({ group: 3, bytes: bytes(1, 3) });
    expect(log.entry(3)).toBeUndefined();
  });

  it('past maxFailures, failures are counted but not kept', () => {
    const log = failureLog(2, 1024);
    let fallbacks = 0;
    const fallback = (): Uint8Array => {
      fallbacks++;
      return bytes(1, 0);
    };
    expect([1, 2, 3, 4].map((fill) => log.record(1, bytes(4, fill), fallback))).toEqual([0, 1, 2, 3]);
    expect(log.recorded()).toBe(4);
    expect(log.maxFailures).toBe(2);
    expect(log.entry(1)).toEqual({ group: 1, bytes: bytes(4, 2) });
    expect(fallbacks).toBe(0);
  });

  it('when the byte budget runs out the fallback is kept, then the entry is marked omitted', () => {
    const log = failureLog(10, 100);
    const fallback = (): Uint8Array => bytes(30, 9);
    log.record(1, bytes(60, 1), fallback);
    log.record(2, bytes(60, 2), fallback);
    log.record(3, bytes(60, 3), fallback);
    expect(log.entry(0)).toEqual({ group: 1, bytes: bytes(60, 1) });
    expect(log.entry(1)).toEqual({ group: 2, bytes: bytes(30, 9) });
    expect(log.entry(2)).toEqual({ group: 3, bytes: undefined });
    // A refused reservation does not use up the budget: a small envelope still fits.
    log.record(4, bytes(10, 4), fallback);
    expect(log.entry(3)).toEqual({ group: 4, bytes: bytes(10, 4) });
    expect(log.store(bytes(1, 5))).toBeUndefined();
  });

  it('grows its data area past the first chunk', () => {
    const log = failureLog(4, 4 * L.LOG_DATA_CHUNK);
    const fallback = (): Uint8Array => bytes(1, 0);
    const big = [1, 2, 3].map((fill) => bytes(L.LOG_DATA_CHUNK - 10, fill));
    for (const b of big) log.record(1, b, fallback);
    expect(log.buffer.byteLength).toBeGreaterThan(FailureLog.sizes(4, 4 * L.LOG_DATA_CHUNK).initial);
    big.forEach((b, i) => expect(Buffer.from(b).equals(log.entry(i)?.bytes ?? new Uint8Array(0))).toBe(true));
    const stored = log.store(bytes(3, 7));
    expect(stored).toEqual({ offset: 3 * (L.LOG_DATA_CHUNK - 10), length: 3 });
    expect(log.read(stored?.offset ?? 0, 3)).toEqual(bytes(3, 7));
  });
});

/** Every exported constant whose name starts with `prefix`, except those listed. */
function indices(prefix: string, except: readonly string[] = []): [string, number][] {
  return Object.entries(L).filter((entry): entry is [string, number] => entry[0].startsWith(prefix) && typeof entry[1] === 'number' && !except.includes(entry[0]));
}

function expectDistinctWithin(entries: [string, number][], size: number): void {
  expect(entries.length).toBeGreaterThan(0);
  expect(new Set(entries.map(([, v]) => v)).size).toBe(entries.length);
  for (const [, v] of entries) {
    expect(Number.isInteger(v)).toBe(true);
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThan(size);
  }
}

describe('layout invariants', () => {
  it('group record words are distinct and fit in GROUP_WORDS, and the cells and link table overlap nothing', () => {
    const words = indices('H_');
    expectDistinctWithin(words, L.GROUP_WORDS);
    const regions: [number, number][] = [
      [L.H_ADDED_CELLS, L.ADDED_CELLS * L.ADDED_CELL_WORDS],
      [L.H_LINK_TABLE, L.MAX_LINKS * L.LINK_WORDS],
    ];
    for (const [start, size] of regions) {
      expect(start + size).toBeLessThanOrEqual(L.GROUP_WORDS);
      for (const [name, word] of words) if (word !== start) expect(word < start || word >= start + size, name).toBe(true);
    }
    expect(L.H_ADDED_CELLS + L.ADDED_CELLS * L.ADDED_CELL_WORDS).toBeLessThanOrEqual(L.H_LINK_TABLE);
  });

  it('tree words are distinct, the secret does not overlap them, and all fit in TREE_WORDS', () => {
    const words = indices('T_', ['T_SECRET', 'T_SECRET_WORDS']);
    for (let i = 0; i < L.T_SECRET_WORDS; i++) words.push([`T_SECRET+${i}`, L.T_SECRET + i]);
    expectDistinctWithin(words, L.TREE_WORDS);
  });

  it('log entry words are distinct and fit in LOG_ENTRY_WORDS', () => {
    expectDistinctWithin(indices('L_'), L.LOG_ENTRY_WORDS);
  });

  it('state values are distinct', () => {
    for (const prefix of ['CANCEL_', 'REASON_', 'LOG_']) {
      const values = indices(prefix, ['REASON_MAX_BYTES', 'LOG_ENTRY_WORDS', 'LOG_DATA_CHUNK']).map(([, v]) => v);
      expect(new Set(values).size).toBe(values.length);
    }
    expect(L.HEADER_MAGIC).not.toBe(L.TREE_MAGIC);
  });

  it('slot fields do not overlap, and the label ends exactly at SLOT_BYTES', () => {
    const fields: [string, number, number][] = [
      ['state', 0, 8],
      ['owner', L.S_OWNER * 4, 4],
      ['group', L.S_GROUP * 4, 4],
      ['since', L.S_SINCE64 * 8, 8],
      ['ready', L.S_READY * 4, 4],
      ['label length', L.S_LABEL_LEN16 * 2, 2],
      ['label', L.S_LABEL16 * 2, L.LABEL_UNITS * 2],
    ];
    const used = new Array<string | undefined>(L.SLOT_BYTES).fill(undefined);
    for (const [name, start, size] of fields) {
      expect(start + size).toBeLessThanOrEqual(L.SLOT_BYTES);
      for (let b = start; b < start + size; b++) {
        expect(used[b], `${name} overlaps ${used[b]} at byte ${b}`).toBeUndefined();
        used[b] = name;
      }
    }
    expect(L.S_LABEL16 * 2 + L.LABEL_UNITS * 2).toBe(L.SLOT_BYTES);
    expect(L.LABEL_UNITS).toBe(17);
    expect([L.SLOT_WORDS32 * 4, L.SLOT_WORDS64 * 8]).toEqual([L.SLOT_BYTES, L.SLOT_BYTES]);
  });

  it('sizes and limits are consistent', () => {
    expect(L.GENERATION_UNIT).toBe(L.REMAINING_MASK + 1n);
    expect(BigInt(L.MAX_UNITS)).toBeLessThanOrEqual(L.REMAINING_MASK);
    expect(L.MAX_UNITS).toBe(2 ** 31 - 1);
    expect(L.DEFAULT_CAPACITY).toBeLessThanOrEqual(L.MAX_CAPACITY);
    expect(L.SLOT_CHUNK * L.SLOT_BYTES % 64).toBe(0);
    expect(L.GROUP_WORDS).toBeGreaterThan(Math.max(...indices('H_').map(([, v]) => v)));
    expect(Slots.sizes(L.MAX_CAPACITY).max).toBe(L.MAX_CAPACITY * L.SLOT_BYTES);
    expect(FailureLog.sizes(L.DEFAULT_MAX_FAILURES, L.DEFAULT_FAILURE_BYTES).max).toBe(L.DEFAULT_MAX_FAILURES * L.LOG_ENTRY_WORDS * 4 + L.DEFAULT_FAILURE_BYTES);
  });
});

describe('pending word', () => {
  const record = (): Int32Array => new Int32Array(new SharedArrayBuffer(L.GROUP_WORDS * 4));

  it('keeps the waiter flag below the count: counts read without it, and the zero transition clears it', async () => {
    const words = record();
    expect(flagWaiting(words)).toBeUndefined();
    expect(Atomics.load(words, L.H_PENDING)).toBe(L.PENDING_WAITED);
    expect(raisePending(words, 3)).toBe(true);
    const word = flagWaiting(words);
    expect(word).toBe(3 * L.PENDING_UNIT + L.PENDING_WAITED);
    expect(pendingOf(words)).toBe(3);
    lowerPending(words, 2);
    expect(Atomics.load(words, L.H_PENDING)).toBe(L.PENDING_UNIT + L.PENDING_WAITED);
    const woken = Atomics.waitAsync(words, L.H_PENDING, L.PENDING_UNIT + L.PENDING_WAITED);
    expect(woken.async).toBe(true);
    lowerPending(words, 1);
    expect(Atomics.load(words, L.H_PENDING)).toBe(0);
    // Resolved by the completion's notify, not by a timeout (there is none).
    expect(await woken.value).toBe('ok');
  });

  it('refuses an add past MAX_UNITS and undoes it without touching the flag', () => {
    const words = record();
    expect(raisePending(words, L.MAX_UNITS)).toBe(true);
    const word = flagWaiting(words);
    expect(word).toBe((L.MAX_UNITS * L.PENDING_UNIT + L.PENDING_WAITED) | 0);
    for (const units of [1, 2, L.MAX_UNITS]) {
      expect(raisePending(words, units)).toBe(false);
      expect(Atomics.load(words, L.H_PENDING)).toBe(word);
    }
    expect(pendingOf(words)).toBe(L.MAX_UNITS);
    lowerPending(words, L.MAX_UNITS);
    expect(Atomics.load(words, L.H_PENDING)).toBe(0);
  });
});

describe('added units, counted in per-thread cells', () => {
  const record = (): Int32Array => new Int32Array(new SharedArrayBuffer(L.GROUP_WORDS * 4));

  it('gives each of ADDED_CELLS threads a cell, the same one again, and none to the next thread', () => {
    const words = record();
    const cells = [11, 12, 13, 14].map((thread) => claimAddedCell(words, thread));
    expect(new Set(cells).size).toBe(L.ADDED_CELLS);
    expect(claimAddedCell(words, 12)).toBe(cells[1]);
    expect(claimAddedCell(words, 15)).toBe(-1);
  });

  it('sums the shared count and every cell, carrying past 2^32 in a cell', () => {
    const words = record();
    const cell = claimAddedCell(words, 1);
    const other = claimAddedCell(words, 2);
    words[cell] = -2; // 2^32 - 2 units already counted
    addInCell(words, cell, 5);
    expect([words[cell], words[cell + 1]]).toEqual([3, 1]);
    addInCell(words, other, 7);
    addCounter64(words, L.H_ADDED_LO, 100);
    expect(addedOf(words)).toBe(2 ** 32 + 3 + 7 + 100);
  });

  it("moves a dead thread's count to the shared count once, however many threads sweep, and frees its cell", () => {
    const words = record();
    const cell = claimAddedCell(words, 7);
    addInCell(words, cell, 40);
    addCounter64(words, L.H_ADDED_LO, 2);
    foldAddedCell(words, 7);
    foldAddedCell(words, 7);
    expect(addedOf(words)).toBe(42);
    expect([words[L.H_ADDED_LO], words[cell], words[cell - 1]]).toEqual([42, 0, 0]);
    // Free again, with nothing in it: the next thread starts from zero.
    const next = claimAddedCell(words, 8);
    expect(next).toBe(cell);
    addInCell(words, next, 1);
    expect(addedOf(words)).toBe(43);
  });
});
