// A state of the search, and its identity: what the visited set compares.
import type { Status } from './program.js';

/** One thread of a state. */
export interface Thread {
  readonly spec: number;
  pc: number;
  status: Status;
  /** Word slept on, -1 when awake. */
  word: number;
  readonly locals: number[];
}

/** A state: memory, ghost words, threads, deaths so far. */
export interface State {
  readonly mem: number[];
  readonly ghost: number[];
  readonly threads: Thread[];
  deaths: number;
}

/** A deep copy of a state, for its successor to change. */
export function clone(state: State): State {
  return {
    mem: [...state.mem],
    ghost: [...state.ghost],
    threads: state.threads.map((t) => ({ spec: t.spec, pc: t.pc, status: t.status, word: t.word, locals: [...t.locals] })),
    deaths: state.deaths,
  };
}

const STATUS_CODE: Readonly<Record<Status, number>> = { running: 0, asleep: 1, finished: 2, dead: 3 };

/** Turns states into keys: exact (every number packed) or a 96-bit hash of the same numbers. */
export class Keys {
  readonly #exact: boolean;
  readonly #packer = new Packer();
  readonly #hasher = new Hasher();

  constructor(exact: boolean) {
    this.#exact = exact;
  }

  key(state: State): string {
    const sink: Sink = this.#exact ? this.#packer : this.#hasher;
    sink.reset(state.threads.length);
    sink.all(state.mem);
    sink.all(state.ghost);
    for (const t of state.threads) {
      sink.one(t.spec);
      sink.one(t.pc);
      sink.one(STATUS_CODE[t.status]);
      sink.one(t.word);
      sink.all(t.locals);
    }
    return sink.key();
  }
}

interface Sink {
  reset(first: number): void;
  one(value: number): void;
  all(values: readonly number[]): void;
  key(): string;
}

/**
 * Three 32-bit multiply-xorshift hashes with different seeds and multipliers over the same
 * numbers (a safe integer as its low and high 32 bits): 96 bits, six UTF-16 code units.
 */
class Hasher implements Sink {
  #a = 0;
  #b = 0;
  #c = 0;

  reset(first: number): void {
    this.#a = 0x9e3779b9;
    this.#b = 0x85ebca6b;
    this.#c = 0xc2b2ae35;
    this.one(first);
  }

  one(value: number): void {
    // An Int32 is one word; anything else its low and high 32 bits after a marker.
    if ((value | 0) === value) {
      this.#mix(value);
      return;
    }
    this.#mix(0x5bd1e995);
    this.#mix(value >>> 0);
    this.#mix(Number.isSafeInteger(value) ? Math.floor(value / 0x1_0000_0000) | 0 : Math.round(value * 1e6) | 0);
  }

  all(values: readonly number[]): void {
    for (const value of values) this.one(value);
  }

  #mix(word: number): void {
    let a = Math.imul(this.#a ^ word, 0x2c1b3c6d);
    a ^= a >>> 15;
    let b = Math.imul(this.#b ^ word, 0x297a2d39);
    b ^= b >>> 13;
    let c = Math.imul(this.#c ^ word, 0x7feb352d);
    c ^= c >>> 16;
    // Each lane also takes in another's state, so that no lane is a function of one multiplier only.
    this.#a = (a + (c >>> 7)) | 0;
    this.#b = (b ^ (a >>> 11)) | 0;
    this.#c = (c + Math.imul(b, 0x846ca68b)) | 0;
  }

  key(): string {
    const [a, b, c] = [this.#a, this.#b, this.#c];
    return String.fromCharCode(a & 0xffff, a >>> 16, b & 0xffff, b >>> 16, c & 0xffff, c >>> 16);
  }
}


/**
 * Packs a state's numbers into a string exactly and fast: a key of decimal strings spent most of
 * the search converting 64-bit words (slot states, laned counters) to text. A small integer is one
 * UTF-16 code unit; a larger safe integer a sign unit and four 15-bit units; anything else an
 * escape unit and its float64 bits in five 15-bit units. No unit is a surrogate.
 */
class Packer implements Sink {
  static readonly #SMALL_MIN = -1024;
  static readonly #SMALL_MAX = 0x7000 - 1024;
  static readonly #POSITIVE = 0x7ffd;
  static readonly #NEGATIVE = 0x7ffe;
  static readonly #FLOAT = 0x7fff;
  #codes = new Uint16Array(1024);
  #at = 0;
  readonly #float = new Float64Array(1);
  readonly #bits = new BigUint64Array(this.#float.buffer);

  reset(first: number): void {
    this.#at = 0;
    this.#code(first);
  }

  #code(value: number): void {
    if (this.#at >= this.#codes.length) {
      const grown = new Uint16Array(this.#codes.length * 2);
      grown.set(this.#codes);
      this.#codes = grown;
    }
    this.#codes[this.#at++] = value;
  }

  one(value: number): void {
    if (Number.isInteger(value) && value >= Packer.#SMALL_MIN && value < Packer.#SMALL_MAX) {
      this.#code(value - Packer.#SMALL_MIN);
      return;
    }
    if (Number.isSafeInteger(value)) {
      // A 64-bit word of the model: its magnitude in four 15-bit units, without BigInt.
      let magnitude = Math.abs(value);
      this.#code(value < 0 ? Packer.#NEGATIVE : Packer.#POSITIVE);
      for (let i = 0; i < 4; i++, magnitude = Math.floor(magnitude / 0x8000)) this.#code(magnitude % 0x8000);
      return;
    }
    this.#float[0] = value;
    let bits = this.#bits[0] ?? 0n;
    this.#code(Packer.#FLOAT);
    for (let i = 0; i < 5; i++, bits >>= 15n) this.#code(Number(bits & 0x7fffn));
  }

  all(values: readonly number[]): void {
    for (const value of values) this.one(value);
  }

  key(): string {
    // apply() on a typed array: no intermediate JS array.
    return String.fromCharCode.apply(null, this.#codes.subarray(0, this.#at) as unknown as number[]);
  }
}

