// `npm run check:package`: packs the package exactly as `npm publish` would (npm pack) and lints the
// tarball, not the work tree: publint (package.json fields, `exports` paths, files that exist) and
// @arethetypeswrong/cli (every entry point resolves to its types, in the module formats we claim).
// Needs a build first (`npm run build`; `npm test` does it in pretest). Exits non-zero on any finding.
//
// attw runs with `--profile esm-only`. The package is ESM only, on purpose: a dual build would give
// a thread two unrelated WaitGroup classes. The profile skips two resolution modes that cannot apply:
// node10 (ignores `exports`, so it finds no subpath) and node16-from-CJS (TypeScript's `node16` mode
// treats a CJS `require()` of ESM as an error, though Node ^20.19 / >= 22.12 runs it, and TypeScript
// >= 5.8 accepts it under `module: nodenext`). Both real CommonJS paths, Node's require(esm) and a
// `.cts` file under `nodenext`, are proved by test/consumer.test.ts on the installed tarball.
// attw 0.18.5, the latest, analyses with its own TypeScript 5.6 and has no profile or rule that knows
// require(esm); its table and summary would still print the skipped modes with "ESM (dynamic import
// only)" and "a require call resolved to an ESM JavaScript file, which is an error in Node". So it
// runs with `--format json`, and this script prints the checked modes and says why the others are
// skipped. It is stricter than the profile: in a skipped mode, any problem but the one expected
// there (NoResolution for node10, CJSResolvesToESM for node16-from-CJS) fails the check too.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line) => process.stdout.write(`${line}\n`);
const bin = (name) => join(root, 'node_modules', '.bin', name);

function fail(message) {
  process.stderr.write(`check:package: ${message}\n`);
  process.exitCode = 1;
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const missing = Object.values(pkg.exports)
  .flatMap((entry) => Object.values(entry))
  .filter((file) => !existsSync(join(root, file)));
if (missing.length > 0) {
  fail(`${missing.join(', ')} missing: run \`npm run build\` first`);
  process.exit();
}

/** The resolution modes attw's esm-only profile checks. */
const ATTW_CHECKED = ['node16-esm', 'bundler'];
/** The modes it skips: the one problem each must show (any other is a finding), and why it does not apply. */
const ATTW_SKIPPED = {
  node10: {
    problem: 'NoResolution',
    why: "TypeScript's `moduleResolution: node10` ignores package.json `exports`, so no entry point resolves; consumers use node16, nodenext or bundler",
  },
  'node16-cjs': {
    problem: 'CJSResolvesToESM',
    why:
      `attw models TypeScript's \`module: node16\`, where a CommonJS require() of ESM does not type-check. Node ${pkg.engines.node} ` +
      'loads it (require(esm)), and TypeScript >= 5.8 type-checks it under `module: nodenext`; test/consumer.test.ts proves both on the installed tarball',
  },
};

/** attw on the tarball, its JSON output printed as: each entry point in the checked modes, then why the others are skipped. */
function attw(tarball) {
  const version = (name) => JSON.parse(readFileSync(join(root, 'node_modules', '@arethetypeswrong', name, 'package.json'), 'utf8'));
  const typescript = version('core').dependencies.typescript;
  log(`\n$ attw <tarball> --profile esm-only --format json   (attw ${version('cli').version}, analysing with TypeScript ${typescript})`);
  const run = spawnSync(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  let analysis;
  try {
    ({ analysis } = JSON.parse(run.stdout));
  } catch {
    process.stdout.write(run.stdout);
    process.stderr.write(run.stderr);
    fail(`attw did not run (exit ${run.status})`);
    return;
  }
  const specifier = (entrypoint) => (entrypoint === '.' ? analysis.packageName : `${analysis.packageName}/${entrypoint.replace(/^\.\//, '')}`);
  const width = Math.max(...Object.keys(analysis.entrypoints).map((entrypoint) => specifier(entrypoint).length));
  for (const [entrypoint, { resolutions }] of Object.entries(analysis.entrypoints)) {
    const cells = ATTW_CHECKED.map((mode) => {
      const found = analysis.problems.filter((p) => p.entrypoint === entrypoint && p.resolutionKind === mode).map((p) => p.kind);
      const types = resolutions[mode]?.resolution?.fileName?.replace(`/node_modules/${analysis.packageName}/`, '') ?? 'no types';
      return `${mode}: ${found.length === 0 ? `OK, ${types}` : found.join(', ')}`;
    });
    log(`  ${specifier(entrypoint).padEnd(width)}  ${cells.join('   ')}`);
  }
  for (const [mode, { problem, why }] of Object.entries(ATTW_SKIPPED)) log(`  skipped ${mode} (expected there: ${problem}): ${why}.`);
  const findings = analysis.problems.filter((p) => ATTW_SKIPPED[p.resolutionKind]?.problem !== p.kind);
  for (const p of findings) log(`  problem: ${p.kind} for ${specifier(p.entrypoint ?? '.')} (${p.resolutionKind ?? p.fileName ?? 'package'})`);
  if (run.status !== 0 || findings.length > 0) fail('attw reported problems (above; `npx attw --pack . --profile esm-only` prints its full table)');
}

const dir = mkdtempSync(join(tmpdir(), 'swg-pack-'));
try {
  // --ignore-scripts: no `prepack` build here; the caller built (pack what was tested).
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
  const [info] = JSON.parse(out);
  const tarball = join(dir, info.filename);
  log(`packed ${info.filename}: ${info.entryCount} files, ${info.size} bytes (${info.unpackedSize} unpacked)`);
  // --strict: warnings fail too. Suggestions (printed at the default level) fail as well, below,
  // since publint exits 0 on them.
  log('\n$ publint run <tarball> --strict');
  const lint = spawnSync(bin('publint'), ['run', tarball, '--strict'], { cwd: root, encoding: 'utf8' });
  process.stdout.write(lint.stdout);
  process.stderr.write(lint.stderr);
  if (lint.status !== 0 || !/All good!/.test(lint.stdout)) fail('publint reported problems (above)');
  attw(tarball);
  if (process.exitCode === undefined) log('\ncheck:package: publint and attw found nothing');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
