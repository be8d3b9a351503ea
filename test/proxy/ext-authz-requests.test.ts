// External authorization on real requests through the proxy runtime, with a
// real grpc-js authorization server: allowed requests carry the server's
// header and query mutations upstream, denied ones get the server's answer
// and never reach the upstream, failures are 403 unless failOpen, route
// policies, the body, HTTP/2 and the PROXY header's client address.
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { createCa } from '../support/pki.ts';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { proxySeries, seriesKey } from '../../src/metrics/index.ts';
import type { ExtensionCluster, ExternalAuthorization, Route } from '../../src/dag/index.ts';
import type { CheckRequestMsg, CheckResponseMsg } from '../../src/proxy/ext-authz/index.ts';
import { cluster, config, ep, get, h2Get, httpBackend, route, secureVhost as secureVhostWith, startProxy, vhost, type Backend, type Started } from './fixtures.ts';
import { OK, startAuthzServer, type AuthzServer } from './ext-authz-server.ts';

let app: Backend;
let authz: AuthzServer;
let p: Started;

function extension(name: string, port: number): ExtensionCluster {
  return {
    name,
    namespace: 'auth',
    extensionService: name.split('/')[2]!,
    protocol: 'h2c',
    services: [{ service: 'authz', port: 9000, weight: 0, endpoints: [{ address: '127.0.0.1', port }] }],
    loadBalancer: 'RoundRobin',
    connectTimeoutMs: 2000,
    idleConnectionTimeoutMs: null,
  };
}

const AUTH: ExternalAuthorization = { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 1000, failOpen: false };

/** What the server answers: by the request path. */
function answer(req: CheckRequestMsg): CheckResponseMsg {
  const path = req.attributes.request.http.path;
  if (path.startsWith('/deny')) {
    return {
      status: { code: 7 },
      denied_response: { status: { code: 401 }, headers: [{ header: { key: 'www-authenticate', value: 'Bearer realm="app"' } }], body: 'log in first' },
    };
  }
  if (path.startsWith('/body') && req.attributes.request.http.body !== 'let me in') return { status: { code: 7 } };
  return {
    status: { code: 0 },
    ok_response: {
      headers: [{ header: { key: 'x-user', value: 'alice' }, append: { value: false } }],
      headers_to_remove: ['authorization'],
      response_headers_to_add: [{ header: { key: 'x-authz', value: 'checked' } }],
      query_parameters_to_set: [{ key: 'user', value: 'alice' }],
    },
  };
}

const r = (prefix: string, extra: Partial<Route> = {}): Route =>
  route({ to: 'app', path: { kind: 'prefix', value: prefix }, authorization: { disabled: false, context: { realm: 'staff' } }, ...extra });

before(async () => {
  app = await httpBackend('app');
  authz = await startAuthzServer(answer);
  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  const routes = [
    r('/public', { authorization: { disabled: true, context: {} } }),
    r('/redirect', { httpsRedirect: true }),
    r('/body'),
    r('/deny'),
    r('/'),
  ];
  p = await startProxy(
    config({
      httpVirtualHosts: [
        { ...vhost('app.test', routes), authorization: AUTH },
        { ...vhost('down.test', [r('/')]), authorization: { ...AUTH, extensionCluster: 'extension/auth/down' } },
        { ...vhost('open.test', [r('/')]), authorization: { ...AUTH, extensionCluster: 'extension/auth/down', failOpen: true } },
        { ...vhost('nothing.test', [r('/')]), authorization: { ...AUTH, extensionCluster: 'extension/auth/missing' } },
        {
          ...vhost('small.test', [r('/body')]),
          authorization: { ...AUTH, withRequestBody: { maxRequestBytes: 16, allowPartialMessage: false, packAsBytes: false } },
        },
      ],
      clusters: [cluster('app', [ep(app)])],
      extensionClusters: [extension('extension/auth/authz', authz.port), extension('extension/auth/down', closed)],
    }),
    [{ name: 'http' }, { name: 'pp', proxyProtocol: true }],
  );
});

after(async () => {
  await p.close();
  await authz.close();
  await app.close();
});

function lastSeen() {
  return app.seen.at(-1)!;
}

test('an allowed request reaches the upstream with the server\'s mutations; the client gets its response header', async () => {
  const before = app.seen.length;
  const res = await get(p.port(), '/page?x=1', { host: 'app.test', authorization: 'Basic eDp5', 'x-user': 'mallory' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-authz'], 'checked');
  assert.equal(app.seen.length, before + 1);
  const seen = lastSeen();
  assert.equal(seen.headers['x-user'], 'alice');
  assert.equal(seen.headers.authorization, undefined);
  assert.equal(seen.url, '/page?x=1&user=alice');
  const check = authz.requests.at(-1)!.attributes;
  assert.equal(check.request.http.method, 'GET');
  assert.equal(check.request.http.path, '/page?x=1');
  assert.equal(check.request.http.host, 'app.test');
  assert.equal(check.request.http.scheme, 'http');
  assert.equal(check.request.http.protocol, 'HTTP/1.1');
  assert.equal(check.request.http.headers.authorization, 'Basic eDp5');
  assert.equal(check.request.http.headers['x-forwarded-for'], '127.0.0.1');
  assert.deepEqual({ ...check.context_extensions }, { realm: 'staff' });
  assert.equal(check.source.address.socket_address.address, '127.0.0.1');
});

test('a denied request gets the server\'s status, header and body, and never reaches the upstream', async () => {
  const before = app.seen.length;
  const res = await get(p.port(), '/deny/me', { host: 'app.test' });
  assert.equal(res.status, 401);
  assert.equal(res.body, 'log in first');
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="app"');
  assert.equal(res.headers['content-type'], 'text/plain');
  assert.equal(app.seen.length, before);
  assert.equal(p.logs.at(-1)!.responseFlags, 'UAEX');
});

test('a route that disables authorization sends no Check; a plain request to an https-redirect route is redirected unchecked', async () => {
  const checks = authz.requests.length;
  assert.equal((await get(p.port(), '/public', { host: 'app.test' })).status, 200);
  const red = await get(p.port(), '/redirect', { host: 'app.test' });
  assert.equal(red.status, 301);
  assert.equal(authz.requests.length, checks);
});

test('an unreachable server is 403; failOpen lets the request through; an unknown cluster is 403', async () => {
  const before = app.seen.length;
  assert.equal((await get(p.port(), '/', { host: 'down.test' })).status, 403);
  assert.equal((await get(p.port(), '/', { host: 'nothing.test' })).status, 403);
  assert.equal(app.seen.length, before);
  assert.equal((await get(p.port(), '/', { host: 'open.test' })).status, 200);
  assert.equal(app.seen.length, before + 1);
});

test("counters in the route target cluster's scope, as Envoy's cluster.<name>.ext_authz.*: ok, denied, error, failure_mode_allowed", async () => {
  const read = (): Record<string, number | undefined> => {
    const m = proxySeries(p.proxy.metricsSource(0));
    const labels = { envoy_cluster_name: 'default_app_80' };
    const out: Record<string, number | undefined> = {};
    for (const s of ['ok', 'denied', 'error', 'failure_mode_allowed']) out[s] = m.counters[seriesKey(`envoy_cluster_ext_authz_${s}`, labels)];
    return out;
  };
  const before = read();
  assert.equal((await get(p.port(), '/', { host: 'app.test' })).status, 200);
  assert.equal((await get(p.port(), '/', { host: 'app.test' })).status, 200);
  assert.equal((await get(p.port(), '/deny', { host: 'app.test' })).status, 401);
  assert.equal((await get(p.port(), '/', { host: 'down.test' })).status, 403);
  assert.equal((await get(p.port(), '/', { host: 'nothing.test' })).status, 403);
  assert.equal((await get(p.port(), '/', { host: 'open.test' })).status, 200);
  // No Check: not counted.
  assert.equal((await get(p.port(), '/public', { host: 'app.test' })).status, 200);
  const after = read();
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, (v ?? 0) - (before[k] ?? 0)]));
  assert.deepEqual(delta, { ok: 2, denied: 1, error: 3, failure_mode_allowed: 1 });
});

test('withRequestBody: the server sees the body, the upstream gets it whole; over maxRequestBytes is 413', async () => {
  const ok = await get(p.port(), '/body', { host: 'app.test', 'content-type': 'text/plain' }, 'POST', 'let me in');
  assert.equal(ok.status, 403, 'without withRequestBody the server sees no body');
  const small = await get(p.port(), '/body', { host: 'small.test', 'content-type': 'text/plain' }, 'POST', 'let me in');
  assert.equal(small.status, 200);
  assert.equal(lastSeen().body, 'let me in');
  assert.equal(authz.requests.at(-1)!.attributes.request.http.headers['x-envoy-auth-partial-body'], 'false');
  const before = app.seen.length;
  const big = await get(p.port(), '/body', { host: 'small.test', 'content-type': 'text/plain' }, 'POST', 'let me in, I have a long story');
  assert.equal(big.status, 413);
  assert.equal(app.seen.length, before);
});

test('HTTP/2 requests are checked as HTTP/2', async () => {
  const client = http2.connect(`http://127.0.0.1:${p.port()}`);
  try {
    assert.equal((await h2Get(client, '/h2', 'app.test')).status, 200);
    assert.equal(authz.requests.at(-1)!.attributes.request.http.protocol, 'HTTP/2');
    assert.equal((await h2Get(client, '/deny', 'app.test')).status, 401);
  } finally {
    client.close();
  }
});

test('the Check names the client the PROXY header names', async () => {
  const socket = net.connect({ host: '127.0.0.1', port: p.port('pp') });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(encodeV2({ command: 'PROXY', source: { address: '198.51.100.7', port: 40001 }, destination: { address: '10.0.0.9', port: 80 } }));
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ createConnection: () => socket, path: '/', headers: { host: 'app.test' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  socket.destroy();
  assert.equal(status, 200);
  const { source, destination } = authz.requests.at(-1)!.attributes;
  assert.deepEqual([source.address.socket_address.address, source.address.socket_address.port_value], ['198.51.100.7', 40001]);
  assert.deepEqual([destination.address.socket_address.address, destination.address.socket_address.port_value], ['10.0.0.9', 80], 'the PROXY header destination');
});

test('a config swap keeps the authorization client; a changed server takes effect', async () => {
  const other = await startAuthzServer(() => ({ status: { code: 7 } }));
  try {
    p.proxy.apply(
      config({
        httpVirtualHosts: [{ ...vhost('app.test', [r('/')]), authorization: AUTH }],
        clusters: [cluster('app', [ep(app)])],
        extensionClusters: [extension('extension/auth/authz', other.port)],
      }),
    );
    assert.equal((await get(p.port(), '/', { host: 'app.test' })).status, 403);
    assert.equal(other.requests.length, 1);
  } finally {
    await other.close();
  }
});

test('over TLS with a client certificate: the Check names the client by its certificate and carries it URL-encoded', async () => {
  const edge = await createCa('edge CA');
  const clients = await createCa('client CA');
  const alice = await clients.issue({ commonName: 'alice', dnsNames: ['alice.clients.test'], client: true });
  const serving = await edge.issue({ dnsNames: ['tls.test'] });
  const t = await startProxy(
    config({
      clusters: [cluster('app', [ep(app)])],
      secrets: [{ id: 'd/tls.test', ...serving }],
      caBundles: [{ id: 'd/clients', caPem: clients.certPem }],
      httpsVirtualHosts: [
        {
          ...secureVhostWith('tls.test', [r('/')]),
          secretId: 'd/tls.test',
          clientValidation: { caBundleId: 'd/clients', skipVerification: false, optional: false },
          authorization: AUTH,
        },
      ],
      extensionClusters: [extension('extension/auth/authz', authz.port)],
    }),
    [{ name: 'https', tls: true }],
  );
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: t.port('https'), servername: 'tls.test', headers: { host: 'tls.test' }, ca: edge.certPem, cert: alice.certPem, key: alice.keyPem, agent: false },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
    const a = authz.requests.at(-1)!.attributes;
    assert.equal(a.request.http.scheme, 'https');
    assert.equal(a.source.principal, 'alice.clients.test', 'the DNS SAN, as Envoy names a peer without a URI SAN');
    assert.equal(decodeURIComponent(a.source.certificate!), alice.certPem);
    assert.equal(a.destination.address.socket_address.address, '127.0.0.1');
    assert.equal(a.destination.address.socket_address.port_value, t.port('https'));
  } finally {
    await t.close();
  }
});
