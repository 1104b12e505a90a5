// comlink ships types for its Node adapter only beside the UMD build; this names them for the ESM one.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { MessagePort, Transferable, Worker } from 'node:worker_threads';
  /** What the adapter uses of its argument: a Worker, a MessagePort, or anything that posts and emits 'message' alike. */
  interface NodeMessageTarget {
    postMessage(message: unknown, transfer?: readonly Transferable[]): void;
    on(event: 'message', listener: (data: unknown) => void): unknown;
    off(event: 'message', listener: (data: unknown) => void): unknown;
  }
  export default function nodeEndpoint(endpoint: Worker | MessagePort | NodeMessageTarget): Endpoint;
}
