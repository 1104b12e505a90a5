// The shape of src/: no import cycles between modules at run time (a type-only import is erased),
// and the shared-memory protocol below the group API: the modules that move shared words never
// import the group, its tasks or the integrations.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Runtime imports of each module: relative `import`/`export ... from` that are not `import type`. */
function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of sources(root)) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)) {
      const spec = match[1] ?? '';
      targets.push(relative(root, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))));
    }
    edges.set(relative(root, file), targets);
  }
  return edges;
}

function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (state.get(node) === undefined) visit(node);
  return found;
}

/** The modules that read and write the shared words: the protocol layer. */
const PROTOCOL = ['layout.ts', 'state.ts', 'registry.ts', 'counters.ts', 'slots.ts', 'take.ts', 'failure-log.ts', 'links.ts'];
/** What the protocol layer must not import: the group API and the integrations. */
const ABOVE = ['group.ts', 'task.ts', 'wait.ts', 'run.ts', 'limit.ts', 'piscina.ts', 'comlink.ts', 'spawn.ts', 'index.ts'];

describe('architecture of src/', () => {
  it('has no import cycle at run time', () => {
    expect(cycles(graph())).toEqual([]);
  });

  it('keeps the shared-memory protocol below the group API and the integrations', () => {
    const edges = graph();
    const wrong = PROTOCOL.flatMap((module) => (edges.get(module) ?? []).filter((target) => ABOVE.includes(target)).map((target) => `${module} -> ${target}`));
    expect(wrong).toEqual([]);
  });

  it('finds the cycle it is meant to find', () => {
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });
});
