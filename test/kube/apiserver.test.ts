// The test API server speaks the real protocol: kubectl drives it, and raw
// HTTP checks list/watch/status semantics the informers rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { ApiClient, ApiError, loadKubeConfig } from '../../src/kube/index.ts';
import { kubectl, startApi } from './helpers.ts';
import { mergePatch } from './apiserver.ts';

const PROXY = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: web
  namespace: apps
spec:
  virtualhost:
    fqdn: web.example.com
  routes:
  - services:
    - name: web
      port: 80
`;

test('kubectl create, get -o yaml, replace and delete work against it', async () => {
  const { api, kubeconfig } = await startApi();
  try {
    const created = await kubectl(kubeconfig, ['create', '--validate=false', '-f', '-'], PROXY);
    assert.match(created.stdout, /httpproxy.projectcontour.io\/web created/);
    const got = parse((await kubectl(kubeconfig, ['get', 'httpproxy', '-n', 'apps', '-o', 'yaml'])).stdout);
    assert.equal(got.kind, 'List');
    assert.equal(got.items[0].spec.virtualhost.fqdn, 'web.example.com');
    assert.equal(got.items[0].metadata.generation, 1);
    // Short names resolve through discovery.
    const one = parse((await kubectl(kubeconfig, ['get', 'proxy', 'web', '-n', 'apps', '-o', 'yaml'])).stdout);
    assert.equal(one.metadata.name, 'web');
    const replaced = await kubectl(kubeconfig, ['replace', '--validate=false', '-f', '-'], PROXY.replace('port: 80', 'port: 8080'));
    assert.match(replaced.stdout, /replaced/);
    assert.equal((api.get('httpproxies', 'apps', 'web')!.spec as any).routes[0].services[0].port, 8080);
    assert.equal(api.get('httpproxies', 'apps', 'web')!.metadata.generation, 2);
    // Creating it again is AlreadyExists, as on a real server.
    await assert.rejects(kubectl(kubeconfig, ['create', '--validate=false', '-f', '-'], PROXY), /AlreadyExists|already exists/);
    const deleted = await kubectl(kubeconfig, ['delete', '-f', '-'], PROXY);
    assert.match(deleted.stdout, /deleted/);
    assert.equal(api.get('httpproxies', 'apps', 'web'), undefined);
    await assert.rejects(kubectl(kubeconfig, ['get', 'httpproxy', 'web', '-n', 'apps']), /NotFound|not found/);
  } finally {
    await api.stop();
  }
});

test('kubectl with a bad token gets 401; a forbidden resource 403', async () => {
  const { api } = await startApi();
  try {
    await assert.rejects(kubectl(api.kubeconfig('wrong-token'), ['get', 'httpproxy']), /Unauthorized|must be logged in/);
    api.forbid('httpproxies');
    await assert.rejects(kubectl(api.kubeconfig(), ['get', 'httpproxy']), /forbidden/);
  } finally {
    await api.stop();
  }
});

test('list, watch, status subresource and conflicts follow the API conventions', async () => {
  const { api, kubeconfig } = await startApi();
  const c = new ApiClient(loadKubeConfig(kubeconfig));
  try {
    for (let i = 0; i < 5; i++) api.put('services', { metadata: { name: `s${i}`, namespace: 'default' }, spec: { ports: [{ port: 80 + i }] } } as never);
    // Pagination with limit/continue; built-in list items carry no kind.
    const page1 = await c.request<any>('GET', '/api/v1/namespaces/default/services', { query: { limit: '2' } });
    assert.equal(page1.kind, 'ServiceList');
    assert.equal(page1.items.length, 2);
    assert.equal(page1.items[0].kind, undefined);
    assert.ok(page1.metadata.continue);
    const rest = await c.request<any>('GET', '/api/v1/namespaces/default/services', { query: { limit: '10', continue: page1.metadata.continue } });
    assert.equal(rest.items.length, 3);
    assert.equal(rest.metadata.continue, undefined);
    // Metadata-only lists.
    const meta = await c.request<any>('GET', '/api/v1/services', { accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' });
    assert.equal(meta.kind, 'PartialObjectMetadataList');
    assert.equal(meta.items[0].spec, undefined);
    assert.equal(meta.items[0].metadata.name, 's0');

    // Watch from a resourceVersion replays later events as JSON lines.
    const rv = page1.metadata.resourceVersion;
    api.put('services', { metadata: { name: 's0', namespace: 'default' }, spec: { ports: [{ port: 1 }] } } as never);
    api.delete('services', 'default', 's1');
    const stream = await c.stream('/api/v1/services', { query: { watch: 'true', resourceVersion: rv, allowWatchBookmarks: 'true' } });
    const reader = stream.body.getReader();
    let text = '';
    while (text.split('\n').length < 3) text += new TextDecoder().decode((await reader.read()).value);
    const events = text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['MODIFIED', 's0'], ['DELETED', 's1']]);
    api.sendBookmarks();
    text = '';
    while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
    const bm = JSON.parse(text.trim());
    assert.equal(bm.type, 'BOOKMARK');
    assert.equal(bm.object.metadata.resourceVersion, String(api.resourceVersion));
    stream.abort();

    // Too old: 410 Expired as a watch ERROR event, and on an exact list.
    api.compact();
    const old = await c.stream('/api/v1/services', { query: { watch: 'true', resourceVersion: rv } });
    let errText = '';
    for await (const chunk of old.body) errText += new TextDecoder().decode(chunk);
    const err = JSON.parse(errText.trim());
    assert.equal(err.type, 'ERROR');
    assert.equal(err.object.code, 410);
    await assert.rejects(c.request('GET', '/api/v1/services', { query: { resourceVersion: rv, resourceVersionMatch: 'Exact' } }), (e: ApiError) => e.statusCode === 410);

    // Status subresource: spec untouched, generation unchanged, 409 on a stale version.
    api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name: 'p', namespace: 'default' }, spec: { virtualhost: { fqdn: 'p.example.com' } } } as never);
    const p = api.get('httpproxies', 'default', 'p')!;
    const path = '/apis/projectcontour.io/v1/namespaces/default/httpproxies/p/status';
    const after = await c.request<any>('PUT', path, { body: { ...p, spec: { changed: true }, status: { currentStatus: 'valid' } } });
    assert.equal(after.status.currentStatus, 'valid');
    assert.deepEqual(after.spec, p.spec);
    assert.equal(after.metadata.generation, 1);
    await assert.rejects(c.request('PUT', path, { body: { ...p, status: { currentStatus: 'invalid' } } }), (e: ApiError) => e.statusCode === 409 && e.reason === 'Conflict');
    await assert.rejects(
      c.request('PATCH', path, { body: { metadata: { resourceVersion: p.metadata.resourceVersion }, status: {} }, contentType: 'application/merge-patch+json' }),
      (e: ApiError) => e.statusCode === 409,
    );
    // Writes to the main resource keep the status (status subresource semantics).
    const main = await c.request<any>('PUT', '/apis/projectcontour.io/v1/namespaces/default/httpproxies/p', { body: { ...after, status: { currentStatus: 'nope' } } });
    assert.equal(main.status.currentStatus, 'valid');
    // Strategic merge patch is refused for custom resources (415).
    await assert.rejects(
      c.request('PATCH', '/apis/projectcontour.io/v1/namespaces/default/httpproxies/p', { body: {}, contentType: 'application/strategic-merge-patch+json' }),
      (e: ApiError) => e.statusCode === 415,
    );
    // Malformed bodies are 400, not crashes.
    await assert.rejects(c.request('POST', '/api/v1/namespaces/default/services', { body: 'not json' as never, contentType: 'application/json' }), (e: ApiError) => e.statusCode === 400 || e.statusCode === 422);
  } finally {
    await c.close();
    await api.stop();
  }
});

test('merge patch follows RFC 7386', () => {
  assert.deepEqual(mergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
  assert.deepEqual(mergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
  assert.deepEqual(mergePatch({ a: 'b' }, { a: null }), {});
  assert.deepEqual(mergePatch({ a: ['b'] }, { a: ['c', 'd'] }), { a: ['c', 'd'] });
  assert.deepEqual(mergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } }), { a: { b: 'd' } });
  assert.deepEqual(mergePatch(['a'], { a: 'b' }), { a: 'b' });
});
