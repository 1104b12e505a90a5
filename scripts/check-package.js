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
  log('\n$ attw <tarball> --profile esm-only');
  const attw = spawnSync(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped', '--no-emoji', '--no-color'], { cwd: root, stdio: 'inherit' });
  if (attw.status !== 0) fail('attw reported problems (above)');
  if (process.exitCode === undefined) log('\ncheck:package: publint and attw found nothing');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
