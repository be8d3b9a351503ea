import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFolder, loadText, formatIssue, ManifestFolderError } from '../../src/objects/index.ts';
import type { Secret, Service, HTTPProxy } from '../../src/objects/index.ts';

async function folder(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'isobar-loader-'));
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
  return dir;
}

const svc = (name: string, ns?: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}spec:\n  ports:\n  - port: 80\n`;

test('loads a folder recursively: yaml, yml, json; skips dot files, dot folders and other extensions', async (t) => {
  const dir = await folder({
    'a.yaml': svc('a'),
    'sub/b.yml': svc('b', 'team'),
    'sub/deeper/c.json': JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'c' }, spec: { ports: [{ port: 81 }] } }),
    '.hidden.yaml': svc('hidden'),
    '.git/d.yaml': svc('d'),
    'notes.txt': svc('txt'),
    'README.md': 'hello',
  });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await loadFolder(dir);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.files, ['a.yaml', 'sub/b.yml', 'sub/deeper/c.json']);
  const names = r.objects.map((o) => `${o.object.metadata.namespace}/${o.object.metadata.name}@${o.source.file}:${o.source.line}`);
  assert.deepEqual(names.sort(), ['default/a@a.yaml:1', 'default/c@sub/deeper/c.json:1', 'team/b@sub/b.yml:1']);
});

test('multi-document YAML keeps the line of each document; empty documents are ignored', () => {
  const r = loadText(`# leading comment\n${svc('one')}---\n---\n# nothing\n---\n${svc('two')}`, 'm.yaml');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.entries.map((e) => [e.name, e.line]), [['one', 2], ['two', 13]]);
});

test('kind: List and <Kind>List load their items with item lines; junk items are errors', () => {
  const r = loadText(
    [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '- apiVersion: v1',
      '  kind: Service',
      '  metadata: {name: x}',
      '  spec: {ports: [{port: 80}]}',
      '- 42',
      '- kind: Service',
      '  metadata: {name: noversion}',
      '- apiVersion: apps/v1',
      '  kind: Deployment',
      '  metadata: {name: web}',
    ].join('\n'),
    'list.yaml',
  );
  assert.deepEqual(r.entries.map((e) => [e.name, e.line]), [['x', 4]]);
  assert.deepEqual(r.errors.map(formatIssue), [
    'list.yaml:8: items[1]: expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found a number (42)',
    'list.yaml:9: items[2]: Service has no apiVersion: add e.g. "apiVersion: v1"',
  ]);
  assert.deepEqual(r.warnings.map(formatIssue), ['list.yaml:11: items[3]: skipping Deployment (apps/v1): isobar does not read this kind']);
  const r2 = loadText('{"apiVersion":"v1","kind":"ServiceList","items":{"a":1}}', 'l.json');
  assert.deepEqual(r2.errors.map(formatIssue), ['l.json:1: ServiceList: items must be a list, found a mapping']);
});

test('Secrets: base64 data decoded, stringData wins, type defaults to Opaque', () => {
  const r = loadText(
    [
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: s, namespace: ns}',
      'data:',
      `  a: ${Buffer.from('from-data').toString('base64')}`,
      `  b: ${Buffer.from('overridden').toString('base64')}`,
      'stringData:',
      '  b: from-stringData',
      '  c: plain',
    ].join('\n'),
    's.yaml',
  );
  assert.deepEqual(r.errors, []);
  const s = r.entries[0]!.object as Secret;
  assert.equal(s.type, 'Opaque');
  assert.deepEqual(s.data, { a: 'from-data', b: 'from-stringData', c: 'plain' });
  assert.equal((s as unknown as Record<string, unknown>)['stringData'], undefined);
});

test('Secrets: invalid base64 rejects that object only, naming the key and line', () => {
  const r = loadText(
    `apiVersion: v1\nkind: Secret\nmetadata: {name: bad}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: "not base64!"\n  tls.key: eA==\n---\n${svc('fine')}`,
    'bad.yaml',
  );
  assert.equal(r.entries.length, 2);
  const rej = r.entries.find((e) => e.name === 'bad')!.rejected!;
  assert.deepEqual(rej.errors.map((e) => e.path), ['data[tls.crt]']);
  assert.match(formatIssue(r.errors[0]!), /^bad\.yaml:6: Secret default\/bad: data\[tls\.crt\]: illegal base64 data/);
  assert.ok(r.entries.find((e) => e.name === 'fine')!.object);
});

test('differing duplicates across files: first kept, second reported with both places', async (t) => {
  const dir = await folder({ 'a.yaml': svc('same'), 'b/c.yaml': `${svc('other')}---\n${svc('same').replace('port: 80', 'port: 81')}` });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await loadFolder(dir);
  assert.equal(r.objects.length, 2);
  assert.equal(r.objects.find((o) => o.object.metadata.name === 'same')!.source.file, 'a.yaml');
  assert.deepEqual(r.errors.map(formatIssue), [
    'b/c.yaml:9: duplicate Service default/same: already defined at a.yaml:1; this definition is ignored (remove one of them)',
  ]);
});

test('the same object defined the same way in two files (a Namespace in each file of a set) is one object, not an error', async (t) => {
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: projectcontour}\n';
  const dir = await folder({ 'a.yaml': `${ns}---\n${svc('a')}`, 'b.yaml': `${ns}---\n${svc('b')}`, 'c.yaml': `${svc('a')}` });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await loadFolder(dir);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.objects.map((o) => `${o.object.kind}/${o.object.metadata.name} ${o.source.file}`), ['Namespace/projectcontour a.yaml', 'Service/a a.yaml', 'Service/b b.yaml']);
});

test('a document that does not parse is reported with line:col and the other documents still load', () => {
  const r = loadText(`${svc('before')}---\nkind: [unclosed\n---\n${svc('after')}`, 'broken.yaml');
  assert.deepEqual(r.entries.map((e) => e.name), ['before', 'after']);
  assert.equal(r.ok, false);
  assert.equal(r.errors.length, 1);
  assert.match(formatIssue(r.errors[0]!), /^broken\.yaml:1[01]:\d+: invalid YAML: /);
});

test('invalid JSON names line and column', () => {
  const r = loadText('{\n  "apiVersion": "v1",\n  "kind": "Service",,\n}', 'x.json');
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors.map(formatIssue), ['x.json:3:21: invalid JSON: Expected double-quoted property name']);
});

test('non-object documents, missing kind/name, bad namespace type', () => {
  const r = loadText(
    ['- a', '- b', '---', 'just a string', '---', 'apiVersion: v1', 'metadata: {name: x}', '---', 'apiVersion: v1', 'kind: Service', 'metadata: {namespace: x}', '---', 'apiVersion: v1', 'kind: Service', 'metadata:', '  name: n', '  namespace: 7', '---', 'apiVersion: v1', 'kind: Service'].join('\n'),
    'junk.yaml',
  );
  assert.deepEqual(r.entries, []);
  assert.deepEqual(r.errors.map(formatIssue), [
    'junk.yaml:1: expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found a list',
    'junk.yaml:4: expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found a string ("just a string")',
    'junk.yaml:6: object has no kind: add e.g. "kind: HTTPProxy"',
    'junk.yaml:11: Service: metadata.name is required',
    'junk.yaml:17: Service n: metadata.namespace must be a string, found a number (7)',
    'junk.yaml:19: Service has no metadata: add metadata.name',
  ]);
});

test('unknown kinds, and known kinds of another API group, are skipped with one warning each; a known kind at a version of its group that is not read is an error', () => {
  const r = loadText(
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n---\napiVersion: projectcontour.io/v1alpha1\nkind: HTTPProxy\nmetadata: {name: b}\n---\n' +
      'apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: c}\n---\napiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: d}\n',
    'k.yaml',
  );
  assert.deepEqual(r.entries, []);
  assert.deepEqual(r.errors.map(formatIssue), ['k.yaml:5: HTTPProxy (projectcontour.io/v1alpha1): not a version isobar reads, nor one the API server serves; use apiVersion projectcontour.io/v1']);
  assert.deepEqual(r.warnings.map(formatIssue), [
    'k.yaml:1: skipping Deployment (apps/v1): isobar does not read this kind',
    'k.yaml:9: skipping Gateway (networking.istio.io/v1beta1): isobar does not read this kind',
    'k.yaml:13: skipping Service (serving.knative.dev/v1): isobar does not read this kind',
  ]);
});

test('huge files are refused with a clear error; binary junk and bad UTF-8 too', async (t) => {
  const dir = await folder({
    'big.yaml': `# ${'x'.repeat(2048)}\n`,
    'bin.yaml': Buffer.from([0x00, 0x01, 0xff, 0x10]),
    'latin1.yaml': Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]),
    'ok.yaml': svc('ok'),
  });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await loadFolder(dir, { maxFileBytes: 1024 });
  assert.deepEqual(r.objects.map((o) => o.object.metadata.name), ['ok']);
  assert.deepEqual(r.errors.map(formatIssue), [
    'big.yaml: file is 2051 bytes, over the 1024 bytes limit per manifest file: split it into smaller files',
    'bin.yaml: file looks binary (contains NUL bytes): manifests must be UTF-8 YAML or JSON text',
    'latin1.yaml: file is not valid UTF-8: save it as UTF-8 text',
  ]);
});

test('a missing folder or a file instead of a folder throws ManifestFolderError', async (t) => {
  const dir = await folder({ 'f.yaml': svc('x') });
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(loadFolder(path.join(dir, 'nope')), (e: unknown) => e instanceof ManifestFolderError && /no such file or folder/.test(e.message));
  await assert.rejects(loadFolder(path.join(dir, 'f.yaml')), (e: unknown) => e instanceof ManifestFolderError && /is not a folder/.test(e.message));
});

test('symlinked files are followed (ConfigMap-style mounts); symlink loops do not hang', async (t) => {
  const dir = await folder({ '..data/app.yaml': svc('linked') });
  t.after(() => rm(dir, { recursive: true, force: true }));
  await symlink(path.join(dir, '..data/app.yaml'), path.join(dir, 'app.yaml'));
  await symlink(dir, path.join(dir, 'loop'));
  const r = await loadFolder(dir);
  assert.deepEqual(r.objects.map((o) => `${o.object.metadata.name}@${o.source.file}`), ['linked@app.yaml']);
});

/** Runs `f` with an unprivileged effective uid when the tests run as root
 *  (as CI does): file modes do not stop root, so a mode-000 file is only
 *  unreadable to someone else. The folder must be readable to that user. */
async function withoutRoot<T>(dir: string, f: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0) return f();
  const NOBODY = 65534;
  await chmod(dir, 0o755);
  process.seteuid!(NOBODY);
  try {
    return await f();
  } finally {
    process.seteuid!(0);
  }
}

test('an unreadable file is an error on that file only', async (t) => {
  const dir = await folder({ 'a.yaml': svc('a'), 'b.yaml': svc('b') });
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(path.join(dir, 'b.yaml'), 0o000);
  const r = await withoutRoot(dir, () => loadFolder(dir));
  assert.deepEqual(r.objects.map((o) => o.object.metadata.name), ['a']);
  assert.deepEqual(r.errors.map(formatIssue), ['b.yaml: cannot read file: permission denied']);
});

test('HTTPProxy loads with namespace defaulted', () => {
  const r = loadText('apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p}\nspec:\n  virtualhost: {fqdn: a.example.com}\n  routes:\n  - services: [{name: s, port: 80}]\n', 'p.yaml');
  const p = r.entries[0]!.object as HTTPProxy;
  assert.equal(p.metadata.namespace, 'default');
  assert.equal(p.spec.virtualhost?.fqdn, 'a.example.com');
  assert.equal((r.entries[0]!.object as unknown as Service).kind, 'HTTPProxy');
});

test('hostile input: alias bombs, deep nesting and __proto__ keys are contained', () => {
  const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n');
  assert.match(formatIssue(loadText(bomb, 'bomb.yaml').errors[0]!), /^bomb\.yaml:1:1: invalid YAML: Excessive alias count/);
  const deep = loadText('['.repeat(20000) + ']'.repeat(20000), 'deep.yaml');
  assert.equal(deep.errors.length, 1);
  assert.match(formatIssue(deep.errors[0]!), /^deep\.yaml:1:\d+: nesting too deep: more than 100 levels/);
  const deepJson = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' }, spec: { ports: JSON.parse('['.repeat(3000) + ']'.repeat(3000)) } });
  const dj = loadText(deepJson, 'deep.json');
  assert.deepEqual(dj.entries, []);
  assert.match(formatIssue(dj.errors[0]!), /^deep\.json:1:\d+: nesting too deep: more than 100 levels/);
  const proto = loadText('apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  __proto__: {polluted: true}\n  ports: [{port: 80}]\n', 'p.yaml');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.deepEqual(proto.warnings.map(formatIssue), ['p.yaml:5: Service default/a: spec.__proto__: unknown field, ignored (check the spelling and the indentation)']);
  assert.equal(Object.getPrototypeOf((proto.entries[0]!.object as Service).spec), Object.prototype);
});

test('JSON Lists: each item keeps its own line (found without a second parse)', () => {
  const text = ['{"apiVersion": "v1", "kind": "List", "items": [', '  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {}},', '', '  {"apiVersion": "v1", "kind": "Service",', '   "metadata": {"name": "b]\\"{"}, "spec": {}}', ']}'].join('\n');
  const r = loadText(text, 'l.json');
  assert.deepEqual(r.entries.map((e) => [e.name, e.line]), [['a', 2], ['b]"{', 4]]);
  assert.equal(r.errors.length, 1, 'the odd name is rejected by the schema, at its line');
  assert.match(formatIssue(r.errors[0]!), /^l\.json:5: Service default\/b\]"\{: metadata\.name: invalid name/);
});

test('displayDir names files the way the user typed the folder', async (t) => {
  const dir = await folder({ 'sub/a.yaml': `${svc('a')}---\n${svc('a').replace('port: 80', 'port: 81')}` });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await loadFolder(dir, { displayDir: 'manifests' });
  assert.deepEqual(r.files, ['sub/a.yaml']);
  assert.equal(r.objects[0]!.source.file, 'manifests/sub/a.yaml');
  assert.deepEqual(r.errors.map(formatIssue), ['manifests/sub/a.yaml:9: duplicate Service default/a: already defined at manifests/sub/a.yaml:1; this definition is ignored (remove one of them)']);
});
