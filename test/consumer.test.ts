// The package as users get it: `npm pack` once, then install the tarball into fresh projects in
// the OS temp dir (outside the repository) and use it only through what was installed: import it
// from ESM, require() it from CommonJS, type-check TypeScript consumers (node16, bundler, and
// CommonJS under nodenext: a .cts file, and a CommonJS project whose imports compile to require(),
// which node16 refuses) against the published declarations, and run a main + pool-worker
// program that shares a group through piscina. Catches a file missing from `files`, a wrong path in
// `exports`, a declaration that does not resolve or does not type-check, and an internal that
// leaks. Needs a build first (`npm run build`; `npm test` does it), as `npm pack` packs dist/.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BARE_CJS, BARE_ESM, CJS_PROJECT_TS, LEGACY_CTS, MAIN_TS, REFUSED_TSCONFIGS, TSCONFIGS, WORKER_TS } from './consumer-fixtures.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const exec = promisify(execFile);
/** Hang guards only: the slowest step (an npm install on a cold cache) takes seconds. */
const STEP_MS = 120_000;

let work = '';
let tarball = '';
/** A project with only the tarball installed, and one with the optional peers and @types/node too. */
const bare = (): string => join(work, 'bare');
const app = (): string => join(work, 'app');

/** The environment of the npm and node children, without the npm_* variables of `npm test` (npm_config_local_prefix would point npm at this repository). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'));
}

async function run(command: string, args: readonly string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return exec(command, args, { cwd, env: cleanEnv(), timeout: STEP_MS, maxBuffer: 16 * 1024 * 1024 });
}

/** The version of a dev dependency as installed here, so the consumer's install hits the npm cache. */
function pinned(name: string): string {
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return `${name}@${version}`;
}

async function project(dir: string, packages: readonly string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: `consumer-${relative(work, dir)}`, private: true, type: 'module' })}\n`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error', tarball, ...packages], dir);
}

/** Runs a program with this Node (the one running the tests) and returns what it printed as JSON. */
async function node(cwd: string, file: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, [file], cwd);
  return JSON.parse(stdout) as unknown;
}

let compiled: Promise<Map<string, string>> | undefined;
/** Compiles the TypeScript consumers once per config, refused ones too (with this repository's compiler); maps each config to its diagnostics. */
async function compile(): Promise<Map<string, string>> {
  compiled ??= (async () => {
    const dir = app();
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src', 'main.ts'), MAIN_TS);
    writeFileSync(join(dir, 'src', 'worker.ts'), WORKER_TS);
    writeFileSync(join(dir, 'src', 'legacy.cts'), LEGACY_CTS);
    // A CommonJS project inside the app: its own package.json, the app's node_modules.
    mkdirSync(join(dir, 'cjs', 'src'), { recursive: true });
    writeFileSync(join(dir, 'cjs', 'package.json'), `${JSON.stringify({ name: 'consumer-cjs', private: true, type: 'commonjs' })}\n`);
    writeFileSync(join(dir, 'cjs', 'src', 'main.ts'), CJS_PROJECT_TS);
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const configs = [...Object.entries(TSCONFIGS), ...Object.entries(REFUSED_TSCONFIGS).map(([file, { config }]) => [file, config] as const)];
    const results = await Promise.all(
      configs.map(async ([file, config]) => {
        writeFileSync(join(dir, file), JSON.stringify(config, null, 2));
        const output = await run(process.execPath, [tsc, '-p', file, '--pretty', 'false'], dir).then(
          ({ stdout }) => stdout,
          (error: unknown) => `tsc failed: ${String((error as { stdout?: unknown }).stdout ?? error)}`,
        );
        return [file, output.trim()] as const;
      }),
    );
    return new Map(results);
  })();
  return compiled;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'swg-consumer-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
  const [info] = JSON.parse(stdout) as [{ filename: string }];
  tarball = join(work, info.filename);
  await Promise.all([project(bare(), []), project(app(), [pinned('piscina'), pinned('comlink'), pinned('@types/node')])]);
}, 2 * STEP_MS);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds what users need and nothing else', () => {
    const installed = join(bare(), 'node_modules', 'shared-waitgroup');
    const files = (readdirSync(installed, { recursive: true, withFileTypes: true }) as { name: string; parentPath: string; isFile(): boolean }[])
      .filter((entry) => entry.isFile())
      .map((entry) => relative(installed, join(entry.parentPath, entry.name)))
      .sort();
    expect(files.filter((file) => !/^(dist\/src|src)\//.test(file))).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json']);
    for (const entry of ['index', 'integrations/piscina', 'integrations/comlink']) {
      for (const ext of ['.js', '.d.ts', '.js.map', '.d.ts.map']) expect(files).toContain(`dist/src/${entry}${ext}`);
      expect(files).toContain(`src/${entry}.ts`);
    }
    // Every file the exports map names exists, and the declaration maps lead to shipped sources.
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    const targets = Object.values(pkg.exports).flatMap((conditions) => Object.values(conditions));
    expect(targets).toHaveLength(6);
    for (const target of targets) expect(existsSync(join(installed, target)), target).toBe(true);
    for (const map of files.filter((file) => file.endsWith('.d.ts.map'))) {
      const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) expect(existsSync(join(installed, dirname(map), source)), `${map} -> ${source}`).toBe(true);
    }
  });

  it('installs without its optional peers, and its ESM entry points load without them', async () => {
    expect(existsSync(join(bare(), 'node_modules', 'piscina'))).toBe(false);
    expect(existsSync(join(bare(), 'node_modules', 'comlink'))).toBe(false);
    writeFileSync(join(bare(), 'esm.mjs'), BARE_ESM);
    expect(await node(bare(), 'esm.mjs')).toEqual({
      core: [
        'DEFAULT_CAPACITY',
        'DEFAULT_MAX_FAILURES',
        'InvalidArgumentTypeError',
        'LAYOUT_VERSION',
        'OutOfRangeError',
        'Task',
        'TaskGroupError',
        'UnknownOptionError',
        'WaitGroup',
        'WaitGroupError',
        'WaitTimeoutError',
        'WorkerExitedError',
        'failureOrigin',
        'registerErrorClass',
        'spawn',
        'spawned',
      ],
      piscina: ['PoolOptionsError', 'TrackedPool', 'tracked'],
      // './comlink' is there, and needs comlink, which is not installed.
      comlinkFile: true,
      comlink: 'ERR_MODULE_NOT_FOUND',
      // Only the exports map is public.
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      early: 'ERR_WAIT_TIMEOUT',
      waited: 'ERR_TASKS_FAILED',
      stats: { added: 2, done: 2, failed: 1, pending: 0 },
    });
  }, STEP_MS);

  it('is require()d from CommonJS (Node require(esm)), with the same classes as import()', async () => {
    writeFileSync(join(bare(), 'cjs.cjs'), BARE_CJS);
    expect(await node(bare(), 'cjs.cjs')).toEqual({
      sameClass: true,
      code: 'ERR_TASKS_FAILED',
      stats: { added: 2, done: 2, failed: 1, pending: 0 },
      piscina: ['function', 'function'],
    });
  }, STEP_MS);

  it.each(Object.keys(TSCONFIGS))('type-checks a TypeScript consumer with %s', async (config) => {
    expect((await compile()).get(config)).toBe('');
  }, STEP_MS);

  it.each(Object.entries(REFUSED_TSCONFIGS))('refuses the CommonJS project under %s', async (config, { error }) => {
    const codes = new Set([...((await compile()).get(config) ?? '').matchAll(/error (TS\d+):/g)].map((match) => match[1]));
    expect([...codes]).toEqual([error]);
  }, STEP_MS);

  it('runs a CommonJS TypeScript project whose imports compile to require() under nodenext', async () => {
    expect((await compile()).get('cjs/tsconfig.json')).toBe('');
    expect(await node(join(app(), 'cjs'), join('out', 'main.js'))).toEqual({
      format: 'object',
      code: 'ERR_TASKS_FAILED',
      stats: { added: 2, done: 2, failed: 1, pending: 0 },
      piscina: ['function', 'function'],
    });
  }, STEP_MS);

  it('runs a CommonJS TypeScript consumer compiled under nodenext', async () => {
    expect((await compile()).get('tsconfig.cjs.json')).toBe('');
    expect(await node(app(), join('out', 'legacy.cjs'))).toEqual({ stats: { added: 2, done: 2, failed: 0, pending: 0 }, tracked: 'function' });
  }, STEP_MS);

  it('runs a main + worker program that shares a group with piscina workers', async () => {
    expect((await compile()).get('tsconfig.node16.json')).toBe('');
    expect(await node(app(), join('out', 'main.js'))).toEqual({
      results: [2, 4, 6, 8],
      // 4 pool tasks and the 4 tasks they left behind in their workers, all done before wait() resolved.
      afterJobs: { added: 8, done: 8, failed: 0, pending: 0 },
      rejected: 'E_NEGATIVE',
      waited: { code: 'ERR_TASKS_FAILED', errors: 1, label: 'piscina task', inWorker: true },
      report: { timedOut: false, pending: 0, failure: 'ERR_TASKS_FAILED' },
      stats: { added: 9, done: 9, failed: 1, pending: 0 },
    });
  }, STEP_MS);
});
