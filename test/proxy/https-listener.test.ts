import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { createCa, type Ca, type Issued } from '../support/pki.ts';
import { cluster, config, ep, get, httpBackend, raw, route, secureVhost, startProxy, vhost, type Backend, type Resp, type Started, h2Get } from './fixtures.ts';

let ca: Ca;
let clientCa: Ca;
let app: Backend;
let pt: Backend; // passthrough target: a TLS server with its own cert
let ptServer: tls.Server;
let p: Started;
let clientCert: Issued;
let strangerCert: Issued;

before(async () => {
  ca = await createCa('edge CA');
  clientCa = await createCa('client CA');
  const other = await createCa('stranger CA');
  clientCert = await clientCa.issue({ commonName: 'alice', client: true });
  strangerCert = await other.issue({ commonName: 'mallory', client: true });
  const appCert = await ca.issue({ dnsNames: ['app.example.test'] });
  const wildCert = await ca.issue({ dnsNames: ['*.wild.test'] });
  const v13Cert = await ca.issue({ dnsNames: ['v13.example.test'] });
  const mtlsCert = await ca.issue({ dnsNames: ['mtls.example.test', 'opt.example.test'] });
  const fbCert = await ca.issue({ dnsNames: ['fallback.example.test'] });
  const ptCert = await ca.issue({ dnsNames: ['pt.example.test'] });
  const tcpCert = await ca.issue({ dnsNames: ['tcp.example.test'] });
  app = await httpBackend('app');
  // Passthrough backend terminates TLS itself and says which SNI it saw.
  ptServer = tls.createServer({ cert: ptCert.certPem, key: ptCert.keyPem }, (s) => {
    s.end(`passthrough:${(s as tls.TLSSocket & { servername?: string }).servername}`);
  });
  await new Promise<void>((r) => ptServer.listen(0, '127.0.0.1', () => r()));
  const ptPort = (ptServer.address() as { port: number }).port;
  pt = { port: ptPort, address: '127.0.0.1', seen: [], name: 'pt', close: () => new Promise((r) => ptServer.close(() => r())) };
  const routes = [route({ to: 'app' })];
  p = await startProxy(
    config({
      clusters: [
        cluster('app', [ep(app)]),
        cluster('pt', [ep(pt)]),
        cluster('pt-tls', [ep(pt)], { protocol: 'tls', tls: { minVersion: '1.2', maxVersion: '1.3' } }),
        cluster('tcp', [ep(app)]),
      ],
      secrets: [
        { id: 'default/app', ...appCert },
        { id: 'default/wild', ...wildCert },
        { id: 'default/v13', ...v13Cert },
        { id: 'default/mtls', ...mtlsCert },
        { id: 'default/fb', ...fbCert },
        { id: 'default/tcp', ...tcpCert },
      ],
      caBundles: [{ id: 'default/client-ca', caPem: clientCa.certPem }],
      fallbackCertificateId: 'default/fb',
      httpVirtualHosts: [vhost('app.example.test', [route({ to: 'app', httpsRedirect: true })])],
      httpsVirtualHosts: [
        secureVhost('*.wild.test', routes, { secretId: 'default/wild' }),
        secureVhost('app.example.test', routes, { secretId: 'default/app' }),
        secureVhost('fb-enabled.example.test', routes, { secretId: 'default/app', fallbackCertificate: true }),
        secureVhost('fb2.example.test', routes, { secretId: 'default/app', fallbackCertificate: true }),
        secureVhost('mtls.example.test', routes, {
          secretId: 'default/mtls',
          clientValidation: { caBundleId: 'default/client-ca', skipVerification: false, optional: false },
        }),
        secureVhost('opt.example.test', routes, {
          secretId: 'default/mtls',
          clientValidation: { caBundleId: 'default/client-ca', skipVerification: false, optional: true },
        }),
        secureVhost('pt.example.test', [], { passthrough: { clusters: [{ cluster: 'pt', weight: 1, requestHeaders: { set: [], remove: [] }, responseHeaders: { set: [], remove: [] } }] } }),
        secureVhost('pt2.example.test', [], { passthrough: { clusters: [{ cluster: 'pt-tls', weight: 1, requestHeaders: { set: [], remove: [] }, responseHeaders: { set: [], remove: [] } }] } }),
        secureVhost('tcp.example.test', [], {
          secretId: 'default/tcp',
          tcpProxy: { clusters: [{ cluster: 'tcp', weight: 1, requestHeaders: { set: [], remove: [] }, responseHeaders: { set: [], remove: [] } }] },
        }),
        secureVhost('v13.example.test', routes, { secretId: 'default/v13', minVersion: '1.3', maxVersion: '1.3' }),
      ],
    }),
    [{ name: 'https', tls: true }, { name: 'http' }],
  );
});

after(async () => {
  await p.close();
  await app.close();
  await pt.close();
});

function hget(
  servername: string | undefined,
  host: string,
  path = '/',
  extra: https.RequestOptions = {},
): Promise<Resp & { cert?: tls.PeerCertificate; alpn?: string | false; version?: string | null }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: p.port('https'),
        path,
        headers: { host },
        ca: ca.certPem,
        ...(servername !== undefined ? { servername } : {}),
        agent: false,
        ...extra,
      },
      (res) => {
        const sock = res.socket as tls.TLSSocket;
        const cert = sock.getPeerCertificate();
        const version = sock.getProtocol();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), cert, version }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('serves the certificate of the SNI virtual host and sets X-Forwarded-Proto https', async () => {
  const r = await hget('app.example.test', 'app.example.test');
  assert.equal(r.status, 200);
  assert.equal(r.cert!.subject.CN, 'app.example.test');
  const seen = JSON.parse(r.body) as { headers: Record<string, string> };
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(p.logs.at(-1)!.listener, 'https');
});

test('wildcard certificate for one-label names', async () => {
  const r = await hget('foo.wild.test', 'foo.wild.test');
  assert.equal(r.status, 200);
  assert.equal(r.cert!.subject.CN, '*.wild.test');
  await assert.rejects(hget('a.b.wild.test', 'a.b.wild.test', '/', { servername: 'a.b.wild.test', ca: ca.certPem }));
});

test('Host that is not the SNI virtual host gets 421', async () => {
  const r = await hget('app.example.test', 'foo.wild.test');
  assert.equal(r.status, 421);
});

test('per-vhost TLS versions: a TLS 1.3-only vhost refuses TLS 1.2', async () => {
  const ok = await hget('v13.example.test', 'v13.example.test');
  assert.equal(ok.version, 'TLSv1.3');
  await assert.rejects(hget('v13.example.test', 'v13.example.test', '/', { maxVersion: 'TLSv1.2' }));
  const other = await hget('app.example.test', 'app.example.test', '/', { maxVersion: 'TLSv1.2' });
  assert.equal(other.version, 'TLSv1.2');
});

test('client validation: valid client cert passes; none or a stranger is refused', async () => {
  const ok = await hget('mtls.example.test', 'mtls.example.test', '/', { cert: clientCert.certPem, key: clientCert.keyPem });
  assert.equal(ok.status, 200);
  await assert.rejects(hget('mtls.example.test', 'mtls.example.test'));
  await assert.rejects(hget('mtls.example.test', 'mtls.example.test', '/', { cert: strangerCert.certPem, key: strangerCert.keyPem }));
});

test('optional client validation: no cert is fine, a bad one is refused', async () => {
  assert.equal((await hget('opt.example.test', 'opt.example.test')).status, 200);
  assert.equal((await hget('opt.example.test', 'opt.example.test', '/', { cert: clientCert.certPem, key: clientCert.keyPem })).status, 200);
  await assert.rejects(hget('opt.example.test', 'opt.example.test', '/', { cert: strangerCert.certPem, key: strangerCert.keyPem }));
});

test('no SNI gets the fallback certificate; only fallback-enabled vhosts are served', async () => {
  const noCheck = { servername: '', checkServerIdentity: () => undefined };
  const r = await hget(undefined, 'fb-enabled.example.test', '/', noCheck);
  assert.equal(r.cert!.subject.CN, 'fallback.example.test');
  assert.equal(r.status, 200);
  const r2 = await hget(undefined, 'app.example.test', '/', noCheck);
  assert.equal(r2.status, 421);
  // With SNI, only that vhost: another fallback-enabled vhost is still misdirected.
  const r3 = await hget('fb-enabled.example.test', 'fb2.example.test', '/', { checkServerIdentity: () => undefined });
  assert.equal(r3.status, 421);
  const r4 = await hget(undefined, 'fb2.example.test', '/', noCheck);
  assert.equal(r4.status, 200);
});

test('TLS passthrough forwards the raw stream by SNI', async () => {
  const text = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: p.port('https'), servername: 'pt.example.test', ca: ca.certPem }, () => {});
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
  assert.equal(text, 'passthrough:pt.example.test');
});

test('passthrough pipes raw bytes even when the cluster is marked tls', async () => {
  const text = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: p.port('https'), servername: 'pt2.example.test', rejectUnauthorized: false }, () => {});
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
  assert.equal(text, 'passthrough:pt2.example.test');
});

test('TCPProxy terminates TLS and forwards the decrypted stream', async () => {
  const text = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: p.port('https'), servername: 'tcp.example.test', ca: ca.certPem }, () => {
      s.write('GET /via-tcp HTTP/1.1\r\nHost: whatever\r\nConnection: close\r\n\r\n');
    });
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
  assert.match(text, /^HTTP\/1\.1 200/);
  assert.equal(app.seen.at(-1)!.url, '/via-tcp');
});

test('HTTP/2 downstream with ALPN h2', async () => {
  const client = http2.connect(`https://127.0.0.1:${p.port('https')}`, { ca: ca.certPem, servername: 'app.example.test' });
  try {
    const res = await h2Get(client, '/h2?x=1', 'app.example.test');
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/h2?x=1');
    assert.equal(seen.headers.host, 'app.example.test');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(p.logs.at(-1)!.protocol, 'HTTP/2');
  } finally {
    client.close();
  }
});

test('unknown SNI without a fallback match closes; the plain listener redirects to https', async () => {
  // fallback exists here, so unknown SNI is served with the fallback cert but routes nowhere
  const r = await hget('unknown.example.test', 'unknown.example.test', '/', { ca: ca.certPem, checkServerIdentity: () => undefined });
  assert.equal(r.status, 404);
  const plain = await get(p.port('http'), '/x', { host: 'app.example.test' });
  assert.equal(plain.status, 301);
  assert.equal(plain.headers.location, 'https://app.example.test/x');
});

test('garbage instead of a ClientHello is closed and counted', async () => {
  const before = p.proxy.stats().tlsInspectorRejected!;
  const r = await raw(p.port('https'), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(r.closed, true);
  assert.equal(r.text, '');
  assert.equal(p.proxy.stats().tlsInspectorRejected, before + 1);
});

/** One request on a new TLS connection to app.example.test; whether it resumed and the ticket it got. */
function connectOnce(session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let saved: Buffer | undefined;
    let reused = false;
    const s = tls.connect({ host: '127.0.0.1', port: p.port('https'), servername: 'app.example.test', ca: ca.certPem, ...(session ? { session } : {}) }, () => {
      reused = s.isSessionReused();
      s.write('GET / HTTP/1.1\r\nHost: app.example.test\r\nConnection: close\r\n\r\n');
    });
    s.on('session', (b: Buffer) => (saved = b));
    s.on('data', () => {});
    s.on('close', () => resolve({ reused, session: saved }));
    s.on('error', reject);
  });
}

test('downstream TLS sessions resume (tickets) on a new connection', async () => {
  const first = await connectOnce();
  assert.equal(first.reused, false);
  assert.ok(first.session);
  const second = await connectOnce(first.session);
  assert.equal(second.reused, true);
});

test('after a ticket key rotation an old ticket gets a full handshake and a new one resumes', async () => {
  const old = await connectOnce();
  assert.equal((await connectOnce(old.session)).reused, true);
  p.proxy.setTicketKeys(randomBytes(48));
  assert.equal((await connectOnce(old.session)).reused, false);
  const fresh = await connectOnce();
  assert.equal((await connectOnce(fresh.session)).reused, true);
  assert.throws(() => p.proxy.setTicketKeys(randomBytes(47)), /48 bytes, got 47/);
});

test('a ClientHello that never completes is closed after the inspector timeout', async () => {
  const q = await startProxy(config(), [{ name: 'https', tls: true }], { tlsInspectorTimeoutMs: 200 });
  try {
    // A handshake record header announcing more bytes than are ever sent.
    const r = await raw(q.port('https'), Buffer.from([22, 3, 1, 0, 200, 1, 0, 0, 196]), 5000);
    assert.equal(r.closed, true);
    assert.equal(q.proxy.stats().tlsInspectorRejected, 1);
  } finally {
    await q.close();
  }
});
