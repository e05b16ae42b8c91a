/**
 * The SDK's module layout (C15, docs/architecture.md): no import cycles inside the package, and
 * the client's services never import the `ParleyClient` facade (they get narrow interfaces).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Every TypeScript file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(name) ? [p] : [];
  });
}

/** Relative imports and re-exports of each file (type-only ones too: they are cycles for readers). */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const targets = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) =>
      resolve(dirname(f), m[1]!),
    );
    graph.set(f, targets);
  }
  return graph;
}

/** Each import cycle once, as the files along it (relative to `src`). */
function cycles(graph: Map<string, string[]>): string[] {
  const found = new Set<string>();
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): void => {
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0)
        found.add(
          path
            .slice(at)
            .map((p) => relative(src, p))
            .join(' -> '),
        );
      else if (!done.has(next) && graph.has(next)) visit(next);
    }
    path.pop();
    done.add(file);
  };
  for (const file of graph.keys()) if (!done.has(file)) visit(file);
  return [...found];
}

describe('SDK layout', () => {
  const files = sources(src);
  const graph = importGraph(files);

  it('finds the imports it checks', () => {
    assert.ok(files.length > 20, `only ${files.length} files under ${src}`);
    assert.ok(
      (graph.get(join(src, 'client.ts')) ?? []).includes(join(src, 'client/wiring.ts')),
      'client.ts imports client/wiring.ts',
    );
    assert.ok(
      (graph.get(join(src, 'client/wiring.ts')) ?? []).includes(join(src, 'client/session.ts')),
      'client/wiring.ts imports client/session.ts',
    );
  });

  it('has no import cycles', () => {
    assert.deepEqual(cycles(graph), []);
  });

  it('keeps the client services off the facade', () => {
    const facade = join(src, 'client.ts');
    const offenders = files
      .filter((f) => f !== facade && (graph.get(f) ?? []).includes(facade))
      .map((f) => relative(src, f));
    // index.ts and testing.ts are entry points: they export the facade, they are not services.
    assert.deepEqual(
      offenders.filter((f) => f !== 'index.ts' && f !== 'testing.ts'),
      [],
    );
  });

  it('keeps the facade a facade', () => {
    // Building services and listing forwarded names live in client/wiring.ts and
    // client/forwarding.ts; the facade holds only what adds to a service's own method.
    const lines = readFileSync(join(src, 'client.ts'), 'utf8').split('\n').length;
    assert.ok(lines <= 180, `client.ts has ${lines} lines: move what is not facade into client/`);
  });
});
