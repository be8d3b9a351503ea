import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { encodeV1, encodeV2 } from '../../src/proxyprotocol/index.ts';
import { createCa, type Ca } from '../support/pki.ts';
import { cluster, config, ep, httpBackend, raw, route, secureVhost, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;
let ca: Ca;

const REQ = 'GET /pp HTTP/1.1\r\nHost: app.example.test\r\nConnection: close\r\n\r\n';
const SRC = { address: '198.51.100.7', port: 40000 };
const DST = { address: '10.0.0.1', port: 80 };

before(async () => {
  ca = await createCa();
  const cert = await ca.issue({ dnsNames: ['app.example.test'] });
  app = await httpBackend('app');
  p = await startProxy(
    config({
      clusters: [cluster('app', [ep(app)])],
      secrets: [{ id: 'default/app', ...cert }],
      httpVirtualHosts: [
        vhost('app.example.test', [route({ to: 'app' })]),
        vhost('tls-only.example.test', [route({ to: 'app', httpsRedirect: true })]),
      ],
      httpsVirtualHosts: [secureVhost('app.example.test', [route({ to: 'app' })], { secretId: 'default/app' })],
    }),
    [
      { name: 'pp', proxyProtocol: true },
      { name: 'pps', proxyProtocol: true, tls: true },
    ],
    { proxyProtocolTimeoutMs: 300 },
  );
});

after(async () => {
  await p.close();
  await app.close();
});

function seenHeaders(text: string): Record<string, string> {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  let body = text.slice(text.indexOf('\r\n\r\n') + 4);
  if (/transfer-encoding: chunked/i.test(head)) {
    let out = '';
    while (body.length) {
      const nl = body.indexOf('\r\n');
      const size = parseInt(body.slice(0, nl), 16);
      if (!size) break;
      out += body.slice(nl + 2, nl + 2 + size);
      body = body.slice(nl + 2 + size + 2);
    }
    body = out;
  }
  return (JSON.parse(body) as { headers: Record<string, string> }).headers;
}

test('PROXY v1: client address feeds X-Forwarded-For and X-Envoy-External-Address', async () => {
  const r = await raw(p.port('pp'), [encodeV1(SRC, DST), REQ]);
  assert.match(r.text, /^HTTP\/1\.1 200/);
  const h = seenHeaders(r.text);
  assert.equal(h['x-forwarded-for'], '198.51.100.7');
  assert.equal(h['x-envoy-external-address'], '198.51.100.7');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(p.logs.at(-1)!.downstreamRemoteAddress, '198.51.100.7:40000');
});

test('PROXY v2 over IPv6 in a separate packet from the request', async () => {
  const r = await raw(p.port('pp'), [encodeV2({ command: 'PROXY', source: { address: '2001:db8::1', port: 5 }, destination: { address: '2001:db8::2', port: 80 } }), REQ]);
  assert.match(r.text, /^HTTP\/1\.1 200/);
  assert.equal(seenHeaders(r.text)['x-forwarded-for'], '2001:db8::1');
});

test('PROXY v2 SSL TLV with the client-SSL bit makes X-Forwarded-Proto https', async () => {
  const hdr = encodeV2({ command: 'PROXY', source: SRC, destination: DST, ssl: { connectedWithSsl: true, verify: 0, version: 'TLSv1.3' } });
  const r = await raw(p.port('pp'), Buffer.concat([hdr, Buffer.from(REQ)]));
  assert.match(r.text, /^HTTP\/1\.1 200/);
  assert.equal(seenHeaders(r.text)['x-forwarded-proto'], 'https');
});

test('PROXY v2 SSL TLV without the client-SSL bit keeps http', async () => {
  const hdr = encodeV2({ command: 'PROXY', source: SRC, destination: DST, ssl: { connectedWithSsl: false, verify: 0 } });
  const r = await raw(p.port('pp'), Buffer.concat([hdr, Buffer.from(REQ)]));
  assert.equal(seenHeaders(r.text)['x-forwarded-proto'], 'http');
});

test('PROXY v2 LOCAL (load balancer health check) is served with the socket address', async () => {
  const before = p.proxy.stats().proxyProtocolLocal!;
  const r = await raw(p.port('pp'), Buffer.concat([encodeV2({ command: 'LOCAL' }), Buffer.from(REQ)]));
  assert.match(r.text, /^HTTP\/1\.1 200/);
  assert.equal(seenHeaders(r.text)['x-forwarded-for'], '127.0.0.1');
  assert.equal(p.proxy.stats().proxyProtocolLocal, before + 1);
});

test('PROXY v2 over AF_UNIX: the socket paths are not a client address, the connection keeps its own', async () => {
  // A path is text its sender chose: "10.1.2.3" here, which would pass an
  // allow list for 10.0.0.0/8 if it were taken for an address.
  const block = Buffer.alloc(216);
  block.write('10.1.2.3', 0, 'latin1');
  block.write('/var/run/lb.sock', 108, 'latin1');
  const head = Buffer.concat([Buffer.from('\r\n\r\n\x00\r\nQUIT\n', 'latin1'), Buffer.from([0x21, 0x31, 0x00, 216]), block]);
  const r = await raw(p.port('pp'), Buffer.concat([head, Buffer.from(REQ)]));
  assert.match(r.text, /^HTTP\/1\.1 200/);
  assert.equal(seenHeaders(r.text)['x-forwarded-for'], '127.0.0.1');
  // The connection's own loopback address, so an internal request.
  assert.equal(seenHeaders(r.text)['x-envoy-internal'], 'true');
});

for (const [name, bytes] of [
  ['missing header (plain HTTP)', Buffer.from(REQ)],
  ['garbage', Buffer.from('\x00\x01\x02garbage-garbage-garbage\r\n' + REQ)],
  ['malformed v1', Buffer.from('PROXY TCP4 999.1.1.1 10.0.0.1 1 2\r\n' + REQ)],
  ['oversized v1 line', Buffer.from('PROXY TCP4 ' + '1'.repeat(200) + '\r\n' + REQ)],
] as const) {
  test(`PROXY ${name}: connection closed, counted, nothing reaches the upstream`, async () => {
    const before = p.proxy.stats().proxyProtocolRejected!;
    const seenBefore = app.seen.length;
    const r = await raw(p.port('pp'), bytes);
    assert.equal(r.closed, true);
    assert.equal(r.text, '');
    assert.equal(p.proxy.stats().proxyProtocolRejected, before + 1);
    assert.equal(app.seen.length, seenBefore);
  });
}

test('PROXY truncated header then close: rejected', async () => {
  const before = p.proxy.stats().proxyProtocolRejected!;
  const full = encodeV2({ command: 'PROXY', source: SRC, destination: DST });
  const r = await raw(p.port('pp'), full.subarray(0, 20));
  // The peer keeps the connection open; the header timeout closes it.
  assert.equal(r.closed, true);
  assert.equal(p.proxy.stats().proxyProtocolRejected, before + 1);
});

test('PROXY slow header: closed after the header timeout', async () => {
  const before = p.proxy.stats().proxyProtocolRejected!;
  const r = await raw(p.port('pp'), 'PROXY TCP4 1.2.3.4', 5000);
  assert.equal(r.closed, true);
  assert.equal(p.proxy.stats().proxyProtocolRejected, before + 1);
});

test('PROXY header on a TLS listener, then TLS: XFF from the header, proto https', async () => {
  const text = await new Promise<string>((resolve, reject) => {
    const s = net.connect(p.port('pps'), '127.0.0.1', () => {
      // The PROXY header goes on the raw socket before the handshake.
      s.write(encodeV1(SRC, DST));
      const t = tls.connect({ socket: s, servername: 'app.example.test', ca: ca.certPem }, () => t.write(REQ));
      let out = '';
      t.on('data', (d: Buffer) => (out += d.toString()));
      t.on('end', () => resolve(out));
      t.on('error', reject);
    });
  });
  assert.match(text, /^HTTP\/1\.1 200/);
  const h = seenHeaders(text);
  assert.equal(h['x-forwarded-for'], '198.51.100.7');
  assert.equal(h['x-forwarded-proto'], 'https');
});

test('port-80 redirect of a TLS vhost is skipped when the PROXY SSL TLV says the client used TLS', async () => {
  const req = 'GET /r HTTP/1.1\r\nHost: tls-only.example.test\r\nConnection: close\r\n\r\n';
  const viaTls = encodeV2({ command: 'PROXY', source: SRC, destination: DST, ssl: { connectedWithSsl: true, verify: 0 } });
  const served = await raw(p.port('pp'), Buffer.concat([viaTls, Buffer.from(req)]));
  assert.match(served.text, /^HTTP\/1\.1 200/);
  assert.equal(seenHeaders(served.text)['x-forwarded-proto'], 'https');
  const plain = await raw(p.port('pp'), Buffer.concat([encodeV1(SRC, DST), Buffer.from(req)]));
  assert.match(plain.text, /^HTTP\/1\.1 301/);
  assert.match(plain.text, /location: https:\/\/tls-only\.example\.test\/r/i);
});
