// A route's policy holds for every spelling of its path: the proxy routes
// and forwards the canonical path (path-normalize.ts), so /x/%2e%2e/admin,
// /%61dmin, //admin and /x\..\admin reach the /admin route and its deny
// list, and the upstream sees /admin; %00 is a 400 that no upstream sees.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { IpFilterConfig } from '../../src/dag/index.ts';
import { cluster, config, ep, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;
let unmerged: Started;
const denyLoopback: IpFilterConfig = { action: 'deny', rules: [{ cidr: '127.0.0.0/8', source: 'Remote' }] };

before(async () => {
  app = await httpBackend('app');
  const cfg = config({
    httpVirtualHosts: [vhost('paths.test', [route({ to: 'app', path: { kind: 'prefix', value: '/admin' }, ipFilter: denyLoopback }), route({ to: 'app' })])],
    clusters: [cluster('app', [ep(app)])],
  });
  p = await startProxy(cfg);
  unmerged = await startProxy(cfg, [{}], { mergeSlashes: false });
});

after(async () => {
  await p.close();
  await unmerged.close();
  await app.close();
});

/** One raw GET (the target byte for byte); the status code. */
function get(proxy: Started, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: proxy.port('http') });
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.on('error', reject);
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    s.write(`GET ${target} HTTP/1.1\r\nhost: paths.test\r\nconnection: close\r\n\r\n`);
  });
}

for (const target of ['/admin', '/x/%2e%2e/admin', '/%2E/admin', '/%61dmin', '//admin', '/x\\..\\admin', '/open/../admin/users']) {
  test(`path spellings: ${target} is the /admin route, refused by its deny list`, async () => {
    const before = app.seen.length;
    assert.equal(await get(p, target), 403);
    assert.equal(app.seen.length, before, 'the upstream never saw it');
  });
}

test('path spellings: the upstream gets the canonical path, the query as it came', async () => {
  const before = app.seen.length;
  assert.equal(await get(p, '/a/%2e%2e//b/%7e%2Fc?q=%2e%2e'), 200);
  assert.equal(app.seen[before]!.url, '/b/~%2Fc?q=%2e%2e');
});

test('path spellings: %00 in the path is a 400 no upstream sees', async () => {
  const before = app.seen.length;
  assert.equal(await get(p, '/a%00b'), 400);
  assert.equal(app.seen.length, before);
});

test('path spellings: with merge_slashes off (disableMergeSlashes) "//" stays in the path the upstream gets', async () => {
  const before = app.seen.length;
  assert.equal(await get(unmerged, '//open//x'), 200);
  assert.equal(app.seen[before]!.url, '//open//x');
});
