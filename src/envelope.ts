// Runs on both sides of a thread boundary: the thread where a task fails encodes the failure,
// any thread that waits decodes it. Modelled on Node's lib/internal/error_serdes.js: a tagged,
// versioned envelope, a fallback chain (structured clone -> descriptive text), and no path that throws.
import { deserialize, serialize } from 'node:v8';
import { describe, type FailureOrigin } from './errors.js';

/** Version of the envelope format; a reader rejects envelopes of any other version. */
export const ENVELOPE_VERSION = 1;
const TAG = 'shared-waitgroup/failure';

/** A serialized thrown value: an error's parts, a cloneable value, or a description of what could not cross. */
type Body =
  | { k: 'error'; ctor: string; name: string; message: string; stack: string | undefined; props: Record<string, unknown>; cause?: Body; errors?: Body[] }
  | { k: 'value'; value: unknown }
  | { k: 'text'; text: string };

interface Envelope {
  tag: typeof TAG;
  v: number;
  origin: FailureOrigin;
  body: Body;
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  EvalError,
  URIError,
  ReferenceError,
};

/** How deep `cause` and `errors` are followed before the rest is replaced by text. */
const MAX_DEPTH = 32;

function canClone(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

function read(source: object, key: PropertyKey): unknown {
  try {
    return (source as Record<PropertyKey, unknown>)[key];
  } catch (error) {
    return `[getter threw: ${describe(error)}]`;
  }
}

function encodeBody(value: unknown, depth: number): Body {
  if (!(value instanceof Error)) {
    return canClone(value) ? { k: 'value', value } : { k: 'text', text: describe(value) };
  }
  if (depth >= MAX_DEPTH) return { k: 'text', text: `[cause chain cut at depth ${MAX_DEPTH}] ${describe(value)}` };
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === 'cause' || key === 'errors') continue;
    const prop = read(value, key);
    props[key] = canClone(prop) ? prop : describe(prop);
  }
  const ctorName = Object.getPrototypeOf(value) === null ? 'Error' : read(value, 'constructor');
  const body: Body = {
    k: 'error',
    ctor: typeof ctorName === 'function' && ctorName.name in BUILTIN_ERRORS ? ctorName.name : 'Error',
    name: String(read(value, 'name')),
    message: String(read(value, 'message')),
    stack: typeof value.stack === 'string' ? value.stack : undefined,
    props,
  };
  if ('cause' in value) body.cause = encodeBody(read(value, 'cause'), depth + 1);
  const errors = value instanceof AggregateError ? read(value, 'errors') : undefined;
  if (Array.isArray(errors)) body.errors = errors.map((e: unknown) => encodeBody(e, depth + 1));
  return body;
}

/**
 * Encodes a thrown value and where it was thrown. Never throws: what cannot be cloned degrades to text.
 * @param value - the thrown value or the argument of `done(error)`
 * @param origin - thread, group and label of the failed task
 * @returns the envelope's bytes
 */
export function encodeFailure(value: unknown, origin: FailureOrigin): Uint8Array {
  const envelope: Envelope = { tag: TAG, v: ENVELOPE_VERSION, origin, body: { k: 'text', text: '' } };
  try {
    envelope.body = encodeBody(value, 0);
    return serialize(envelope);
  } catch (error) {
    envelope.body = { k: 'text', text: `[failure could not be encoded: ${describe(error)}] ${describe(value)}` };
    return serialize(envelope);
  }
}

function decodeBody(body: Body): unknown {
  if (body.k === 'value') return body.value;
  if (body.k === 'text') return body.text;
  const Ctor = BUILTIN_ERRORS[body.ctor] ?? Error;
  const error = body.errors
    ? new AggregateError(body.errors.map(decodeBody), body.message)
    : new Ctor(body.message);
  Object.assign(error, body.props);
  if (error.name !== body.name) Object.defineProperty(error, 'name', { value: body.name, writable: true, configurable: true });
  Object.defineProperty(error, 'stack', { value: body.stack, writable: true, configurable: true });
  if (body.cause) Object.defineProperty(error, 'cause', { value: decodeBody(body.cause), writable: true, configurable: true });
  return error;
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && (value as Partial<Envelope>).tag === TAG;
}

/**
 * Rebuilds a failure from its envelope.
 * @param bytes - bytes made by `encodeFailure`, possibly in another thread
 * @returns the rebuilt value and its origin; a description of the problem if the bytes are not a valid envelope
 */
export function decodeFailure(bytes: Uint8Array): { value: unknown; origin: FailureOrigin } {
  try {
    const envelope: unknown = deserialize(bytes);
    if (!isEnvelope(envelope) || envelope.v !== ENVELOPE_VERSION) {
      return { value: `[unreadable failure envelope: ${describe(envelope)}]`, origin: { threadId: -1, group: '?' } };
    }
    return { value: decodeBody(envelope.body), origin: envelope.origin };
  } catch (error) {
    return { value: `[unreadable failure envelope: ${describe(error)}]`, origin: { threadId: -1, group: '?' } };
  }
}
