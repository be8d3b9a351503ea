// CORS on real requests through the proxy runtime: preflights from allowed
// origins answered at the edge (the upstream never sees them), others
// forwarded; CORS headers on upstream responses (replacing the upstream's)
// and on local answers of later filters (an IP filter's 403).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CorsConfig } from '../../src/dag/index.ts';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;
const cors: CorsConfig = {
  allowOrigin: [{ kind: 'exact', value: 'https://app.example.com' }, { kind: 'regex', value: 'https://[a-z]+\\.example\\.org' }],
  allowMethods: 'GET,PUT',
  allowHeaders: 'authorization',
  exposeHeaders: 'x-request-id',
  maxAge: '600',
  allowCredentials: true,
  allowPrivateNetwork: false,
};

before(async () => {
  app = await httpBackend('app', (_req, res) => {
    res.writeHead(200, { 'access-control-allow-origin': '*', 'content-type': 'text/plain' });
    res.end('app');
  });
  p = await startProxy(
    config({
      httpVirtualHosts: [
        {
          ...vhost('cors.test', [
            route({ to: 'app', path: { kind: 'prefix', value: '/closed' }, ipFilter: { action: 'allow', rules: [{ cidr: '192.0.2.0/24', source: 'Remote' }] } }),
            route({ to: 'app' }),
          ]),
          cors,
        },
      ],
      clusters: [cluster('app', [ep(app)])],
    }),
  );
});

after(async () => {
  await p.close();
  await app.close();
});

const H = { host: 'cors.test' };

test('cors requests: a preflight from an allowed origin is answered at the edge', async () => {
  const before = app.seen.length;
  const r = await get(p.port(), '/things', { ...H, origin: 'https://app.example.com', 'access-control-request-method': 'PUT' }, 'OPTIONS');
  assert.equal(r.status, 200);
  assert.equal(r.body, '');
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.equal(r.headers['access-control-allow-methods'], 'GET,PUT');
  assert.equal(r.headers['access-control-allow-headers'], 'authorization');
  assert.equal(r.headers['access-control-max-age'], '600');
  assert.equal(r.headers['access-control-allow-credentials'], 'true');
  assert.equal(app.seen.length, before, 'the upstream never saw the preflight');
});

test('cors requests: a preflight from another origin goes to the upstream, without CORS headers of the edge', async () => {
  const before = app.seen.length;
  const r = await get(p.port(), '/things', { ...H, origin: 'https://evil.example.com', 'access-control-request-method': 'PUT' }, 'OPTIONS');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'app');
  assert.equal(r.headers['access-control-allow-origin'], '*', 'the upstream\'s own header, untouched');
  assert.equal(app.seen.length, before + 1);
});

test('cors requests: an actual request gets the edge\'s headers in place of the upstream\'s', async () => {
  const r = await get(p.port(), '/things', { ...H, origin: 'https://shop.example.org' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['access-control-allow-origin'], 'https://shop.example.org');
  assert.equal(r.headers['access-control-allow-credentials'], 'true');
  assert.equal(r.headers['access-control-expose-headers'], 'x-request-id');
});

test('cors requests: without an Origin nothing changes', async () => {
  const r = await get(p.port(), '/things', H);
  assert.equal(r.headers['access-control-allow-origin'], '*');
  assert.equal(r.headers['access-control-expose-headers'], undefined);
});

test('cors requests: a later filter\'s 403 carries the CORS headers, so a browser can read it', async () => {
  const r = await get(p.port(), '/closed', { ...H, origin: 'https://app.example.com' });
  assert.equal(r.status, 403);
  assert.equal(r.body, 'RBAC: access denied');
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
});

test('cors requests: the preflight is answered before the IP filter, as Envoy orders them', async () => {
  const r = await get(p.port(), '/closed', { ...H, origin: 'https://app.example.com', 'access-control-request-method': 'GET' }, 'OPTIONS');
  assert.equal(r.status, 200);
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
});
