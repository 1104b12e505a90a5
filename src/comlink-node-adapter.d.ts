// comlink ships types for its Node adapter only beside the UMD build; this names them for the ESM one.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { Worker } from 'node:worker_threads';
  export default function nodeEndpoint(endpoint: Worker | import('node:worker_threads').MessagePort): Endpoint;
}
