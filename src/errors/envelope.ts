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
  boundText,
  describe,
  type FailureOrigin,
} from './errors.js';

/** Version of the envelope format; a reader rejects envelopes of any other version. */
export const ENVELOPE_VERSION = 2;
const TAG = 'shared-waitgroup/failure';

/** Most nodes (errors and values) one envelope holds; the rest is replaced by a marker. */
const MAX_NODES = 10_000;
/** Longest string kept as is (message, stack, text); longer ones are cut with a marker. */
export const MAX_STRING = 1 << 20;

type Ref = number;
// Nodes are arrays, not objects: v8.serialize and deserialize spend most of their time per object
// key, and an envelope is made in every failing task and read in every waiting thread.
const ERROR_NODE = 0;
const VALUE_NODE = 1;
const TEXT_NODE = 2;
/** No cause: the error has no own `cause`. */
const NO_CAUSE = -1;
type ErrorNode = [
  kind: typeof ERROR_NODE,
  /** Constructor names from the most derived class to Error, for the reader to pick the first it knows. */
  ctors: string[],
  name: string,
  message: string,
  stack: string | undefined,
  /** Own properties as key, reference, key, reference... */
  props: (string | Ref)[],
  cause: Ref,
  /** An AggregateError's errors, else null. */
  errors: Ref[] | null,
];
type Node = ErrorNode | [kind: typeof VALUE_NODE, value: unknown] | [kind: typeof TEXT_NODE, text: string];

/** The envelope: [TAG, ENVELOPE_VERSION, origin, nodes]; node 0 is the thrown value. */
type Envelope = [tag: typeof TAG, version: number, origin: FailureOrigin, nodes: Node[]];

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
      nodes.push([TEXT_NODE, `[cut: more than ${MAX_NODES} nested values] ${describe(value)}`]);
    } else if (value instanceof Error) {
      seen.set(value, index);
      nodes.push([TEXT_NODE, '']);
      pending.push([value, index]);
    } else if (typeof value === 'string') {
      nodes.push([VALUE_NODE, cut(value)]);
    } else if (isPlainData(value) && canClone(value)) {
      nodes.push([VALUE_NODE, value]);
    } else {
      nodes.push([TEXT_NODE, describe(value)]);
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
      nodes[index] = [TEXT_NODE, `[error could not be read: ${summary(problem)}] ${describe(error)}`];
    }
  }
  return nodes;
}

function errorNode(error: Error, ref: (value: unknown) => Ref): ErrorNode {
  const stack = read(error, 'stack');
  const props: (string | Ref)[] = [];
  const keys = new Set(Object.keys(error));
  if (!keys.has('code') && read(error, 'code') !== undefined) keys.add('code');
  for (const key of keys) {
    if (key !== 'cause' && key !== 'errors' && key !== 'stack' && key !== 'message') props.push(key, ref(read(error, key)));
  }
  const cause = Object.hasOwn(error, 'cause') ? ref(read(error, 'cause')) : NO_CAUSE;
  const errors = error instanceof AggregateError ? read(error, 'errors') : undefined;
  return [
    ERROR_NODE,
    constructorNames(error),
    stringOf(read(error, 'name')),
    stringOf(read(error, 'message')),
    typeof stack === 'string' ? cut(stack) : undefined,
    props,
    cause,
    Array.isArray(errors) ? errors.map(ref) : null,
  ];
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
export function encodeFailure(value: unknown, full: FailureOrigin): Uint8Array {
  // Bounded, so that a long label never turns a failure into an omitted one (it crosses in every envelope).
  const origin: FailureOrigin =
    full.label === undefined ? { threadId: full.threadId, group: boundText(full.group) } : { threadId: full.threadId, group: boundText(full.group), label: boundText(full.label) };
  try {
    return serialize([TAG, ENVELOPE_VERSION, origin, flatten(value)] satisfies Envelope);
  } catch (error) {
    return serialize([TAG, ENVELOPE_VERSION, origin, [[TEXT_NODE, `[failure could not be encoded: ${summary(error)}] ${describe(value)}`]]] satisfies Envelope);
  }
}

function construct([, ctors, name, message, stack]: ErrorNode): Error {
  const known = ctors.find((n) => registered.has(n) || BUILTINS.has(n)) ?? 'Error';
  const ctor = registered.get(known) ?? BUILTINS.get(known) ?? Error;
  let error: Error;
  if (ctor === (DOMException as unknown)) error = new DOMException(message, name);
  else if (registered.has(known)) error = Reflect.construct<[string], Error>(Error, [message], ctor);
  else if (ctor === AggregateError) error = new AggregateError([], message);
  else error = Reflect.construct(ctor, [message]) as Error;
  if (error.name !== name) Object.defineProperty(error, 'name', { value: name, writable: true, configurable: true });
  Object.defineProperty(error, 'stack', { value: stack, writable: true, configurable: true });
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
    built = nodes.map((node) => (node[0] === ERROR_NODE ? construct(node) : node[1]));
  } finally {
    Error.stackTraceLimit = limit;
  }
  const at = (ref: unknown): unknown => (typeof ref === 'number' && ref >= 0 && ref < built.length ? built[ref] : `[dangling reference ${String(ref)}]`);
  nodes.forEach((node, i) => {
    if (node[0] !== ERROR_NODE) return;
    const error = built[i] as Error;
    const [, , , , , props, cause, errors] = node;
    for (let p = 0; p + 1 < props.length; p += 2) {
      const key = String(props[p]);
      // DOMException's code is a getter on its prototype; never shadow what the class computes.
      if (!(error instanceof DOMException && key === 'code')) own(error, key, at(props[p + 1]), true);
    }
    if (cause !== NO_CAUSE) own(error, 'cause', at(cause), false);
    if (errors !== null) own(error, 'errors', errors.map(at), false);
  });
  return built[0];
}

function isEnvelope(value: unknown): value is Envelope {
  return Array.isArray(value) && value[0] === TAG && Array.isArray(value[3]) && typeof value[2] === 'object' && value[2] !== null;
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
    if (!isEnvelope(envelope) || envelope[1] !== ENVELOPE_VERSION) {
      return { value: `[unreadable failure envelope: ${describe(envelope)}]`, origin: unknownOrigin };
    }
    return { value: rebuild(envelope[3]), origin: envelope[2] };
  } catch (error) {
    return { value: `[unreadable failure envelope: ${summary(error)}]`, origin: unknownOrigin };
  }
}
