import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { parseYaml, splitDocuments } from '../../src/objects/parse.ts';

/** What the `yaml` package alone makes of a stream (the reference). */
function reference(text: string): { values: unknown[]; ok: boolean } {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return { values: [], ok: true };
  if (!docs.every((d) => d.errors.length === 0)) return { ok: false, values: [] };
  try {
    return { ok: true, values: docs.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown).filter((v) => v !== null && v !== undefined) };
  } catch {
    return { ok: false, values: [] }; // e.g. an alias to no anchor
  }
}

function agree(text: string): void {
  const ref = reference(text);
  if (!ref.ok) return;
  const got = parseYaml(text);
  assert.deepEqual(got.failures, [], text);
  assert.deepEqual(got.documents.map((d) => d.value), ref.values, text);
}

test('split at document markers only at column 0', () => {
  const text = 'a: 1\n---\nb: |\n  ---\n  x\n--- # c\nc: 3\n...\nd: 4\n';
  assert.deepEqual(splitDocuments(text).map((c) => [c.startLine, c.text]), [
    [1, 'a: 1\n'],
    [2, '---\nb: |\n  ---\n  x\n'],
    [6, '--- # c\nc: 3\n...'],
    [9, 'd: 4\n'],
  ]);
});

test('the fast path and the yaml package agree on document values and lines', () => {
  const text = '# head\n\napiVersion: v1\nkind: A\n---\n\n# c\nkind: B\nlist: [1, "*", &x y, *x]\n--- {kind: C}\n---\nkind: "D"\nk: !!str 12\n';
  const r = parseYaml(text);
  assert.deepEqual(r.documents.map((d) => [d.line, d.value]), [
    [3, { apiVersion: 'v1', kind: 'A' }],
    [8, { kind: 'B', list: [1, '*', 'y', 'y'] }],
    [10, { kind: 'C' }],
    [12, { kind: 'D', k: '12' }],
  ]);
  assert.equal(r.documents[1]!.lineOf(['list', 2]), 9);
  assert.equal(r.documents[3]!.lineOf(['k']), 13);
});

test('property: for any valid YAML stream both parsers give the same values', () => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue({ maxDepth: 4 }), { minLength: 1, maxLength: 4 }), fc.constantFrom('---\n', '--- \n', '...\n---\n', '---\n# c\n'), (values, sep) => {
      agree(values.map((v) => stringify(v)).join(sep));
    }),
    { numRuns: 400 },
  );
});

test('property: strings that look like other scalars keep their type', () => {
  const scalarish = fc.oneof(
    fc.constantFrom('1_000', '0b101', '0o17', '0x1F', '.inf', '-.Inf', '.NaN', '~', 'Null', 'TRUE', 'yes', 'on', '2024-01-01', '1e3', '+1', '-0', '0777', '12:30', '*', '&a', '!x', '<<', "'", '"', '#', '- a', ': b'),
    fc.string({ maxLength: 8 }),
  );
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(scalarish, fc.array(scalarish, { maxLength: 3 }))), (obj) => {
      agree(stringify(obj));
      agree(stringify(obj, { defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' }));
    }),
    { numRuns: 400 },
  );
});

test('property: mangled text that still parses gives the same values', () => {
  const base = stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', labels: { x: 'y' } }, spec: { ports: [{ port: 80, name: 'http' }] } });
  fc.assert(
    fc.property(fc.array(fc.record({ at: fc.nat(), del: fc.nat({ max: 3 }), ins: fc.constantFrom('', ' ', '\n', '-', ':', '---\n', '...\n', '#', '"', "'", '[', '{', '1', 'a', '&b ', '*b', '!!str ') }), { maxLength: 5 }), (muts) => {
      let text = `${base}---\n${base}`;
      for (const m of muts) {
        const at = m.at % (text.length + 1);
        text = text.slice(0, at) + m.ins + text.slice(at + m.del);
      }
      agree(text);
    }),
    { numRuns: 500 },
  );
});
