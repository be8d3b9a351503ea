// X-Request-Id as Envoy sets it (use_remote_address, as Contour configures
// Envoy): kept from an internal client (RFC 1918, loopback, IPv6 unique
// local), replaced by a new id for an external one (the PROXY header's
// source), unless the runtime preserves external ids. An external client
// used to choose the id the edge and its backends log by.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { ProxyRuntime } from '../../src/proxy/index.ts';
import { isInternalAddress } from '../../src/proxy/request-id.ts';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

let upstream: RawUpstream;
let p: Started;

before(async () => {
  upstream = await rawUpstream();
  const cfg = config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] });
  p = await startProxy(cfg, [{ name: 'pp', proxyProtocol: true }]);
});

after(async () => {
  await p.close();
  await upstream.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function idSeen(port: number, source: string, id: string | undefined): Promise<string> {
  upstream.reset();
  const v6 = source.includes(':');
  const header = encodeV2({ command: 'PROXY', source: { address: source, port: 40000 }, destination: { address: v6 ? '::1' : '127.0.0.1', port: 80 } });
  const r = await wire(port, `GET / HTTP/1.1\r\nHost: app.test\r\n${id !== undefined ? `X-Request-Id: ${id}\r\n` : ''}Connection: close\r\n\r\n`, { prefix: header });
  assert.equal(r.responses[0]?.status, 200);
  const got = upstream.field(upstream.requests[0]!, 'x-request-id');
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

test('preserveExternalRequestId keeps an external client\'s id', async () => {
  const runtime = new ProxyRuntime({ listeners: [{ name: 'pp', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: true }], preserveExternalRequestId: true });
  runtime.apply(config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }));
  await runtime.listen();
  try {
    assert.equal(await idSeen(runtime.address('pp').port, '203.0.113.9', 'kept'), 'kept');
  } finally {
    await runtime.close(0);
  }
});

test('internal address ranges', () => {
  for (const a of ['10.0.0.0', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.0.1', '127.0.0.1', '::1', 'fd12::1', '::ffff:10.0.0.1']) assert.equal(isInternalAddress(a), true, a);
  for (const a of ['11.0.0.1', '172.15.255.255', '172.32.0.0', '192.169.0.1', '8.8.8.8', '2001:db8::1', 'fc00::1', 'fe80::1', '', 'not-an-ip']) assert.equal(isInternalAddress(a), false, a);
});
