// The layout rules of DESIGN.md, checked on the source: a folder is used
// through its index.ts, and arrows between folders run one way (no two
// folders import each other, directly or around a loop). Type-only and
// dynamic imports count: an arrow is a dependency whatever it carries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** A file's folder: its top folder under src/ (src/objects/schemas/core.ts
 *  belongs to objects, src/proxy/jwt/verifier.ts to proxy), except under
 *  src/sources/, where each source is a folder of its own. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts[0] === 'sources' && parts.length > 2 ? `sources/${parts[1]}` : parts[0]!;
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
export function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"](\.[^'"]+)['"]/gm,
    /^\s*import\s+['"](\.[^'"]+)['"]/gm,
    /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

interface Arrow {
  from: string;
  to: string;
  file: string;
  target: string;
}

function arrows(): Arrow[] {
  const out: Arrow[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const spec of importSpecifiers(text)) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC + sep)) continue;
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) out.push({ from, to, file: relative(SRC, file), target: relative(SRC, target) });
    }
  }
  return out;
}

test('import specifiers are found in every form the source uses', () => {
  const text = [
    "import { a } from '../x/index.ts';",
    "import type { B } from '../y/index.ts';",
    "export { c } from './c.ts';",
    "export type * from './d.ts';",
    "import './side-effect.ts';",
    "const m = await import('../z/index.ts');",
    "import {\n  e,\n  f,\n} from '../w/index.ts';",
    "import { g } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text).sort(), ['../w/index.ts', '../x/index.ts', '../y/index.ts', '../z/index.ts', './c.ts', './d.ts', './side-effect.ts'].sort());
});

test("another folder is used only through its index.ts", () => {
  const bad = arrows().filter((a) => !a.target.endsWith(`${a.to}/index.ts`) && a.target !== `${a.to}/index.ts`);
  assert.deepEqual(
    bad.map((a) => `${a.file} imports ${a.target} (use ${a.to}/index.ts)`),
    [],
  );
});

test('arrows between folders run one way (no cycle, direct or around a loop)', () => {
  const edges = new Map<string, Map<string, string>>(); // from -> to -> an importing file
  for (const a of arrows()) {
    const m = edges.get(a.from) ?? new Map<string, string>();
    if (!m.has(a.to)) m.set(a.to, a.file);
    edges.set(a.from, m);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    path.push(n);
    for (const to of (edges.get(n) ?? new Map<string, string>()).keys()) {
      if (state.get(to) === 'open') {
        const loop = [...path.slice(path.indexOf(to)), to];
        const via = loop.slice(0, -1).map((f, i) => `${f} → ${loop[i + 1]} (${edges.get(f)!.get(loop[i + 1]!)})`);
        cycles.push(via.join(', '));
      } else if (!state.has(to)) visit(to);
    }
    path.pop();
    state.set(n, 'done');
  };
  for (const n of [...edges.keys()].sort()) if (!state.has(n)) visit(n);
  assert.deepEqual(cycles, []);
});
