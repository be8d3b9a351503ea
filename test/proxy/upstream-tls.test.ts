import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createCa, selfSigned, type Ca } from '../support/pki.ts';
import { cluster, config, ep, get, h2Backend, httpsBackend, route, startProxy, upstreamTls, vhost, type Backend, type Started } from './fixtures.ts';
import type { Cluster, ProxyConfig } from '../../src/dag/proxy-config.ts';
import https from 'node:https';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ProxyRuntime } from '../../src/proxy/index.ts';

let ca: Ca;
let otherCa: Ca;
let good: Backend; // cert for backend.example.test from ca
let wrongSan: Backend; // from ca, SAN other.example.test
let expired: Backend;
let wrongCa: Backend;
let self: Backend;
let mtls: Backend; // requires a client cert from ca
let h2: Backend;
let p: Started;
let clientCert: { certPem: string; keyPem: string };

const V = { caBundleId: 'default/backend-ca', subjectNames: ['backend.example.test'] };

function tlsCluster(name: string, b: Backend, extra: Partial<Cluster> = {}): Cluster {
  return cluster(name, [ep(b)], { protocol: 'tls', tls: upstreamTls({ sni: 'backend.example.test', validation: V }), ...extra });
}

before(async () => {
  ca = await createCa('backend CA');
  otherCa = await createCa('other CA');
  const leaf = await ca.issue({ dnsNames: ['backend.example.test'] });
  good = await httpsBackend('good', leaf);
  wrongSan = await httpsBackend('wrongsan', await ca.issue({ dnsNames: ['other.example.test'], commonName: 'backend.example.test' }));
  expired = await httpsBackend('expired', await ca.issue({ dnsNames: ['backend.example.test'], notBeforeDays: -30, notAfterDays: -1 }));
  wrongCa = await httpsBackend('wrongca', await otherCa.issue({ dnsNames: ['backend.example.test'] }));
  self = await httpsBackend('self', await selfSigned(['backend.example.test']));
  mtls = await httpsBackend('mtls', leaf, { requestClientCertCa: ca.certPem });
  h2 = await h2Backend('h2', leaf);
  clientCert = await ca.issue({ commonName: 'envoy-client', dnsNames: ['envoy-client'], client: true });
  const cfg: ProxyConfig = config({
    caBundles: [{ id: 'default/backend-ca', caPem: ca.certPem }],
    secrets: [{ id: 'projectcontour/envoy-client', ...clientCert }],
    clusters: [
      tlsCluster('good', good),
      cluster('novalidate', [ep(self)], { protocol: 'tls', tls: upstreamTls() }),
      tlsCluster('wrongsan', wrongSan),
      tlsCluster('expired', expired),
      tlsCluster('wrongca', wrongCa),
      tlsCluster('self', self),
      tlsCluster('mtls', mtls, {
        tls: upstreamTls({ sni: 'backend.example.test', validation: V, clientCertificateId: 'projectcontour/envoy-client' }),
      }),
      tlsCluster('mtls-nocert', mtls),
      tlsCluster('h2', h2, { protocol: 'h2' }),
      tlsCluster('h2-on-h1', good, { protocol: 'h2' }),
      tlsCluster('nosni', good, { tls: upstreamTls({ validation: V }) }),
      tlsCluster('two-names', wrongSan, { tls: upstreamTls({ validation: { ...V, subjectNames: ['backend.example.test', 'other.example.test'] } }) }),
    ],
    httpVirtualHosts: [
      vhost('tls.test', [
        route({ path: { kind: 'prefix', value: '/good' }, to: 'good' }),
        route({ path: { kind: 'prefix', value: '/novalidate' }, to: 'novalidate' }),
        route({ path: { kind: 'prefix', value: '/wrongsan' }, to: 'wrongsan' }),
        route({ path: { kind: 'prefix', value: '/expired' }, to: 'expired' }),
        route({ path: { kind: 'prefix', value: '/wrongca' }, to: 'wrongca' }),
        route({ path: { kind: 'prefix', value: '/self' }, to: 'self' }),
        route({ path: { kind: 'prefix', value: '/mtls-nocert' }, to: 'mtls-nocert' }),
        route({ path: { kind: 'prefix', value: '/mtls' }, to: 'mtls' }),
        route({ path: { kind: 'prefix', value: '/h2-on-h1' }, to: 'h2-on-h1' }),
        route({ path: { kind: 'prefix', value: '/h2' }, to: 'h2' }),
        route({ path: { kind: 'prefix', value: '/nosni' }, to: 'nosni' }),
        route({ path: { kind: 'prefix', value: '/two-names' }, to: 'two-names' }),
      ]),
    ],
  });
  p = await startProxy(cfg);
});

after(async () => {
  await p.close();
  await Promise.all([good, wrongSan, expired, wrongCa, self, mtls, h2].map((b) => b.close()));
});

const H = { host: 'tls.test' };

test('tls upstream with validation: right CA and SAN pass, SNI is sent', async () => {
  const r = await get(p.port(), '/good', H);
  assert.equal(r.status, 200);
  assert.equal(good.seen.length, 1);
  assert.equal(good.seen[0]!.servername, 'backend.example.test');
  assert.equal(good.seen[0]!.httpVersion, '1.1');
});

test('no SNI is sent when the config has none', async () => {
  const before = good.seen.length;
  const r = await get(p.port(), '/nosni', H);
  assert.equal(r.status, 200);
  assert.equal(good.seen.length, before + 1);
  assert.equal(good.seen.at(-1)!.servername, undefined);
});

test('tls without validation encrypts and accepts any certificate', async () => {
  const r = await get(p.port(), '/novalidate', H);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).backend, 'self');
});

for (const [path, which, reason] of [
  ['/wrongsan', () => wrongSan, /SUBJECT_NAME_MISMATCH/],
  ['/expired', () => expired, /CERT_HAS_EXPIRED/],
  ['/wrongca', () => wrongCa, /CERTIFICATE_VERIFY_FAILED/],
  ['/self', () => self, /CERTIFICATE_VERIFY_FAILED/],
] as const) {
  test(`validation fails closed: ${path.slice(1)} -> 503 and the backend sees no request`, async () => {
    const before = p.proxy.stats().upstreamTlsFailures!;
    const r = await get(p.port(), path, H);
    assert.equal(r.status, 503);
    assert.match(r.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure, transport failure reason: TLS_error: /);
    assert.match(r.body, reason);
    assert.equal(which().seen.filter((s) => s.url.startsWith(path)).length, 0);
    assert.ok(p.proxy.stats().upstreamTlsFailures! > before);
    assert.equal(p.logs.at(-1)!.responseFlags, 'UF');
  });
}

test('self-signed backend never gets a request even on retry of the same route', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await get(p.port(), '/self', H)).status, 503);
  assert.equal(self.seen.filter((s) => s.url.startsWith('/self')).length, 0);
});

test('any one of several subject names matches', async () => {
  const r = await get(p.port(), '/two-names', H);
  assert.equal(r.status, 200);
});

test('client certificate is presented when the backend asks', async () => {
  const r = await get(p.port(), '/mtls', H);
  assert.equal(r.status, 200);
  assert.equal(mtls.seen.at(-1)!.clientCertSubject, 'envoy-client');
});

test('a backend requiring a client certificate refuses a cluster without one', async () => {
  const r = await get(p.port(), '/mtls-nocert', H);
  assert.equal(r.status, 503);
  assert.equal(mtls.seen.filter((s) => s.url.startsWith('/mtls-nocert')).length, 0);
});

test('h2 upstream uses TLS with ALPN h2', async () => {
  const r = await get(p.port(), '/h2', H);
  assert.equal(r.status, 200);
  assert.equal(h2.seen.at(-1)!.httpVersion, '2.0');
  assert.equal(h2.seen.at(-1)!.servername, 'backend.example.test');
});

test('upstream TLS sessions are resumed on new connections', async () => {
  const leaf = await ca.issue({ dnsNames: ['backend.example.test'] });
  const resumed: boolean[] = [];
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    resumed.push((req.socket as import('node:tls').TLSSocket).isSessionReused());
    // Close after each response so every request needs a new connection.
    res.setHeader('connection', 'close');
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const q = await startProxy(
    config({
      caBundles: [{ id: 'default/backend-ca', caPem: ca.certPem }],
      clusters: [cluster('resume', [{ address: '127.0.0.1', port }], { protocol: 'tls', tls: upstreamTls({ sni: 'backend.example.test', validation: V, maxVersion: '1.2' }) })],
      httpVirtualHosts: [vhost('resume.test', [route({ to: 'resume' })])],
    }),
  );
  try {
    for (let i = 0; i < 3; i++) assert.equal((await get(q.port(), '/', { host: 'resume.test' })).status, 200);
    assert.equal(resumed[0], false);
    assert.ok(resumed.slice(1).some((r) => r), `resumed: ${resumed}`);
  } finally {
    await q.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('URI SANs (BackendTLSPolicy subjectAltNames of type URI) match exactly; the DNS name is then not enough', async () => {
  const spiffe = await httpsBackend('spiffe', await ca.issue({ dnsNames: ['backend.example.test'], uris: ['spiffe://abc.example.com/test-identity'] }));
  const uri = (uris: string[], subjectNames: string[] = []) => upstreamTls({ sni: 'backend.example.test', validation: { caBundleId: 'default/backend-ca', subjectNames, uriSubjectNames: uris } });
  const q = await startProxy(
    config({
      caBundles: [{ id: 'default/backend-ca', caPem: ca.certPem }],
      clusters: [
        cluster('uri', [ep(spiffe)], { protocol: 'tls', tls: uri(['spiffe://abc.example.com/test-identity']) }),
        cluster('uri-mismatch', [ep(spiffe)], { protocol: 'tls', tls: uri(['spiffe://def.example.com/test-identity']) }),
        cluster('uri-prefix', [ep(spiffe)], { protocol: 'tls', tls: uri(['spiffe://abc.example.com/test']) }),
        cluster('multi', [ep(spiffe)], { protocol: 'tls', tls: uri(['spiffe://def.example.com/x'], ['backend.example.test']) }),
        cluster('multi-mismatch', [ep(spiffe)], { protocol: 'tls', tls: uri(['spiffe://def.example.com/x'], ['other.example.test']) }),
      ],
      httpVirtualHosts: [vhost('uri.test', ['uri', 'uri-mismatch', 'uri-prefix', 'multi', 'multi-mismatch'].map((n) => route({ path: { kind: 'exact', value: `/${n}` }, to: n })))],
    }),
  );
  try {
    const status = async (path: string) => (await get(q.port(), path, { host: 'uri.test' })).status;
    assert.equal(await status('/uri'), 200);
    assert.equal(await status('/uri-mismatch'), 503);
    assert.equal(await status('/uri-prefix'), 503, 'exact, not a prefix');
    assert.equal(await status('/multi'), 200, 'one of the names is enough');
    assert.equal(await status('/multi-mismatch'), 503);
    assert.equal(spiffe.seen.length, 2, 'only the validated connections were used');
  } finally {
    await q.close();
    await spiffe.close();
  }
});

test('the warning log names the cluster, upstream and failed check, once per window, and never a key', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const runtime = new ProxyRuntime({ listeners: [{ name: 'http', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: false }], logger: pino(sink) });
  runtime.apply(
    config({
      caBundles: [{ id: 'default/backend-ca', caPem: ca.certPem }],
      secrets: [{ id: 'projectcontour/envoy-client', ...clientCert }],
      clusters: [tlsCluster('wrongsan', wrongSan, { tls: upstreamTls({ sni: 'backend.example.test', validation: V, clientCertificateId: 'projectcontour/envoy-client' }) })],
      httpVirtualHosts: [vhost('log.test', [route({ to: 'wrongsan' })])],
    }),
  );
  await runtime.listen();
  try {
    const port = runtime.address('http').port;
    for (let i = 0; i < 3; i++) assert.equal((await get(port, '/', { host: 'log.test' })).status, 503);
    const warnings = lines.filter((l) => l.includes('upstream TLS failed'));
    assert.equal(warnings.length, 1);
    const w = JSON.parse(warnings[0]!) as { cluster: string; upstream: string; reason: string };
    assert.equal(w.cluster, 'wrongsan');
    assert.equal(w.upstream, `127.0.0.1:${wrongSan.port}`);
    assert.match(w.reason, /SUBJECT_NAME_MISMATCH: certificate DNS SANs \[other\.example\.test\] match none of the subject names \[backend\.example\.test\]/);
    assert.ok(!lines.join('').includes('PRIVATE KEY'));
  } finally {
    await runtime.close(0);
  }
});

test('an h2 cluster whose backend does not speak h2 fails closed (503, ALPN named)', async () => {
  const before = good.seen.length;
  const r = await get(p.port(), '/h2-on-h1', H);
  assert.equal(r.status, 503);
  assert.match(r.body, /TLS_error: .*(ALPN|NO_APPLICATION_PROTOCOL)/);
  assert.equal(good.seen.length, before);
});
