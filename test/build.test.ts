// `npm run build` is incremental (`tsc -b`, its build info in dist/): on an up-to-date dist/ it
// writes nothing, so `npm start` (whose prestart runs the same build) starts in about a second
// instead of recompiling every file first. A fresh clone has no dist/ and no build info, so it
// builds everything. Needs a build first; `npm test` does it in pretest.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const run = promisify(execFile);
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Every file under dist/ with its modification time. */
function stamps(): Map<string, number> {
  const files = readdirSync(dist, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return new Map(files.map((entry) => [join(entry.parentPath, entry.name), statSync(join(entry.parentPath, entry.name)).mtimeMs]));
}

describe('npm run build', () => {
  it('writes nothing when dist/ is up to date', async () => {
    const before = stamps();
    expect(before.has(join(dist, 'tsconfig.build.tsbuildinfo'))).toBe(true);
    await run('npm', ['run', 'build', '--silent'], { cwd: root, timeout: 120_000 });
    expect(stamps()).toEqual(before);
  }, 120_000);

  it('is what npm start runs first', () => {
    expect(scripts['prestart']).toBe(scripts['build']);
  });
});
