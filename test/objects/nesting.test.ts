// Manifests nested too deeply are refused before any parser recurses into
// them: a clear message with the limit and the line, never "Maximum call
// stack size exceeded", and nothing of the attempt stays in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { formatIssue, loadText } from '../../src/objects/index.ts';
import { jsonTooDeep, MAX_NESTING_DEPTH, yamlTooDeep } from '../../src/objects/nesting.ts';

const N = 2000;
const MSG = `nesting too deep: more than ${MAX_NESTING_DEPTH} levels of mappings and lists (the limit)`;
const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n');
const head = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: deep\nspec:\n';

const deepForms: [name: string, text: string, line: number][] = [
  ['block mappings', head + lines(N, (i) => `${' '.repeat(i + 1)}a:`) + ' 1\n', 5 + MAX_NESTING_DEPTH],
  ['block sequences on one line', head + ' x:\n  ' + '- '.repeat(N) + 'x\n', 7],
  ['block sequences on lines of their own', head + lines(N, (i) => `${' '.repeat(i * 2 + 1)}-`) + ' x\n', 5 + MAX_NESTING_DEPTH],
  ['lists at the indentation of their key', head + lines(N, (i) => `${' '.repeat(i + 1)}${i % 2 ? '- a:' : 'a:'}`) + ' 1\n', 5 + MAX_NESTING_DEPTH],
  ['flow lists', head + ' x: ' + '['.repeat(N) + ']'.repeat(N) + '\n', 6],
  ['flow mappings after a quoted key', head + ' "x": ' + '{"a": '.repeat(N) + '1' + '}'.repeat(N) + '\n', 6],
  ['a flow list over many lines', head + ' x:\n' + lines(N, () => '  [') + '\n' + ']'.repeat(N) + '\n', 5 + MAX_NESTING_DEPTH - 1],
  ['explicit keys', head + ' ' + '? '.repeat(N) + 'x\n', 6],
];

for (const [name, text, line] of deepForms) {
  test(`nesting: ${name} ${N} deep are refused with the limit and the line`, () => {
    const r = loadText(text, 'deep.yaml');
    assert.deepEqual(r.entries, []);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.message, MSG);
    assert.equal(r.errors[0]!.line, line);
    assert.match(formatIssue(r.errors[0]!), /^deep\.yaml:\d+(:\d+)?: nesting too deep: more than 100 levels/);
  });
}

test('nesting: JSON nested too deep is refused (brackets inside strings do not count)', () => {
  const deep = loadText(`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"a": ${'['.repeat(N)}${']'.repeat(N)}}}`, 'deep.json');
  assert.deepEqual(deep.errors.map((e) => e.message), [MSG]);
  assert.equal(jsonTooDeep(`{"a": "${'['.repeat(N)}"}`), null);
  assert.equal(jsonTooDeep('['.repeat(MAX_NESTING_DEPTH) + ']'.repeat(MAX_NESTING_DEPTH)), null);
  assert.equal(jsonTooDeep('['.repeat(MAX_NESTING_DEPTH + 1) + ']'.repeat(MAX_NESTING_DEPTH + 1))?.col, MAX_NESTING_DEPTH + 1);
});

test('nesting: up to the limit loads; quoted brackets, comments and block scalars do not count', () => {
  assert.equal(yamlTooDeep(lines(MAX_NESTING_DEPTH, (i) => `${' '.repeat(i)}a:`) + ' 1\n'), null);
  assert.notEqual(yamlTooDeep(lines(MAX_NESTING_DEPTH + 1, (i) => `${' '.repeat(i)}a:`) + ' 1\n'), null);
  const text = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata: {name: c}',
    `data:`,
    `  quoted: "${'['.repeat(N)}"`,
    `  single: '${'{'.repeat(N)} it''s'`,
    `  comment: 1 # ${'['.repeat(N)}`,
    '  script: |',
    lines(N, (i) => `    ${' '.repeat(i)}nested_${i}:`),
    '  after: [1, [2, {a: b}]]',
  ].join('\n');
  assert.equal(yamlTooDeep(text), null);
});

test('nesting: another document of the same file still loads', () => {
  const text = `${head} x: ${'['.repeat(N)}${']'.repeat(N)}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: fine\nspec:\n  ports: [{port: 80}]\n`;
  const r = loadText(text, 'two.yaml');
  assert.deepEqual(r.errors.map((e) => [e.line, e.message]), [[6, MSG]]);
  assert.deepEqual(r.entries.map((e) => e.name), ['fine']);
});

test('nesting: refusing deep files leaves no memory behind', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const texts = deepForms.map(([, t]) => t);
  const heap = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  for (const t of texts) loadText(t, 'warm.yaml');
  const before = heap();
  for (let k = 0; k < 5; k++) for (const t of texts) loadText(t, 'deep.yaml');
  const grown = heap() - before;
  assert.ok(grown < 8 * 1024 * 1024, `heap grew by ${(grown / 1e6).toFixed(1)} MB over 40 refused files`);
});
