// A TLS virtual host "*" (a Gateway HTTPS listener without a hostname)
// answers every SNI no other host names, with its certificate: a name no
// route has gets a TLS session and a 404, not a closed handshake
// (conformance HTTPRouteHTTPSListener).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { createCa } from '../support/pki.ts';
import { cluster, config, ep, httpBackend, route, secureVhost, startProxy, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;

before(async () => {
  const ca = await createCa();
  const cert = await ca.issue({ dnsNames: ['*.example.org', 'example.org'] });
  app = await httpBackend('app');
  p = await startProxy(
    config({
      clusters: [cluster('app', [ep(app)])],
      secrets: [{ id: 'infra/cert', ...cert }],
      httpsVirtualHosts: [secureVhost('*', [], { secretId: 'infra/cert' }), secureVhost('example.org', [route({ to: 'app' })], { secretId: 'infra/cert' })],
    }),
    [{ name: 'https', tls: true }],
  );
});

after(async () => {
  await p.close();
  await app.close();
});

function get(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: p.port('https'), servername: name, headers: { host: name }, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

test('a name no host has: TLS with the "*" host certificate, then 404', async () => {
  assert.equal(await get('unknown-example.org'), 404);
});

test('a name a host has: served', async () => {
  assert.equal(await get('example.org'), 200);
});
