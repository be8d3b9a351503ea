// Internal and edge requests as Envoy tells them apart (use_remote_address,
// as Contour configures Envoy): internal when the client sent no
// X-Forwarded-For and its address (here the PROXY header's source) is
// internal (RFC 1918, loopback, IPv6 unique local): `x-envoy-internal: true`;
// every other request is an edge one: `x-envoy-external-address`. An edge
// request's X-Request-Id is kept, as Contour configures
// (preserve_external_request_id: true), or replaced when the runtime says
// not to preserve it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { isInternalAddress } from '../../src/proxy/request-id.ts';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

let upstream: RawUpstream;
let p: Started;

let preserving: Started;

before(async () => {
  upstream = await rawUpstream();
  const cfg = config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] });
  p = await startProxy(cfg, [{ name: 'pp', proxyProtocol: true }], { preserveExternalRequestId: false });
  preserving = await startProxy(cfg, [{ name: 'pp', proxyProtocol: true }]);
});

after(async () => {
  await p.close();
  await preserving.close();
  await upstream.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function seen(port: number, source: string, id: string | undefined, extra = ''): Promise<(name: string) => string[]> {
  upstream.reset();
  const v6 = source.includes(':');
  const header = encodeV2({ command: 'PROXY', source: { address: source, port: 40000 }, destination: { address: v6 ? '::1' : '127.0.0.1', port: 80 } });
  const r = await wire(port, `GET / HTTP/1.1\r\nHost: app.test\r\n${id !== undefined ? `X-Request-Id: ${id}\r\n` : ''}${extra}Connection: close\r\n\r\n`, { prefix: header });
  assert.equal(r.responses[0]?.status, 200);
  const req = upstream.requests[0]!;
  return (name) => upstream.field(req, name);
}

async function idSeen(port: number, source: string, id: string | undefined, extra = ''): Promise<string> {
  const got = (await seen(port, source, id, extra))('x-request-id');
  assert.equal(got.length, 1);
  return got[0]!;
}

for (const source of ['203.0.113.9', '8.8.8.8', '2001:db8::1', '172.32.0.1']) {
  test(`an external client (${source}) gets a new X-Request-Id`, async () => {
    const id = await idSeen(p.port(), source, 'chosen-by-the-client');
    assert.notEqual(id, 'chosen-by-the-client');
    assert.match(id, UUID);
  });
}

for (const source of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '127.0.0.2', 'fd00::5', '::1']) {
  test(`an internal client (${source}) keeps its X-Request-Id`, async () => {
    assert.equal(await idSeen(p.port(), source, 'from-inside'), 'from-inside');
  });
}

test('a client without one gets one', async () => {
  assert.match(await idSeen(p.port(), '203.0.113.9', undefined), UUID);
  assert.match(await idSeen(p.port(), '10.0.0.1', undefined), UUID);
});

test('by default (Contour\'s preserve_external_request_id: true) an edge request keeps its id', async () => {
  assert.equal(await idSeen(preserving.port(), '203.0.113.9', 'kept'), 'kept');
  assert.match(await idSeen(preserving.port(), '203.0.113.9', undefined), UUID);
});

test('an internal client that sends X-Forwarded-For makes an edge request: a new id (when not preserved), x-envoy-external-address, no x-envoy-internal', async () => {
  assert.match(await idSeen(p.port(), '10.1.2.3', 'mine-1', 'X-Forwarded-For: 8.8.8.8\r\n'), UUID);
  const h = await seen(p.port(), '10.1.2.3', undefined, 'X-Forwarded-For: 8.8.8.8\r\n');
  assert.deepEqual(h('x-envoy-external-address'), ['10.1.2.3']);
  assert.deepEqual(h('x-envoy-internal'), []);
  assert.deepEqual(h('x-forwarded-for'), ['8.8.8.8, 10.1.2.3']);
});

test('an internal request carries x-envoy-internal: true and no x-envoy-external-address; an external one the opposite; a client\'s own x-envoy-internal never passes', async () => {
  const inside = await seen(p.port(), '10.1.2.3', undefined, 'X-Envoy-Internal: false\r\n');
  assert.deepEqual(inside('x-envoy-internal'), ['true']);
  assert.deepEqual(inside('x-envoy-external-address'), []);
  const outside = await seen(p.port(), '203.0.113.9', undefined, 'X-Envoy-Internal: true\r\n');
  assert.deepEqual(outside('x-envoy-internal'), []);
  assert.deepEqual(outside('x-envoy-external-address'), ['203.0.113.9']);
});

test('internal address ranges', () => {
  for (const a of ['10.0.0.0', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.0.1', '127.0.0.1', '::1', 'fd12::1', '::ffff:10.0.0.1']) assert.equal(isInternalAddress(a), true, a);
  for (const a of ['11.0.0.1', '172.15.255.255', '172.32.0.0', '192.169.0.1', '8.8.8.8', '2001:db8::1', 'fc00::1', 'fe80::1', '', 'not-an-ip']) assert.equal(isInternalAddress(a), false, a);
});
