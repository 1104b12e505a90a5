// The shape of src/: folders are layers (errors, platform, memory and the protocol, the group API,
// the integrations), each importing only from itself and the layers below, and no import cycles
// between modules at run time (a type-only import is erased).
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

/** The layers of src/, lowest first: a module imports only from its own layer or lower ones. */
const LAYERS = ['errors', 'platform', 'memory', 'group', 'integrations', '.'];

/** Every relative import of each module, type-only ones included: a type points up as much as a value. */
function allImports(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of sources(root)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\s+[^;]*?from\s+'(\.[^']+)'/gms)].map((match) =>
      relative(root, resolve(dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts'))),
    );
    edges.set(relative(root, file), targets);
  }
  return edges;
}

const layerOf = (module: string): number => LAYERS.indexOf(module.includes('/') ? (module.split('/')[0] ?? '.') : '.');

/** The imports that point from a module to a higher layer. */
function upward(edges: Map<string, string[]>): string[] {
  return [...edges].flatMap(([module, targets]) => targets.filter((target) => layerOf(target) > layerOf(module)).map((target) => `${module} -> ${target}`));
}

describe('architecture of src/', () => {
  it('has no import cycle at run time', () => {
    expect(cycles(graph())).toEqual([]);
  });

  it('puts every module in a layer folder, and only the entry point at the top', () => {
    const misplaced = [...graph().keys()].filter((module) => layerOf(module) < 0 || (layerOf(module) === LAYERS.length - 1 && module !== 'index.ts'));
    expect(misplaced).toEqual([]);
  });

  it('imports only from the same layer or lower ones (errors < platform < memory < group < integrations)', () => {
    expect(upward(allImports())).toEqual([]);
  });

  it('finds an upward import when there is one', () => {
    const edges = new Map([
      ['memory/host.ts', ['group/task.ts', 'errors/errors.ts']],
      ['platform/exits.ts', ['memory/sweep.ts']],
    ]);
    expect(upward(edges)).toEqual(['memory/host.ts -> group/task.ts', 'platform/exits.ts -> memory/sweep.ts']);
  });

  it('finds the cycle it is meant to find', () => {
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });
});
