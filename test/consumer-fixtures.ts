// The files of the consumer projects that test/consumer.test.ts installs the packed tarball into.
// They are strings, not files of this repository: they import 'shared-waitgroup' by name, which
// only resolves inside a project where the tarball is installed.

/** An ESM program for a project with only the tarball installed (no optional peer). */
export const BARE_ESM = `
const core = await import('shared-waitgroup');
const piscina = await import('shared-waitgroup/piscina');
const outcome = async (specifier) => {
  try {
    await import(specifier);
    return 'loaded';
  } catch (error) {
    return error.code;
  }
};
const { WaitGroup, TaskGroupError } = core;
const group = new WaitGroup({ name: 'bare' });
const task = group.add(2, 'two units');
task.done();
const early = await group.wait({ timeout: 0 }).catch((error) => error.code);
task.done(new Error('second unit failed'));
const waited = await group.wait().catch((error) => (error instanceof TaskGroupError ? error.code : String(error)));
console.log(JSON.stringify({
  core: Object.keys(core).sort(),
  piscina: Object.keys(piscina).sort(),
  comlinkFile: import.meta.resolve('shared-waitgroup/comlink').endsWith('/node_modules/shared-waitgroup/dist/src/integrations/comlink.js'),
  comlink: await outcome('shared-waitgroup/comlink'),
  deep: await outcome('shared-waitgroup/dist/src/group/group.js'),
  early,
  waited,
  stats: group.stats(),
}));
`;

/** A CommonJS program: Node's require(esm), and the same classes as an import() of the package. */
export const BARE_CJS = `
const { WaitGroup, TaskGroupError } = require('shared-waitgroup');
const { TrackedPool, tracked } = require('shared-waitgroup/piscina');
const group = new WaitGroup({ name: 'cjs' });
const task = group.add(2, 'two units');
task.done();
task.done(new Error('boom'));
let code;
try {
  group.waitSync({ timeout: 30000 });
} catch (error) {
  code = error instanceof TaskGroupError ? error.code : String(error);
}
import('shared-waitgroup').then((esm) => {
  console.log(JSON.stringify({
    sameClass: esm.WaitGroup === WaitGroup,
    code,
    stats: group.stats(),
    piscina: [typeof TrackedPool, typeof tracked],
  }));
});
`;

/** The pool's worker module: a tracked task that leaves work behind, or throws. */
export const WORKER_TS = `
import { tracked } from 'shared-waitgroup/piscina';

export interface Job {
  readonly n: number;
}

// With declarations on, this line needs every type of tracked()'s result to be exported.
export default tracked(({ n }: Job, { group }) => {
  if (n < 0) throw Object.assign(new RangeError(\`negative: \${n}\`), { code: 'E_NEGATIVE' });
  const later = group.add(\`after \${n}\`);
  setImmediate(() => later.done());
  return n * 2;
});
`;

/**
 * The main program: type-level checks of the published declarations (their internals stripped),
 * then a group shared with pool workers through piscina, using nothing but the installed packages.
 */
export const MAIN_TS = `
import { Piscina } from 'piscina';
import { Task, TaskGroupError, WaitGroup, type PendingTask, type WaitGroupErrorCode, type WaitGroupStats } from 'shared-waitgroup';
import { TrackedPool, type ShutdownReport } from 'shared-waitgroup/piscina';
import { registerTransferHandlers, wrapWorker } from 'shared-waitgroup/comlink';
import type { Remote } from 'comlink';
import type { Job } from './worker.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const types: [
  Equal<WaitGroupStats, { readonly added: number; readonly done: number; readonly failed: number; readonly pending: number }>,
  Equal<PendingTask, { readonly label?: string; readonly group: string; readonly threadId: number; readonly since: number; readonly remaining: number }>,
  Equal<ReturnType<WaitGroup['pendingTasks']>, PendingTask[]>,
  Equal<TaskGroupError['code'], 'ERR_TASKS_FAILED'>,
  Equal<Extract<WaitGroupErrorCode, 'ERR_WAIT_TIMEOUT'>, 'ERR_WAIT_TIMEOUT'>,
  Equal<Awaited<ReturnType<TrackedPool['shutdown']>>, ShutdownReport>,
  Equal<ReturnType<typeof wrapWorker<{ ping(): string }>>, Remote<{ ping(): string }>>,
] = [true, true, true, true, true, true, true];

/** Never called: calls that must not type-check against the published declarations. */
export function refused(group: WaitGroup, task: Task): void {
  // @ts-expect-error tasks come from add() and Task.from()
  new Task();
  // @ts-expect-error internal, stripped from the declarations
  task.settle(1, false, undefined);
  // @ts-expect-error internal, stripped from the declarations
  group.taskHost();
  // @ts-expect-error internal (what the wait loop needs), stripped from the declarations
  group.blocker();
  // @ts-expect-error two labels
  group.add('a', 'b');
  // @ts-expect-error not a function
  group.go(123);
}

registerTransferHandlers(); // loads comlink, an optional peer installed here
const group = new WaitGroup({ name: 'consumer' });
const piscina = new Piscina({ filename: new URL('./worker.js', import.meta.url).href, atomics: 'async', minThreads: 2, maxThreads: 2 });
const pool = new TrackedPool<Job, number>(piscina, group);
const results = await Promise.all([1, 2, 3, 4].map((n) => pool.run({ n }, { label: \`job \${n}\` })));
await group.wait({ timeout: 60_000 }); // each job left a task behind in its worker
const afterJobs = group.stats();
const rejected = await pool.run({ n: -1 }).catch((error: unknown) => error);
const waited = await group.wait({ timeout: 60_000 }).catch((error: unknown) => error);
const report = await pool.shutdown({ deadline: 60_000 });
console.log(JSON.stringify({
  results,
  afterJobs,
  rejected: rejected instanceof RangeError ? (rejected as RangeError & { code?: unknown }).code : String(rejected),
  waited: waited instanceof TaskGroupError ? { code: waited.code, errors: waited.errors.length, label: waited.origins[0]?.label, inWorker: waited.origins[0]?.threadId !== 0 } : String(waited),
  report: { timedOut: report.timedOut, pending: report.pending.length, failure: report.failure?.code },
  stats: group.stats(),
}));
`;

/** A CommonJS TypeScript file: \`import x = require()\` of the ESM package, which TypeScript >= 5.8 allows under \`module: nodenext\`. */
export const LEGACY_CTS = `
import sw = require('shared-waitgroup');
import piscina = require('shared-waitgroup/piscina');

const group = new sw.WaitGroup({ name: 'cts' });
const task: sw.Task = group.add(2);
task.done();
task.done();
group.waitSync({ timeout: 30_000 });
console.log(JSON.stringify({ stats: group.stats(), tracked: typeof piscina.tracked }));
`;

/**
 * The program of a CommonJS project (its package.json says `"type": "commonjs"`), written as most
 * TypeScript is: `import` statements, which `module: nodenext` compiles to require() of the ESM
 * package. TypeScript >= 5.8 allows that under nodenext; under node16 it is error TS1479.
 */
export const CJS_PROJECT_TS = `
import { TaskGroupError, WaitGroup, type Task } from 'shared-waitgroup';
import { TrackedPool, tracked } from 'shared-waitgroup/piscina';

const group = new WaitGroup({ name: 'cjs project' });
const task: Task = group.add(2, 'two units');
task.done();
task.done(new Error('second unit failed'));
let code: string | undefined;
try {
  group.waitSync({ timeout: 30_000 });
} catch (error) {
  if (error instanceof TaskGroupError) code = error.code;
}
// \`module\` is an object in a CommonJS module only.
console.log(JSON.stringify({ format: typeof module, code, stats: group.stats(), piscina: [typeof TrackedPool, typeof tracked] }));
`;

const strict = { target: 'es2022', strict: true, noUncheckedIndexedAccess: true, types: ['node'] };

/**
 * tsconfig files of the TypeScript consumer. The node16 one sets `skipLibCheck: false`
 * (TypeScript's default), so the published declarations are checked themselves; without
 * `exactOptionalPropertyTypes` there, and with `resolveJsonModule`, only because piscina's own
 * declarations need that. The others check the consumer's code, under the strictest options; the
 * one under cjs/ compiles the CommonJS project (CJS_PROJECT_TS).
 */
export const TSCONFIGS: Record<string, object> = {
  'tsconfig.node16.json': {
    compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16', skipLibCheck: false, resolveJsonModule: true, declaration: true, rootDir: 'src', outDir: 'out' },
    files: ['src/main.ts', 'src/worker.ts'],
  },
  'tsconfig.bundler.json': {
    compilerOptions: { ...strict, exactOptionalPropertyTypes: true, module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true, noEmit: true },
    files: ['src/main.ts', 'src/worker.ts'],
  },
  'tsconfig.cjs.json': {
    compilerOptions: { ...strict, exactOptionalPropertyTypes: true, module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: true, rootDir: 'src', outDir: 'out' },
    files: ['src/legacy.cts'],
  },
  'cjs/tsconfig.json': {
    compilerOptions: { ...strict, exactOptionalPropertyTypes: true, module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: true, rootDir: 'src', outDir: 'out' },
    files: ['src/main.ts'],
  },
};

/** tsconfig files that must refuse the CommonJS project, with the error they give: what the README's Install section says. */
export const REFUSED_TSCONFIGS: Record<string, { readonly config: object; readonly error: string }> = {
  // Outside `module: nodenext` (TypeScript >= 5.8), a require() of ESM does not type-check.
  'cjs/tsconfig.node16.json': {
    config: { compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16', skipLibCheck: true, noEmit: true }, files: ['src/main.ts'] },
    error: 'TS1479',
  },
};
