// Every TypeScript block of README.md is compiled with the project's strict options, and every
// complete example is run: an example that does not work is a bug.
//
// Block conventions (first line of a ```ts block):
//   // example NAME: FILE.ts          a file of example NAME
//   // example NAME: FILE.ts (run)    ... and the file `node` runs; it must exit with code 0
// An example must exit 0, print nothing to stderr, and print what its `console.log(...); // output`
// comments say, in order. A block without that line is compiled on its own, not run. Each example gets a directory of its
// own in the OS temp dir, with `shared-waitgroup` linked to this repository, so imports resolve
// through package.json's `exports` to the built package, as they would for a user.
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'swg-readme-'));
const run = promisify(execFile);

interface Example {
  readonly files: Map<string, string>;
  entry: string | undefined;
}

function examples(): Map<string, Example> {
  const found = new Map<string, Example>();
  const blocks = [...readme.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
  blocks.forEach((code, i) => {
    const head = /^\/\/ example ([\w-]+): ([\w-]+\.ts)( \(run\))?\n/.exec(code);
    const name = head?.[1] ?? `snippet-${i + 1}`;
    const example = found.get(name) ?? { files: new Map<string, string>(), entry: undefined };
    example.files.set(head?.[2] ?? 'snippet.ts', code);
    if (head?.[3] !== undefined) example.entry = head[2];
    found.set(name, example);
  });
  return found;
}

function compile(dir: string, files: readonly string[]): string[] {
  const config: unknown = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path)).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const program = ts.createProgram(
    files.map((file) => join(dir, file)),
    { ...options, noEmit: false, outDir: dir, rootDir: dir, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] },
  );
  const emitted = program.emit();
  return [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((d) =>
    ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' }),
  );
}

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('README', () => {
  it('says what it is and shows the set-up commands', () => {
    expect(readme.startsWith('# shared-waitgroup\n')).toBe(true);
    expect(readme).toContain('npm install && npm test');
  });

  const all = examples();
  it('has at least one complete example that runs', () => {
    expect([...all.values()].some((example) => example.entry !== undefined)).toBe(true);
  });

  for (const [name, example] of all) {
    it(`example ${name} compiles${example.entry === undefined ? '' : ' and runs'}`, async () => {
      const dir = join(work, name);
      mkdirSync(join(dir, 'node_modules'), { recursive: true });
      symlinkSync(root, join(dir, 'node_modules', 'shared-waitgroup'), 'dir');
      // The optional peers an example may use, as a user would have installed them.
      for (const peer of ['piscina', 'comlink']) symlinkSync(join(root, 'node_modules', peer), join(dir, 'node_modules', peer), 'dir');
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      for (const [file, code] of example.files) writeFileSync(join(dir, file), code);
      expect(compile(dir, [...example.files.keys()])).toEqual([]);
      if (example.entry === undefined) return;
      const entry = example.entry.replace(/\.ts$/, '.js');
      // Rejects on a non-zero exit; a warning or stray error print is a failure too.
      const { stdout, stderr } = await run(process.execPath, [entry], { cwd: dir, timeout: 60_000 });
      expect(stderr).toBe('');
      // What the example says it prints (`console.log(...); // output`) is what it prints, in order.
      const promised = [...(example.files.get(example.entry) ?? '').matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)].map((m) => m[1] ?? '');
      const printed = stdout.split('\n');
      let at = 0;
      for (const line of promised) {
        const found = printed.indexOf(line, at);
        expect(found, `expected the output to contain ${JSON.stringify(line)} after line ${at}`).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
    }, 90_000); // above the 60 s given to the example itself, so execFile's timeout is the one that fires
  }
});
