// External authorization against a real grpc-js authorization server on
// loopback: the CheckRequest Envoy would send, allow / deny / error as
// Envoy's ext_authz filter decides, timeouts and failOpen, the body, and the
// ExtensionService's TLS validation.
import 'reflect-metadata';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createCa, selfSigned } from '../support/pki.ts';
import {
  AuthzClient,
  AuthzClientRegistry,
  authorize,
  collectBody,
  mutateHeaderList,
  mutateHeaderObject,
  mutateQuery,
  newAuthzStats,
  type AuthzSettings,
  type AuthzTarget,
  type CheckRequestMsg,
  type RequestFacts,
} from '../../src/proxy/ext-authz/index.ts';
import { HANG, OK, startAuthzServer, type AuthzServer } from './ext-authz-server.ts';

const servers: AuthzServer[] = [];
const clients: AuthzClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function server(...args: Parameters<typeof startAuthzServer>): Promise<AuthzServer> {
  const s = await startAuthzServer(...args);
  servers.push(s);
  return s;
}

function h2c(port: number, name = 'extension/auth/authz'): AuthzTarget {
  return { name, protocol: 'h2c', services: [{ weight: 0, endpoints: [{ address: '127.0.0.1', port }] }], loadBalancer: 'RoundRobin' };
}

function client(t: AuthzTarget): AuthzClient {
  const c = new AuthzClient(t);
  clients.push(c);
  return c;
}

const SETTINGS: AuthzSettings = { timeoutMs: 2000, failOpen: false };

function facts(extra: Partial<RequestFacts> = {}): RequestFacts {
  return {
    id: '12345',
    method: 'GET',
    path: '/private/page?x=1',
    host: 'app.example.com',
    scheme: 'https',
    protocol: 'HTTP/1.1',
    headers: ['user-agent', 'curl/8', 'accept', 'text/html', 'x-forwarded-for', '203.0.113.7', 'x-multi', 'a', 'x-multi', 'b', 'host', 'app.example.com'],
    source: { address: '203.0.113.7', port: 40000 },
    destination: { address: '10.0.0.9', port: 443 },
    startTimeMs: 1_700_000_000_123,
    contextExtensions: { realm: 'staff' },
    ...extra,
  };
}

test('an OK Check allows the request; the CheckRequest carries what Envoy sends', async () => {
  const s = await server(() => OK);
  const stats = newAuthzStats();
  const d = await authorize(client(h2c(s.port)), SETTINGS, facts(), stats);
  assert.equal(d.kind, 'allow');
  assert.equal(d.kind === 'allow' && d.outcome, 'ok');
  assert.deepEqual(stats, { ok: 1, denied: 0, error: 0, failure_mode_allowed: 0 });
  const a = s.requests[0]!.attributes;
  assert.equal(a.source.address.socket_address.address, '203.0.113.7');
  assert.equal(a.source.address.socket_address.port_value, 40000);
  assert.equal(a.destination.address.socket_address.address, '10.0.0.9');
  assert.equal(a.destination.address.socket_address.port_value, 443);
  const h = a.request.http;
  assert.equal(h.id, '12345');
  assert.equal(h.method, 'GET');
  assert.equal(h.path, '/private/page?x=1');
  assert.equal(h.host, 'app.example.com');
  assert.equal(h.scheme, 'https');
  assert.equal(h.protocol, 'HTTP/1.1');
  assert.equal(h.size, 0);
  assert.equal(h.body, '');
  assert.deepEqual({ ...h.headers }, {
    ':authority': 'app.example.com',
    ':path': '/private/page?x=1',
    ':method': 'GET',
    ':scheme': 'https',
    'user-agent': 'curl/8',
    accept: 'text/html',
    'x-forwarded-for': '203.0.113.7',
    'x-multi': 'a,b',
  });
  assert.deepEqual({ ...a.context_extensions }, { realm: 'staff' });
  assert.equal(a.request.time.seconds, 1_700_000_000);
  assert.equal(a.request.time.nanos, 123_000_000);
  // Contour's authority for a cluster without SNI.
  assert.equal(s.authorities[0], 'extension.auth.authz');
});

test('a client certificate is named as Envoy names it (URI SAN, else DNS SAN, else subject) and sent URL-encoded', async () => {
  const ca = await createCa('clients');
  const withUri = await ca.issue({ commonName: 'alice', client: true });
  const s = await server(() => OK);
  const c = client(h2c(s.port));
  await authorize(c, SETTINGS, facts({ source: { address: '203.0.113.7', port: 1, certificatePem: withUri.certPem } }));
  const src = s.requests[0]!.attributes.source;
  assert.equal(src.principal, 'CN=alice');
  assert.equal(decodeURIComponent(src.certificate!), withUri.certPem);
  const dns = await ca.issue({ commonName: 'svc', dnsNames: ['svc.example.com'], client: true });
  await authorize(c, SETTINGS, facts({ source: { address: '203.0.113.7', port: 1, certificatePem: dns.certPem } }));
  assert.equal(s.requests[1]!.attributes.source.principal, 'svc.example.com');
});

test('a denied Check sends the server status, headers and body to the client', async () => {
  const s = await server(() => ({
    status: { code: 7 },
    denied_response: {
      status: { code: 401 },
      headers: [
        { header: { key: 'WWW-Authenticate', value: 'Basic realm="staff"' } },
        { header: { key: 'x-reason', value: 'no credentials' }, append: { value: false } },
      ],
      body: 'who are you?',
    },
  }));
  const stats = newAuthzStats();
  const d = await authorize(client(h2c(s.port)), SETTINGS, facts(), stats);
  assert.equal(d.kind, 'deny');
  if (d.kind !== 'deny') return;
  assert.equal(d.outcome, 'denied');
  assert.equal(d.status, 401);
  assert.equal(d.body, 'who are you?');
  assert.deepEqual(mutateHeaderObject({ 'content-type': 'text/plain' }, d.headers), {
    'content-type': 'text/plain',
    'www-authenticate': 'Basic realm="staff"',
    'x-reason': 'no credentials',
  });
  assert.deepEqual(stats, { ok: 0, denied: 1, error: 0, failure_mode_allowed: 0 });
});

test('a non-OK status without a denied response is 403 with no body; a redirect status passes', async () => {
  const s = await server(() => ({ status: { code: 16 } }));
  const d = await authorize(client(h2c(s.port)), SETTINGS, facts());
  assert.deepEqual(d.kind === 'deny' && [d.status, d.body, d.outcome], [403, '', 'denied']);
  s.handler = () => ({
    status: { code: 7 },
    denied_response: { status: { code: 302 }, headers: [{ header: { key: 'location', value: 'https://login.example.com/' } }] },
  });
  const r = await authorize(client(h2c(s.port)), SETTINGS, facts());
  assert.equal(r.kind === 'deny' && r.status, 302);
  assert.deepEqual(r.kind === 'deny' && mutateHeaderObject({}, r.headers), { location: 'https://login.example.com/' });
});

test('an error_response is an error: its status and body unless failOpen', async () => {
  const s = await server(() => ({ status: { code: 13 }, error_response: { status: { code: 503 }, body: 'policy engine down' } }));
  const d = await authorize(client(h2c(s.port)), SETTINGS, facts());
  assert.deepEqual(d.kind === 'deny' && [d.outcome, d.status, d.body], ['error', 503, 'policy engine down']);
  const open = await authorize(client(h2c(s.port)), { ...SETTINGS, failOpen: true }, facts());
  assert.deepEqual([open.kind, open.kind === 'allow' && open.outcome], ['allow', 'failure_mode_allowed']);
});

test('OK header mutations: add, append, set, add-if-absent, remove; query parameters set and removed', async () => {
  const s = await server(() => ({
    status: { code: 0 },
    ok_response: {
      headers: [
        { header: { key: 'x-user', value: 'alice' } }, // APPEND_IF_EXISTS_OR_ADD: one more line
        { header: { key: 'x-role', value: 'admin' }, append: { value: false } }, // overwrite
        { header: { key: 'x-trace', value: 'authz' }, append: { value: true } }, // joined with ","
        { header: { key: 'x-tenant', value: 'blue' }, append_action: 1 }, // ADD_IF_ABSENT
        { header: { key: 'x-absent', value: 'no' }, append_action: 3 }, // OVERWRITE_IF_EXISTS
        { header: { key: 'x-new', value: 'yes' }, append_action: 2 },
        { header: { key: 'transfer-encoding', value: 'chunked' }, append_action: 2 }, // never from the server
      ],
      headers_to_remove: ['authorization', 'Host', ':path'],
      response_headers_to_add: [{ header: { key: 'x-authz', value: 'checked' } }],
      query_parameters_to_set: [{ key: 'user', value: 'alice smith' }, { key: 'x', value: '2' }],
      query_parameters_to_remove: ['debug'],
    },
  }));
  const d = await authorize(client(h2c(s.port)), SETTINGS, facts());
  assert.equal(d.kind, 'allow');
  if (d.kind !== 'allow') return;
  const upstream = mutateHeaderList(
    ['host', 'app.example.com', 'authorization', 'Basic eDp5', 'x-user', 'mallory', 'x-role', 'guest', 'x-role', 'user', 'x-trace', 'edge', 'x-tenant', 'red'],
    d.mutations.headers,
    d.mutations.headersToRemove,
  );
  assert.deepEqual(upstream, [
    'host', 'app.example.com',
    'x-user', 'mallory',
    'x-role', 'admin',
    'x-trace', 'edge,authz',
    'x-tenant', 'red',
    'x-user', 'alice',
    'x-new', 'yes',
  ]);
  assert.equal(mutateQuery('x=1&debug=true&x=3&keep', d.mutations.queryToSet, d.mutations.queryToRemove), 'x=2&keep&user=alice%20smith');
  assert.deepEqual(mutateHeaderObject({ server: 'app' }, d.mutations.responseHeaders), { server: 'app', 'x-authz': 'checked' });
});

test('a server that does not answer within the timeout: 403, or allowed with failOpen', async () => {
  const s = await server(() => HANG);
  const stats = newAuthzStats();
  const t0 = Date.now();
  const d = await authorize(client(h2c(s.port)), { timeoutMs: 150, failOpen: false }, facts(), stats);
  const took = Date.now() - t0;
  assert.deepEqual(d.kind === 'deny' && [d.outcome, d.status, d.body], ['error', 403, '']);
  assert.match(d.kind === 'deny' ? d.detail : '', /DEADLINE_EXCEEDED/);
  assert.ok(took >= 140 && took < 2000, `timed out after ${took} ms`);
  const open = await authorize(client(h2c(s.port)), { timeoutMs: 150, failOpen: true }, facts(), stats);
  assert.deepEqual([open.kind, open.kind === 'allow' && open.outcome], ['allow', 'failure_mode_allowed']);
  assert.deepEqual(stats, { ok: 0, denied: 0, error: 2, failure_mode_allowed: 1 });
});

test('an unreachable server or no endpoints: 403, or allowed with failOpen', async () => {
  const closed = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
  const d = await authorize(client(h2c(closed)), SETTINGS, facts());
  assert.deepEqual(d.kind === 'deny' && [d.outcome, d.status], ['error', 403]);
  assert.match(d.kind === 'deny' ? d.detail : '', /UNAVAILABLE/);
  const open = await authorize(client(h2c(closed)), { ...SETTINGS, failOpen: true }, facts());
  assert.equal(open.kind, 'allow');
  const none = client({ ...h2c(1), services: [{ weight: 0, endpoints: [] }] });
  const n = await authorize(none, SETTINGS, facts());
  assert.deepEqual(n.kind === 'deny' && [n.status, n.detail], [403, 'ext_authz_error: UNAVAILABLE: no healthy upstream']);
});

/** An HTTP server that does what the proxy does with withRequestBody:
 *  collect, Check, then forward what it collected plus the rest. */
async function bodyFront(c: AuthzClient, settings: AuthzSettings): Promise<{ port: number; close(): Promise<void> }> {
  const srv = http.createServer(async (req, res) => {
    const got = await collectBody(req, settings.withRequestBody!);
    if (got.kind === 'tooLarge') {
      res.writeHead(413).end('Payload Too Large');
      return;
    }
    if (got.kind === 'aborted') return;
    const d = await authorize(c, settings, facts({ method: 'POST', body: { data: got.data, received: got.received } }));
    if (d.kind === 'deny') {
      res.writeHead(d.status).end(d.body);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of got.replay()) chunks.push(chunk as Buffer);
    res.writeHead(200, { 'x-kind': got.kind }).end(Buffer.concat(chunks));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  };
}

function post(port: number, body: Buffer | string, chunked = false): Promise<{ status: number; body: string; kind: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: chunked ? {} : { 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), kind: String(res.headers['x-kind'] ?? '') }));
    });
    req.on('error', reject);
    if (chunked) {
      // Two writes: the second arrives after the Check could have started.
      const b = Buffer.from(body);
      req.write(b.subarray(0, 8));
      setTimeout(() => req.end(b.subarray(8)), 30);
    } else req.end(body);
  });
}

test('withRequestBody: the body goes to the server as text, as bytes with packAsBytes, and then upstream in full', async () => {
  const s = await server((r: CheckRequestMsg) => (r.attributes.request.http.body === 'secret=1' || r.attributes.request.http.raw_body?.toString() === 'secret=1' ? OK : { status: { code: 7 } }));
  const c = client(h2c(s.port));
  const text = await bodyFront(c, { ...SETTINGS, withRequestBody: { maxRequestBytes: 1024, allowPartialMessage: false, packAsBytes: false } });
  const r = await post(text.port, 'secret=1');
  assert.deepEqual(r, { status: 200, body: 'secret=1', kind: 'complete' });
  const h = s.requests[0]!.attributes.request.http;
  assert.equal(h.body, 'secret=1');
  assert.equal(h.size, 8);
  assert.equal(h.headers['x-envoy-auth-partial-body'], 'false');
  assert.equal((await post(text.port, 'secret=2')).status, 403);
  await text.close();

  const bytes = await bodyFront(c, { ...SETTINGS, withRequestBody: { maxRequestBytes: 1024, allowPartialMessage: false, packAsBytes: true } });
  assert.equal((await post(bytes.port, 'secret=1')).status, 200);
  const hb = s.requests.at(-1)!.attributes.request.http;
  assert.equal(hb.body, '');
  assert.equal(hb.raw_body!.toString(), 'secret=1');
  await bytes.close();
});

test('withRequestBody: over maxRequestBytes is 413 without allowPartialMessage, a partial body with it', async () => {
  const s = await server(() => OK);
  const c = client(h2c(s.port));
  const strict = await bodyFront(c, { ...SETTINGS, withRequestBody: { maxRequestBytes: 16, allowPartialMessage: false, packAsBytes: false } });
  const big = 'abcdefghijklmnopqrstuvwxyz0123456789';
  assert.equal((await post(strict.port, big)).status, 413);
  assert.equal(s.requests.length, 0, 'no Check for a refused body');
  assert.equal((await post(strict.port, 'abcdefghijklmnop')).status, 200, 'exactly maxRequestBytes is accepted');
  await strict.close();

  const partial = await bodyFront(c, { ...SETTINGS, withRequestBody: { maxRequestBytes: 16, allowPartialMessage: true, packAsBytes: false } });
  const r = await post(partial.port, big, true);
  assert.equal(r.status, 200);
  assert.equal(r.body, big, 'the upstream gets the whole body');
  assert.equal(r.kind, 'partial');
  const h = s.requests.at(-1)!.attributes.request.http;
  assert.equal(h.body, big.slice(0, 16));
  assert.equal(h.headers['x-envoy-auth-partial-body'], 'true');
  await partial.close();
});

test('a client cannot forge the partial-body header', async () => {
  const s = await server(() => OK);
  await authorize(client(h2c(s.port)), { ...SETTINGS, withRequestBody: { maxRequestBytes: 8, allowPartialMessage: true, packAsBytes: false } }, facts({
    headers: ['x-envoy-auth-partial-body', 'false'],
    body: { data: Buffer.from('0123456789'), received: 10 },
  }));
  const h = s.requests[0]!.attributes.request.http;
  assert.equal(h.headers['x-envoy-auth-partial-body'], 'true');
  assert.equal(h.body, '01234567');
});

const pki = await (async () => {
  const ca = await createCa('authz CA');
  const serverCert = await ca.issue({ dnsNames: ['authz.auth.svc'] });
  const clientCert = await ca.issue({ commonName: 'envoy', client: true });
  const rogue = await selfSigned(['authz.auth.svc']);
  return { ca, serverCert, clientCert, rogue };
})();

function tlsTarget(port: number, tls: AuthzTarget['tls']): AuthzTarget {
  return { ...h2c(port), protocol: 'h2', tls };
}

test('TLS to the server validated against the CA and subject name; the client certificate is presented', async () => {
  const s = await server(() => OK, { tls: { ...pki.serverCert, clientCaPem: pki.ca.certPem } });
  const c = client(
    tlsTarget(s.port, {
      sni: 'authz.auth.svc',
      validation: { caPem: pki.ca.certPem, subjectNames: ['authz.auth.svc'] },
      clientCertPem: pki.clientCert.certPem,
      clientKeyPem: pki.clientCert.keyPem,
      minVersion: '1.2',
      maxVersion: '1.3',
    }),
  );
  const d = await authorize(c, SETTINGS, facts());
  assert.equal(d.kind, 'allow');
  assert.equal(s.authorities[0], 'authz.auth.svc');
  assert.equal(s.clientCertificates[0], 'envoy');
});

test('TLS with a wrong subject name or an untrusted certificate fails closed: 403 and no Check is ever sent', async () => {
  const s = await server(() => OK, { tls: pki.serverCert });
  const wrongName = client(
    tlsTarget(s.port, { sni: 'other.auth.svc', validation: { caPem: pki.ca.certPem, subjectNames: ['other.auth.svc'] }, minVersion: '1.2', maxVersion: '1.3' }),
  );
  const d = await authorize(wrongName, SETTINGS, facts());
  assert.deepEqual(d.kind === 'deny' && [d.outcome, d.status], ['error', 403]);
  assert.equal(s.requests.length, 0);

  const rogue = await server(() => OK, { tls: pki.rogue });
  const untrusted = client(
    tlsTarget(rogue.port, { sni: 'authz.auth.svc', validation: { caPem: pki.ca.certPem, subjectNames: ['authz.auth.svc'] }, minVersion: '1.2', maxVersion: '1.3' }),
  );
  const u = await authorize(untrusted, SETTINGS, facts());
  assert.deepEqual(u.kind === 'deny' && [u.outcome, u.status], ['error', 403]);
  assert.equal(rogue.requests.length, 0);
  // failOpen lets the request through, but still never talks to the impostor.
  const open = await authorize(untrusted, { ...SETTINGS, failOpen: true }, facts());
  assert.equal(open.kind, 'allow');
  assert.equal(rogue.requests.length, 0);
});

test('h2 without validation encrypts without verifying, as Contour configures it', async () => {
  const s = await server(() => OK, { tls: pki.rogue });
  const c = client(tlsTarget(s.port, { minVersion: '1.2', maxVersion: '1.3' }));
  assert.equal((await authorize(c, SETTINGS, facts())).kind, 'allow');
  assert.equal(s.authorities[0], 'extension.auth.authz');
});

test('several services: weighted between them, round robin within one', async () => {
  const a1 = await server(() => OK);
  const a2 = await server(() => OK);
  const b = await server(() => OK);
  const c = client({
    name: 'extension/auth/lb',
    protocol: 'h2c',
    loadBalancer: 'RoundRobin',
    services: [
      { weight: 3, endpoints: [{ address: '127.0.0.1', port: a1.port }, { address: '127.0.0.1', port: a2.port }] },
      { weight: 1, endpoints: [{ address: '127.0.0.1', port: b.port }] },
    ],
  });
  for (let i = 0; i < 8; i++) assert.equal((await authorize(c, SETTINGS, facts())).kind, 'allow');
  assert.deepEqual([a1.requests.length, a2.requests.length, b.requests.length], [3, 3, 2]);
});

test('the registry keeps an unchanged client across a config swap and replaces a changed one', async () => {
  const s = await server(() => OK);
  const reg = new AuthzClientRegistry();
  reg.apply([h2c(s.port)]);
  const first = reg.get('extension/auth/authz')!;
  reg.apply([h2c(s.port)]);
  assert.equal(reg.get('extension/auth/authz'), first);
  reg.apply([{ ...h2c(s.port), loadBalancer: 'Random' }]);
  const second = reg.get('extension/auth/authz')!;
  assert.notEqual(second, first);
  const closed = await authorize(first, SETTINGS, facts());
  assert.equal(closed.kind, 'deny', 'a closed client never allows');
  assert.equal((await authorize(second, SETTINGS, facts())).kind, 'allow');
  reg.apply([]);
  assert.equal(reg.get('extension/auth/authz'), undefined);
  reg.close();
});

test('mutations never break the request: pseudo-headers, Host removal and invalid values are skipped', () => {
  const list = ['host', 'a.example.com', 'x-a', '1'];
  const out = mutateHeaderList(
    list,
    [
      { key: ':path', value: '/admin', action: 'set' },
      { key: 'bad name', value: 'x', action: 'set' },
      { key: 'x-crlf', value: 'a\r\nInjected: yes', action: 'set' },
      { key: ':authority', value: 'b.example.com', action: 'set' },
      { key: 'host', value: 'c.example.com', action: 'add' },
      { key: 'content-length', value: '0', action: 'set' },
    ],
    ['host', ':authority', 'x-a', 'connection'],
  );
  assert.deepEqual(out, ['host', 'c.example.com']);
  assert.deepEqual(list, ['host', 'a.example.com', 'x-a', '1'], 'the input list is not modified');
  assert.equal(mutateQuery('', [{ key: 'a&b', value: 'c#d' }], []), 'a%26b=c%23d');
  assert.equal(mutateQuery('a=1', [], []), 'a=1');
});
