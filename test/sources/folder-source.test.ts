import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, rename, unlink, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ObjectCache, ManifestFolderError } from '../../src/objects/index.ts';
import { FolderSource } from '../../src/sources/files/index.ts';

const svc = (name: string, port = 80) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports:\n  - port: ${port}\n`;

async function tempFolder(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'isobar-src-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function ports(cache: ObjectCache): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of cache.snapshot().services) out[s.metadata.name] = (s.spec.ports ?? []).map((p) => p.port);
  return out;
}

/** The next `n` problem messages. */
function nextProblems(src: FolderSource, n: number): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const on = (p: { message: string }): void => {
      got.push(p.message);
      if (got.length === n) {
        src.off('problem', on);
        resolve(got);
      }
    };
    src.on('problem', on);
  });
}

/** Resolves when the cache satisfies `pred`, checked on each change. */
function until(cache: ObjectCache, pred: () => boolean): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = cache.onChange(() => {
      if (pred()) {
        off();
        resolve();
      }
    });
  });
}

test('initial load fills the cache; a missing folder throws ManifestFolderError', async (t) => {
  const dir = await tempFolder(t);
  await writeFile(path.join(dir, 'a.yaml'), svc('a'));
  const cache = new ObjectCache();
  const src = new FolderSource(dir, cache);
  const r = await src.start();
  assert.deepEqual(ports(cache), { a: [80] });
  assert.equal(r.objects.length, 1);
  await src.stop();
  await assert.rejects(new FolderSource(path.join(dir, 'missing'), new ObjectCache()).start(), ManifestFolderError);
});

test('watch: add, change, break (last good kept, problem reported), fix, delete, new subfolder', { timeout: 20_000 }, async (t) => {
  const dir = await tempFolder(t);
  await writeFile(path.join(dir, 'a.yaml'), svc('a'));
  const cache = new ObjectCache();
  const src = new FolderSource(dir, cache, { watch: true, debounceMs: 20 });
  const problems: string[] = [];
  src.on('problem', (p) => problems.push(p.message));
  await src.start();
  t.after(() => src.stop());

  // a new file
  await writeFile(path.join(dir, 'b.yaml'), svc('b'));
  await until(cache, () => 'b' in ports(cache));
  assert.deepEqual(ports(cache), { a: [80], b: [80] });

  // a changed file
  await writeFile(path.join(dir, 'b.yaml'), svc('b', 8080));
  await until(cache, () => ports(cache)['b']?.[0] === 8080);

  // garbage: last good version kept, problem names file:line
  const problem = nextProblems(src, 2);
  await writeFile(path.join(dir, 'b.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: b\n');
  const lines = await problem;
  assert.ok(lines.some((l) => /^b\.yaml:\d+:\d+: invalid YAML/.test(l)), lines.join('\n'));
  assert.ok(lines.includes('b.yaml: keeping the last good version of this file (1 object) until it is fixed'), lines.join('\n'));
  assert.deepEqual(ports(cache), { a: [80], b: [8080] });

  // fixed again
  await writeFile(path.join(dir, 'b.yaml'), svc('b', 9090));
  await until(cache, () => ports(cache)['b']?.[0] === 9090);
  assert.deepEqual(src.result.errors, []);

  // atomic save (write a temp file, rename over)
  await writeFile(path.join(dir, '.b.yaml.tmp'), svc('b', 7070));
  await rename(path.join(dir, '.b.yaml.tmp'), path.join(dir, 'b.yaml'));
  await until(cache, () => ports(cache)['b']?.[0] === 7070);

  // deleted
  await unlink(path.join(dir, 'b.yaml'));
  await until(cache, () => !('b' in ports(cache)));
  assert.deepEqual(ports(cache), { a: [80] });

  // a new subfolder with a file
  await mkdir(path.join(dir, 'team', 'x'), { recursive: true });
  await writeFile(path.join(dir, 'team', 'x', 'c.yml'), svc('c'));
  await until(cache, () => 'c' in ports(cache));

  // the subfolder removed
  await rm(path.join(dir, 'team'), { recursive: true });
  await until(cache, () => !('c' in ports(cache)));

  // a duplicate in another file is an error, first definition kept
  const dup = nextProblems(src, 1);
  await writeFile(path.join(dir, 'z.yaml'), svc('a', 1234));
  assert.deepEqual(await dup, ['z.yaml:1: duplicate Service default/a: already defined at a.yaml:1; this definition is ignored (remove one of them)']);
  assert.deepEqual(ports(cache), { a: [80] });
  assert.ok(problems.length >= 3);
  assert.equal(src.ready(), true);
});

test('a schema-invalid object becomes a rejected entry in the cache', { timeout: 10_000 }, async (t) => {
  const dir = await tempFolder(t);
  await writeFile(path.join(dir, 'p.yaml'), 'apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p}\nspec:\n  routes:\n  - services: [{name: s, port: 0}]\n');
  const cache = new ObjectCache();
  const src = new FolderSource(dir, cache);
  await src.start();
  const snap = cache.snapshot();
  assert.equal(snap.httpproxies.length, 0);
  assert.deepEqual(snap.rejected.map((r) => [r.kind, r.name, r.errors]), [['HTTPProxy', 'p', [{ path: 'spec.routes[0].services[0].port', message: 'must be >= 1' }]]]);
  await src.stop();
});

test('reload() re-reads only changed files and reports nothing new when nothing changed', async (t) => {
  const dir = await tempFolder(t);
  await writeFile(path.join(dir, 'a.yaml'), svc('a'));
  const cache = new ObjectCache();
  const src = new FolderSource(dir, cache);
  await src.start();
  let changes = 0;
  src.on('change', () => changes++);
  await src.reload();
  assert.equal(changes, 0);
  await writeFile(path.join(dir, 'a.yaml'), svc('a', 81));
  await src.reload();
  assert.equal(changes, 1);
  assert.deepEqual(ports(cache), { a: [81] });
  await src.stop();
});

test('a mounted ConfigMap update (the kubelet swaps the ..data symlink) is picked up', { timeout: 10_000 }, async (t) => {
  const dir = await tempFolder(t);
  await mkdir(path.join(dir, '..v1'));
  await writeFile(path.join(dir, '..v1', 'app.yaml'), svc('cm', 80));
  await symlink('..v1', path.join(dir, '..data'));
  await symlink('..data/app.yaml', path.join(dir, 'app.yaml'));
  const cache = new ObjectCache();
  const src = new FolderSource(dir, cache, { watch: true, debounceMs: 20 });
  await src.start();
  t.after(() => src.stop());
  assert.deepEqual(ports(cache), { cm: [80] });
  await mkdir(path.join(dir, '..v2'));
  await writeFile(path.join(dir, '..v2', 'app.yaml'), svc('cm', 81));
  await symlink('..v2', path.join(dir, '..data_tmp'));
  await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  await until(cache, () => ports(cache)['cm']?.[0] === 81);
});

test('property: after any sequence of edits the watched cache equals a fresh load of the folder', { timeout: 60_000 }, async () => {
  const { loadFolder } = await import('../../src/objects/index.ts');
  const fc = (await import('fast-check')).default;
  const names = ['a.yaml', 'b.yml', 'sub/c.yaml', 'sub/deeper/d.json', 'e.yaml'];
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), file: fc.constantFrom(...names), svc: fc.constantFrom('x', 'y', 'z'), port: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant('delete' as const), file: fc.constantFrom(...names) }),
    fc.record({ kind: fc.constant('rename' as const), file: fc.constantFrom(...names), to: fc.constantFrom(...names) }),
    fc.record({ kind: fc.constant('rmdir' as const) }),
  );
  const content = (file: string, name: string, port: number): string =>
    file.endsWith('.json')
      ? JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: file.replace(/[^a-z]/g, '') }, spec: { ports: [{ port }] } })
      : `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${file.replace(/[^a-z]/g, '')}}\nspec: {ports: [{port: ${port}}]}\n`;
  const view = (objs: { object: { kind: string; metadata: { namespace: string; name: string } }; source: { file?: string } }[]) =>
    // generation counts edits in the watched cache; a fresh load starts at 1
    objs.map((o) => `${o.object.kind}/${o.object.metadata.namespace}/${o.object.metadata.name}@${o.source.file}:${JSON.stringify({ ...o.object, metadata: { ...o.object.metadata, generation: 0 } })}`).sort();
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'isobar-src-prop-'));
      const cache = new ObjectCache();
      const src = new FolderSource(dir, cache, { watch: true, debounceMs: 10 });
      try {
        await src.start();
        for (const o of ops) {
          if (o.kind === 'write') {
            await mkdir(path.dirname(path.join(dir, o.file)), { recursive: true });
            await writeFile(path.join(dir, o.file), content(o.file, o.svc, o.port));
          } else if (o.kind === 'delete') {
            await rm(path.join(dir, o.file), { force: true });
          } else if (o.kind === 'rename') {
            await mkdir(path.dirname(path.join(dir, o.to)), { recursive: true });
            await rename(path.join(dir, o.file), path.join(dir, o.to)).catch(() => undefined);
          } else {
            await rm(path.join(dir, 'sub'), { recursive: true, force: true });
          }
        }
        // A last write; once it is in the cache every earlier event was handled.
        await writeFile(path.join(dir, 'zz-sentinel.yaml'), content('zz-sentinel.yaml', 'sentinel', 1));
        await until(cache, () => cache.get('Service', 'zzsentinelyaml', 'sentinel') !== undefined);
        const fresh = await loadFolder(dir);
        const got = cache.snapshot();
        const gotObjects = [...got.services].map((s) => ({ object: s, source: cache.get('Service', s.metadata.namespace, s.metadata.name)!.source }));
        assert.deepEqual(view(gotObjects), view(fresh.objects));
      } finally {
        await src.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 25 },
  );
});

test('saving by truncate-then-write never drops the file objects; an empty file keeps them, a comment-only file does not', { timeout: 30_000 }, async (t) => {
  const dir = await tempFolder(t);
  const file = path.join(dir, 'proxy.yaml');
  await writeFile(file, svc('app', 1));
  const cache = new ObjectCache();
  const src = new FolderSource(dir, cache, { watch: true, debounceMs: 20 });
  await src.start();
  t.after(() => src.stop());
  let emptied = 0;
  const off = cache.onChange(() => {
    if (!('app' in ports(cache))) emptied++;
  });
  for (let i = 0; i < 60; i++) {
    await writeFile(file, svc('app', 2 + (i % 2))); // open(O_TRUNC), then write
    await new Promise((r) => setImmediate(r));
  }
  await writeFile(file, svc('app', 99));
  await until(cache, () => ports(cache)['app']?.[0] === 99);
  off();
  assert.equal(emptied, 0, 'the Service never disappeared while the file was being rewritten');
  // The truncate of an in-place save can take long on a busy disk: however
  // long a file stays empty, its objects stay, with a warning saying why.
  const warned = nextProblems(src, 1);
  await writeFile(file, '');
  assert.match((await warned)[0]!, /^proxy\.yaml: warning: the file is empty; keeping its last 1 object \(delete the file to remove them\)$/);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(ports(cache), { app: [99] });
  await writeFile(file, '# nothing here any more\n');
  await until(cache, () => !('app' in ports(cache)));
});

test('the folder removed and created again: reported, then picked up and watched again', { timeout: 20_000 }, async (t) => {
  const base = await tempFolder(t);
  const dir = path.join(base, 'manifests');
  await mkdir(dir);
  await writeFile(path.join(dir, 'a.yaml'), svc('a'));
  const cache = new ObjectCache();
  const src = new FolderSource(dir, cache, { watch: true, debounceMs: 20, pollIntervalMs: 50 });
  const problems: string[] = [];
  src.on('problem', (p) => problems.push(p.message));
  await src.start();
  t.after(() => src.stop());
  const gone = nextProblems(src, 1);
  await rm(dir, { recursive: true });
  assert.match((await gone)[0]!, /the folder was removed/);
  await mkdir(dir);
  await writeFile(path.join(dir, 'b.yaml'), svc('b'));
  await until(cache, () => 'b' in ports(cache));
  await writeFile(path.join(dir, 'c.yaml'), svc('c'));
  await until(cache, () => 'c' in ports(cache));
  assert.deepEqual(Object.keys(ports(cache)).sort(), ['b', 'c']);
});

test('warnings (unknown kinds, unknown fields) are reported as problems with severity warning', async (t) => {
  const dir = await tempFolder(t);
  await writeFile(path.join(dir, 'a.yaml'), `${svc('a')}  prots: 1\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n`);
  const src = new FolderSource(dir, new ObjectCache());
  const seen: { severity: string; message: string }[] = [];
  src.on('problem', (p) => seen.push({ severity: p.severity, message: p.message }));
  await src.start();
  await src.stop();
  assert.deepEqual(seen, [
    { severity: 'warning', message: 'a.yaml:8: warning: Service default/a: spec.prots: unknown field, ignored (check the spelling and the indentation)' },
    { severity: 'warning', message: 'a.yaml:10: warning: skipping Deployment (apps/v1): isobar does not read this kind' },
  ]);
});

test('metadata.generation follows content edits, not metadata edits, like the API server', { timeout: 10_000 }, async (t) => {
  const dir = await tempFolder(t);
  const file = path.join(dir, 's.yaml');
  await writeFile(file, svc('s', 80));
  const cache = new ObjectCache();
  const src = new FolderSource(dir, cache, { watch: true, debounceMs: 20 });
  await src.start();
  t.after(() => src.stop());
  const gen = () => cache.get('Service', 'default', 's')?.object.metadata.generation;
  assert.equal(gen(), 1);
  await writeFile(file, svc('s', 81));
  await until(cache, () => ports(cache)['s']?.[0] === 81);
  assert.equal(gen(), 2);
  await writeFile(file, svc('s', 81).replace('  name: s\n', '  name: s\n  labels: {a: b}\n'));
  await until(cache, () => cache.get('Service', 'default', 's')?.object.metadata.labels?.['a'] === 'b');
  assert.equal(gen(), 2, 'a label change is not a new generation');
  await writeFile(file, svc('s', 82));
  await until(cache, () => ports(cache)['s']?.[0] === 82);
  assert.equal(gen(), 3);
});
