// Runs on both sides of a thread boundary: the thread where a task fails encodes the failure,
// any thread that waits decodes it. Modelled on Node's lib/internal/error_serdes.js: a tagged,
// versioned envelope, a fallback chain (structured clone -> descriptive text), and no path that
// throws. The thrown value is flattened into a table of nodes that refer to each other by index,
// so cause chains of any depth, shared errors and cycles cross intact, without recursion.
import { deserialize, serialize } from 'node:v8';
import {
  InvalidArgumentTypeError,
  OutOfRangeError,
  TaskGroupError,
  WaitGroupError,
  WaitTimeoutError,
  WorkerExitedError,
  describe,
  type FailureOrigin,
} from './errors.js';

/** Version of the envelope format; a reader rejects envelopes of any other version. */
export const ENVELOPE_VERSION = 1;
const TAG = 'shared-waitgroup/failure';

/** Most nodes (errors and values) one envelope holds; the rest is replaced by a marker. */
const MAX_NODES = 10_000;
/** Longest string kept as is (message, stack, text); longer ones are cut with a marker. */
export const MAX_STRING = 1 << 20;

type Ref = number;
type Node =
  | {
      k: 'error';
      /** Constructor names from the most derived class to Error, for the reader to pick the first it knows. */
      ctors: string[];
      name: string;
      message: string;
      stack: string | undefined;
      props: [string, Ref][];
      cause?: Ref;
      errors?: Ref[];
    }
  | { k: 'value'; value: unknown }
  | { k: 'text'; text: string };

interface Envelope {
  tag: typeof TAG;
  v: number;
  origin: FailureOrigin;
  nodes: Node[];
}

/**
 * Any error class: a constructor of `Error` objects, whatever its parameters.
 * @inline
 */
type ErrorClass = new (...args: never[]) => Error;

const BUILTINS = new Map<string, ErrorClass>([
  ['Error', Error],
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['SyntaxError', SyntaxError],
  ['EvalError', EvalError],
  ['URIError', URIError],
  ['ReferenceError', ReferenceError],
  ['AggregateError', AggregateError],
  ['DOMException', DOMException],
]);
/** This library's own classes come back as themselves in every thread. */
const registered = new Map<string, ErrorClass>(
  [WaitGroupError, TaskGroupError, WaitTimeoutError, WorkerExitedError, InvalidArgumentTypeError, OutOfRangeError].map((ctor) => [ctor.name, ctor]),
);

/**
 * Lets failures of class `ctor` thrown in other threads be rebuilt as that class in this thread
 * (each thread that waits registers the classes it wants back). Unregistered subclasses come back
 * as their nearest built-in ancestor, with their `name`.
 * @param ctor - the error class
 * @param name - the name it is known by across threads; default `ctor.name`
 * @example
 * ```ts
 * class QuotaError extends Error {}
 * registerErrorClass(QuotaError); // in the waiting thread
 * // ... a worker's task throws new QuotaError('over quota') ...
 * const error = await group.wait().catch((e: unknown) => e);
 * (error as TaskGroupError).errors[0] instanceof QuotaError; // true
 * ```
 */
export function registerErrorClass(ctor: ErrorClass, name: string = ctor.name): void {
  registered.set(name, ctor);
}

const PLAIN_PROTOTYPES = new Set<unknown>([
  null,
  Object.prototype,
  Array.prototype,
  Date.prototype,
  Map.prototype,
  Set.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  Boolean.prototype,
  Number.prototype,
  String.prototype,
]);

/** True for data that structured clone copies faithfully (not class instances, functions, symbols). */
function isPlainData(value: unknown): boolean {
  if (typeof value === 'function' || typeof value === 'symbol') return false;
  if (typeof value !== 'object' || value === null) return true;
  return ArrayBuffer.isView(value) || PLAIN_PROTOTYPES.has(Object.getPrototypeOf(value));
}

function read(source: object, key: PropertyKey): unknown {
  try {
    return (source as Record<PropertyKey, unknown>)[key];
  } catch (error) {
    return `[getter of ${String(key)} threw: ${summary(error)}]`;
  }
}

/** `Name: message` of a thrown value, without its stack. */
function summary(value: unknown): string {
  try {
    return value instanceof Error ? `${value.name}: ${value.message}` : describe(value);
  } catch {
    return describe(value);
  }
}

function cut(text: string): string {
  return text.length <= MAX_STRING ? text : `${text.slice(0, MAX_STRING)}… [truncated: ${text.length - MAX_STRING} more characters]`;
}

function stringOf(value: unknown): string {
  try {
    return cut(String(value));
  } catch {
    return describe(value);
  }
}

function constructorNames(error: Error): string[] {
  const names: string[] = [];
  for (let proto: unknown = Object.getPrototypeOf(error); proto !== null && names.length < 64; proto = Object.getPrototypeOf(proto)) {
    const ctor = read(proto as object, 'constructor');
    if (typeof ctor === 'function' && ctor.name !== '') names.push(ctor.name);
  }
  return names;
}

/** Flattens `root` into nodes; errors met again (shared or cyclic) become references to one node. */
function flatten(root: unknown): Node[] {
  const nodes: Node[] = [];
  const seen = new Map<object, Ref>();
  const pending: [Error, Ref][] = [];
  const ref = (value: unknown): Ref => {
    if (typeof value === 'object' && value !== null) {
      const known = seen.get(value);
      if (known !== undefined) return known;
    }
    const index = nodes.length;
    if (index >= MAX_NODES) {
      nodes.push({ k: 'text', text: `[cut: more than ${MAX_NODES} nested values] ${describe(value)}` });
    } else if (value instanceof Error) {
      seen.set(value, index);
      nodes.push({ k: 'text', text: '' });
      pending.push([value, index]);
    } else if (typeof value === 'string') {
      nodes.push({ k: 'value', value: cut(value) });
    } else if (isPlainData(value) && canClone(value)) {
      nodes.push({ k: 'value', value });
    } else {
      nodes.push({ k: 'text', text: describe(value) });
    }
    return index;
  };
  ref(root);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [error, index] = next;
    try {
      nodes[index] = errorNode(error, ref);
    } catch (problem) {
      // A Proxy or exotic object that throws from its traps: keep what can be said about it.
      nodes[index] = { k: 'text', text: `[error could not be read: ${summary(problem)}] ${describe(error)}` };
    }
  }
  return nodes;
}

function errorNode(error: Error, ref: (value: unknown) => Ref): Node {
  const stack = read(error, 'stack');
  const node: Node = {
    k: 'error',
    ctors: constructorNames(error),
    name: stringOf(read(error, 'name')),
    message: stringOf(read(error, 'message')),
    stack: typeof stack === 'string' ? cut(stack) : undefined,
    props: [],
  };
  const keys = new Set(Object.keys(error));
  if (!keys.has('code') && read(error, 'code') !== undefined) keys.add('code');
  for (const key of keys) {
    if (key !== 'cause' && key !== 'errors' && key !== 'stack' && key !== 'message') node.props.push([key, ref(read(error, key))]);
  }
  if (Object.hasOwn(error, 'cause')) node.cause = ref(read(error, 'cause'));
  const errors = error instanceof AggregateError ? read(error, 'errors') : undefined;
  if (Array.isArray(errors)) node.errors = errors.map(ref);
  return node;
}

function canClone(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Encodes a thrown value and where it was thrown. Never throws: what cannot be cloned degrades to text.
 * @param value - the thrown value or the argument of `done(error)`
 * @param origin - thread, group and label of the failed task
 * @returns the envelope's bytes
 */
export function encodeFailure(value: unknown, origin: FailureOrigin): Uint8Array {
  const envelope: Envelope = { tag: TAG, v: ENVELOPE_VERSION, origin, nodes: [] };
  try {
    envelope.nodes = flatten(value);
    return serialize(envelope);
  } catch (error) {
    envelope.nodes = [{ k: 'text', text: `[failure could not be encoded: ${summary(error)}] ${describe(value)}` }];
    return serialize(envelope);
  }
}

function construct(node: Extract<Node, { k: 'error' }>): Error {
  const name = node.ctors.find((n) => registered.has(n) || BUILTINS.has(n)) ?? 'Error';
  const ctor = registered.get(name) ?? BUILTINS.get(name) ?? Error;
  let error: Error;
  if (ctor === (DOMException as unknown)) error = new DOMException(node.message, node.name);
  else if (registered.has(name)) error = Reflect.construct<[string], Error>(Error, [node.message], ctor);
  else if (ctor === AggregateError) error = new AggregateError([], node.message);
  else error = Reflect.construct(ctor, [node.message]) as Error;
  if (error.name !== node.name) Object.defineProperty(error, 'name', { value: node.name, writable: true, configurable: true });
  Object.defineProperty(error, 'stack', { value: node.stack, writable: true, configurable: true });
  return error;
}

function own(target: object, key: string, value: unknown, enumerable: boolean): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable });
}

function rebuild(nodes: readonly Node[]): unknown {
  // Every rebuilt error gets the original's stack; capturing a fresh one to overwrite it was most
  // of the cost of a rebuild (benchmark 5).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let built: unknown[];
  try {
    built = nodes.map((node) => (node.k === 'error' ? construct(node) : node.k === 'value' ? node.value : node.text));
  } finally {
    Error.stackTraceLimit = limit;
  }
  const at = (ref: Ref): unknown => (ref >= 0 && ref < built.length ? built[ref] : `[dangling reference ${ref}]`);
  nodes.forEach((node, i) => {
    if (node.k !== 'error') return;
    const error = built[i] as Error;
    for (const [key, ref] of node.props) {
      // DOMException's code is a getter on its prototype; never shadow what the class computes.
      if (!(error instanceof DOMException && key === 'code')) own(error, key, at(ref), true);
    }
    if (node.cause !== undefined) own(error, 'cause', at(node.cause), false);
    if (node.errors !== undefined) own(error, 'errors', node.errors.map(at), false);
  });
  return built[0];
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && (value as Partial<Envelope>).tag === TAG && Array.isArray((value as Partial<Envelope>).nodes);
}

/**
 * Rebuilds a failure from its envelope. Never throws.
 * @param bytes - bytes made by `encodeFailure`, possibly in another thread
 * @returns the rebuilt value and its origin; a description of the problem if the bytes are not a valid envelope
 */
export function decodeFailure(bytes: Uint8Array): { value: unknown; origin: FailureOrigin } {
  const unknownOrigin = { threadId: -1, group: '?' };
  try {
    const envelope: unknown = deserialize(bytes);
    if (!isEnvelope(envelope) || envelope.v !== ENVELOPE_VERSION) {
      return { value: `[unreadable failure envelope: ${describe(envelope)}]`, origin: unknownOrigin };
    }
    return { value: rebuild(envelope.nodes), origin: envelope.origin };
  } catch (error) {
    return { value: `[unreadable failure envelope: ${summary(error)}]`, origin: unknownOrigin };
  }
}
