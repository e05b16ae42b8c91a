/**
 * The repository's import graph (C15, docs/architecture.md): no import cycle inside any
 * workspace's `src` (packages/* and apps/*), and none between workspaces. Type-only imports,
 * re-exports, side-effect imports and dynamic `import()` all count: each is an edge a reader has
 * to follow, and a cycle through them is still a cycle. The import directions themselves
 * (storage, services, runs-anywhere packages) are lint rules in `eslint.config.js`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A workspace whose `src` is checked: its package name and folder. */
interface Workspace {
  name: string;
  dir: string;
}

/** Every workspace under packages/ or apps/ that has a `src` folder, from the root package.json. */
function workspaces(): Workspace[] {
  const globs = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  return globs
    .filter((w) => /^(packages|apps)\//.test(w) && existsSync(join(root, w, 'src')))
    .map((w) => ({
      name: (JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')) as { name: string }).name,
      dir: join(root, w),
    }));
}

/** Every source file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : sources(p);
    return /\.(ts|tsx|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports, re-exports or loads with `import()`. */
function specifiers(text: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[1]!));
}

/** The file a relative specifier names (`./x.js` may stand for `./x.ts`), or undefined. */
function resolveRelative(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  const candidates = [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.js$/, '.tsx'),
    `${base}.ts`,
    `${base}.tsx`,
    join(base, 'index.ts'),
  ];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** Each cycle of `graph` found by a depth-first walk, once, as the nodes along it. */
function cycles(graph: Map<string, string[]>, label: (node: string) => string = (n) => n): string[] {
  const found = new Set<string>();
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): void => {
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) found.add([...path.slice(at), next].map(label).join(' -> '));
      else if (!done.has(next) && graph.has(next)) visit(next);
    }
    path.pop();
    done.add(node);
  };
  for (const node of graph.keys()) if (!done.has(node)) visit(node);
  return [...found];
}

describe('repository import graph', () => {
  const all = workspaces();
  const byName = new Map(all.map((w) => [w.name, w]));
  const files = new Map(all.map((w) => [w, sources(join(w.dir, 'src'))]));
  const fileGraph = new Map<string, string[]>();
  const packageGraph = new Map<string, string[]>(all.map((w) => [w.name, []]));
  for (const [ws, list] of files) {
    for (const f of list) {
      const specs = specifiers(readFileSync(f, 'utf8'));
      fileGraph.set(
        f,
        specs.filter((s) => s.startsWith('.')).flatMap((s) => resolveRelative(f, s) ?? []),
      );
      for (const s of specs) {
        const pkg = s.split('/').slice(0, 2).join('/');
        if (byName.has(pkg) && pkg !== ws.name && !packageGraph.get(ws.name)!.includes(pkg))
          packageGraph.get(ws.name)!.push(pkg);
      }
    }
  }

  it('finds the files, imports and workspaces it checks', () => {
    for (const name of [
      '@parley/protocol',
      '@parley/crypto',
      '@parley/sdk',
      '@parley/server',
      '@parley/sfu',
      '@parley/web',
    ]) {
      assert.ok(byName.has(name), `workspace ${name} is checked`);
    }
    assert.ok(fileGraph.size > 150, `only ${fileGraph.size} source files`);
    const facade = join(root, 'packages/sdk/src/client.ts');
    assert.ok(
      fileGraph.get(facade)?.includes(join(root, 'packages/sdk/src/client/wiring.ts')),
      'sdk client.ts imports client/wiring.ts',
    );
    assert.ok(packageGraph.get('@parley/sdk')?.includes('@parley/protocol'), 'sdk imports protocol');
  });

  it('reports a cycle when there is one', () => {
    const planted = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    assert.deepEqual(cycles(planted), ['a -> b -> c -> a']);
    assert.deepEqual(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', []],
          ['c', ['a', 'b']],
        ]),
      ),
      [],
    );
  });

  it('has no import cycle inside any workspace', () => {
    assert.deepEqual(
      cycles(fileGraph, (f) => relative(root, f)),
      [],
    );
  });

  it('has no import cycle between workspaces', () => {
    assert.deepEqual(cycles(packageGraph), []);
  });
});
