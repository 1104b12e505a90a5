// Runs on both sides of a thread boundary: the error-fidelity table. Each case makes a thrown value
// and checks what a waiter in another thread received for it. The test and the worker fixture both
// import this module, so each direction of the trip runs the same checks.
import { readFileSync } from 'node:fs';

/** A subclass the receiving thread registers with registerErrorClass(). */
export class RegisteredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegisteredError';
  }
}

/** A subclass nobody registers: it comes back as an Error named 'UnregisteredError'. */
export class UnregisteredError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'UnregisteredError';
  }
}

class WithPrivate {
  readonly #secret = 1;
  readonly visible = 2;
  get secret(): number {
    return this.#secret;
  }
}

/** One row of the table: a thrown value, and the problems with what arrived (none when right). */
export interface FidelityCase {
  readonly name: string;
  make(): unknown;
  check(received: unknown, sent: unknown): string[];
}

type Check = (received: unknown, sent: unknown) => string[];

function expect(problems: string[], ok: boolean, what: string): void {
  if (!ok) problems.push(what);
}

function asError(value: unknown): Error & Record<string, unknown> {
  return value as Error & Record<string, unknown>;
}

/** Same class (by instanceof), name, message and original stack. */
function sameError(ctor: ErrorConstructor | (new (m: string) => Error)): Check {
  return (received, sent) => {
    const problems: string[] = [];
    const r = asError(received);
    const s = asError(sent);
    expect(problems, received instanceof ctor, `not an instance of ${ctor.name}`);
    expect(problems, r.name === s.name, `name ${r.name} != ${s.name}`);
    expect(problems, r.message === s.message, `message ${r.message} != ${s.message}`);
    expect(problems, r.stack === s.stack, 'stack differs from the original');
    return problems;
  };
}

function builtin(ctor: ErrorConstructor): FidelityCase {
  return { name: ctor.name, make: () => new ctor(`a ${ctor.name}`), check: sameError(ctor) };
}

function causeDepth(value: unknown): number {
  let depth = 0;
  for (let at = asError(value).cause; at instanceof Error; at = at.cause) depth++;
  return depth;
}

export const cases: readonly FidelityCase[] = [
  ...[Error, TypeError, RangeError, SyntaxError, EvalError, URIError, ReferenceError].map(builtin),
  {
    name: 'AggregateError',
    make: () => new AggregateError([new TypeError('first'), new AggregateError([new RangeError('deep')], 'inner')], 'outer'),
    check: (received) => {
      const problems = sameError(AggregateError)(received, received);
      const errors = received instanceof AggregateError ? (received.errors as unknown[]) : [];
      expect(problems, errors[0] instanceof TypeError, 'errors[0] is not a TypeError');
      const inner = errors[1];
      expect(problems, inner instanceof AggregateError && inner.errors[0] instanceof RangeError, 'errors[1].errors[0] is not a RangeError');
      return problems;
    },
  },
  { name: 'registered subclass', make: () => new RegisteredError('mine'), check: sameError(RegisteredError) },
  {
    name: 'unregistered subclass',
    make: () => new UnregisteredError('theirs'),
    check: (received, sent) => {
      const problems = sameError(TypeError)(received, sent);
      expect(problems, !(received instanceof UnregisteredError), 'came back as a class nobody registered');
      return problems;
    },
  },
  {
    name: 'own properties',
    make: () =>
      Object.assign(new Error('props'), {
        code: 'E_CUSTOM',
        errno: -2,
        syscall: 'open',
        path: '/tmp/x',
        data: { n: 1.5, s: 'text', nested: { list: [1, 'two', { three: 3 }] }, when: new Date(86_400_000), map: new Map([['k', 1]]), bytes: new Uint8Array([1, 2, 3]) },
      }),
    check: (received, sent) => {
      const problems = sameError(Error)(received, sent);
      const r = asError(received);
      const s = asError(sent);
      for (const key of ['code', 'errno', 'syscall', 'path']) expect(problems, r[key] === s[key], `${key} ${String(r[key])} != ${String(s[key])}`);
      expect(problems, JSON.stringify(plain(r['data'])) === JSON.stringify(plain(s['data'])), 'data differs');
      return problems;
    },
  },
  {
    name: 'cause chain of depth 1000',
    make: () => {
      let error = new Error('root');
      for (let i = 1; i <= 1000; i++) error = new Error(`level ${i}`, { cause: error });
      return error;
    },
    check: (received) => (causeDepth(received) === 1000 ? [] : [`cause depth ${causeDepth(received)}`]),
  },
  {
    name: 'cyclic cause',
    make: () => {
      const a = new Error('a');
      const b = new Error('b', { cause: a });
      a.cause = b;
      return b;
    },
    check: (received) => {
      const cause = asError(received).cause;
      return cause instanceof Error && cause.cause === received && cause.message === 'a' ? [] : ['cycle not preserved'];
    },
  },
  {
    name: 'DOMException',
    make: () => new DOMException('stopped', 'AbortError'),
    check: (received, sent) => {
      const problems = sameError(DOMException)(received, sent);
      expect(problems, (received as DOMException).code === 20, 'code is not 20');
      return problems;
    },
  },
  {
    name: 'system error',
    make: () => {
      try {
        readFileSync('/definitely/not/here');
      } catch (error) {
        return error;
      }
      return new Error('readFileSync did not throw');
    },
    check: (received, sent) => {
      const problems = sameError(Error)(received, sent);
      const r = asError(received);
      expect(problems, r['code'] === 'ENOENT' && r['syscall'] === 'open' && r['path'] === '/definitely/not/here' && r['errno'] === asError(sent)['errno'], 'code/syscall/path/errno lost');
      return problems;
    },
  },
  {
    name: 'uncloneable properties',
    make: () => Object.assign(new Error('odd'), { fn: () => 1, sym: Symbol('s'), weak: new WeakMap(), priv: new WithPrivate() }),
    check: (received, sent) => {
      const problems = sameError(Error)(received, sent);
      const r = asError(received);
      for (const key of ['fn', 'sym', 'weak', 'priv']) expect(problems, typeof r[key] === 'string' && r[key] !== '', `${key} did not degrade to a description`);
      return problems;
    },
  },
  ...(['a string', 42, null, undefined, { plain: ['object'] }] as const).map(
    (value): FidelityCase => ({
      name: `non-error ${value === undefined ? 'undefined' : JSON.stringify(value)}`,
      make: () => value,
      check: (received) => (JSON.stringify(received) === JSON.stringify(value) && typeof received === typeof value ? [] : [`got ${String(received)}`]),
    }),
  ),
  {
    name: 'non-error Symbol',
    make: () => Symbol('lonely'),
    check: (received) => (typeof received === 'string' && received.includes('lonely') ? [] : ['no descriptive stand-in']),
  },
  {
    name: '10 MB message',
    make: () => new RangeError('x'.repeat(10 * 1024 * 1024)),
    check: (received) => {
      const message = asError(received).message;
      return received instanceof RangeError && message.startsWith('x'.repeat(1000)) && message.includes('truncated') && message.length < 2 * 1024 * 1024 ? [] : ['not truncated with a marker'];
    },
  },
  {
    name: 'getter that throws',
    make: () =>
      Object.defineProperty(new Error('getter'), 'code', {
        enumerable: true,
        get() {
          throw new Error('no code for you');
        },
      }),
    check: (received) => (received instanceof Error && received.message === 'getter' && typeof asError(received)['code'] === 'string' ? [] : ['did not arrive with a description of the getter']),
  },
  {
    name: 'Proxy',
    make: () => new Proxy(new RangeError('behind a proxy'), {}),
    check: (received) => (received instanceof RangeError && received.message === 'behind a proxy' ? [] : ['proxy did not arrive as its target']),
  },
];

/** A JSON-able copy of cloneable data, to compare Dates, Maps and typed arrays by value. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return { date: value.toISOString() };
  if (value instanceof Map) return { map: [...value].map(([k, v]) => [plain(k), plain(v)]) };
  if (ArrayBuffer.isView(value)) return { bytes: [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)] };
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function safeRead(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * What the receiving side needs of a sent value to check it (name, message, stack, properties), in
 * a form that plain structured clone carries; sent alongside, never through the library.
 */
export function summarize(value: unknown): unknown {
  if (!(value instanceof Error) || String(safeRead(value, 'message')).length > 100_000) return undefined;
  const keys = ['name', 'message', 'stack', 'code', 'errno', 'syscall', 'path', 'data'];
  return Object.fromEntries(keys.map((key) => [key, safeRead(value, key)]).filter(([, v]) => typeof v !== 'function'));
}
