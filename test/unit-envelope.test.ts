// Unit tests of the failure envelope (src/errors/envelope.ts), in one thread: what a thrown value becomes
// after encodeFailure() and decodeFailure(), and that no input makes either throw.
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ENVELOPE_VERSION, decodeFailure, encodeFailure } from '../src/errors/envelope.js';

const origin = { threadId: 7, group: 'g', label: 'task' };

const roundTrip = (value: unknown): unknown => decodeFailure(encodeFailure(value, origin)).value;

describe('failure envelope', () => {
  it.each([Error, TypeError, RangeError, SyntaxError, EvalError, URIError, ReferenceError])('%o keeps its class, name, message and stack', (Ctor) => {
    const error = new Ctor('went wrong');
    const back = roundTrip(error);
    expect(back).not.toBe(error);
    expect(back).toBeInstanceOf(Ctor);
    expect(Object.getPrototypeOf(back)).toBe(Ctor.prototype);
    expect(back).toMatchObject({ name: error.name, message: 'went wrong', stack: error.stack });
  });

  it('a subclass of a built-in comes back as that built-in, with its name, message, stack and fields', () => {
    class ValidationError extends RangeError {
      readonly field = 'age';
      constructor(message: string) {
        super(message, { cause: new TypeError('inner') });
        this.name = 'ValidationError';
      }
    }
    const error = new ValidationError('bad age');
    const back = roundTrip(error) as RangeError;
    expect(back).toBeInstanceOf(RangeError);
    expect(back).toMatchObject({ name: 'ValidationError', message: 'bad age', stack: error.stack, field: 'age' });
    expect(back.cause).toBeInstanceOf(TypeError);
    expect((back.cause as Error).message).toBe('inner');
  });

  it('keeps the origin', () => {
    expect(decodeFailure(encodeFailure(new Error('x'), origin)).origin).toEqual(origin);
  });

  it.each([
    ['number', 42],
    ['string', 'text'],
    ['null', null],
    ['undefined', undefined],
    ['boolean', false],
    ['bigint', 10n],
    ['plain object', { a: 1, b: [1, 'two', { c: null }] }],
    ['array', [1, 'x', [2]]],
    ['date', new Date(0)],
    ['map', new Map([[1, 'one']])],
  ])('a %s round-trips', (_, value) => {
    expect(roundTrip(value)).toEqual(value);
  });

  it('a cyclic cause chain crosses as a cycle', () => {
    const error = new Error('loop');
    error.cause = error;
    const back = roundTrip(error) as Error;
    expect(back.message).toBe('loop');
    expect(back.cause).toBe(back);
  });

  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const throwing = (): never => {
    throw new Error('trap');
  };
  it.each([
    ['function', () => 1],
    ['symbol', Symbol('s')],
    ['object with a method', { f: () => 1 }],
    ['class instance', new (class Point { x = 1 })()],
    ['revoked proxy', revoked.proxy],
    ['proxy whose traps throw', new Proxy(new Error('p'), { get: throwing, getPrototypeOf: throwing, has: throwing, ownKeys: throwing })],
  ])('an uncloneable %s degrades to text without throwing', (_, value) => {
    const back = roundTrip(value);
    expect(typeof back).toBe('string');
    expect((back as string).length).toBeGreaterThan(0);
  });

  it('an error with an uncloneable field keeps the error, the field becomes text', () => {
    const error = Object.assign(new TypeError('t'), { callback: () => 1, when: 5 });
    const back = roundTrip(error) as TypeError & { callback: unknown; when: unknown };
    expect(back).toBeInstanceOf(TypeError);
    expect(typeof back.callback).toBe('string');
    expect(back.when).toBe(5);
  });

  it.each([
    ['empty bytes', new Uint8Array(0)],
    ['garbage bytes', new Uint8Array([0xff, 0x0d, 0x01, 0x02, 0x03])],
    ['another value', serialize({ tag: 'something else' })],
    ['another version', serialize(['shared-waitgroup/failure', 99, origin, []])],
    ['the object form of version 1', serialize({ tag: 'shared-waitgroup/failure', v: 1, origin, nodes: [] })],
    ['broken nodes', serialize(['shared-waitgroup/failure', ENVELOPE_VERSION, origin, [[0, 5]]])],
  ])('%s decode to a descriptive string without throwing', (_, input) => {
    const decoded = decodeFailure(input);
    expect(typeof decoded.value).toBe('string');
    expect((decoded.value as string).length).toBeGreaterThan(0);
    expect(decoded.origin.threadId).toBe(-1);
  });
});
