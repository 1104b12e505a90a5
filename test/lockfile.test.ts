// package-lock.json's root entry (`packages[""]`) mirrors package.json's fields. When one of them
// differs, `npm install` on a fresh clone rewrites the lockfile and leaves the clone dirty (and
// `npm ci` may refuse the lockfile). Cheap: two JSON reads, no install.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Manifest = Record<string, unknown>;

const read = (file: string): unknown => JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'));
const pkg = read('package.json') as Manifest;
const lock = read('package-lock.json') as { name?: unknown; version?: unknown; packages?: Record<string, Manifest> };

/** The package.json fields npm copies into the lockfile's root entry. */
const FIELDS = ['name', 'version', 'license', 'engines', 'dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin'];

describe('package-lock.json', () => {
  const rootEntry = lock.packages?.[''] ?? {};

  it.each(FIELDS)('has the root entry field %s of package.json', (field) => {
    expect(rootEntry[field]).toEqual(pkg[field]);
  });

  it('names the package and version of package.json at its top level', () => {
    expect({ name: lock.name, version: lock.version }).toEqual({ name: pkg['name'], version: pkg['version'] });
  });
});
