// Which Host a TLS session may ask for on a Gateway's HTTPS listeners,
// through `isobar serve`: the hosts of the listener the SNI chose (its
// routes' names and, for a listener without a hostname, every name no other
// listener claims) are served on it, a route missing being 404; a host of
// another listener is 421. Conformance scenario:
// HTTPRouteHTTPSListenerDetectMisdirectedRequests, its table case for case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa } from '../support/pki.ts';
import { freePort, httpsGet, startServe, waitFor, type ServeProcess } from './support.ts';
import { edgeGateway, serviceAt, tlsSecretYaml } from './gateway-manifests.ts';

const listener = (name: string, hostname?: string) => `  - name: ${name}
    port: 443
    protocol: HTTPS
${hostname ? `    hostname: "${hostname}"\n` : ''}    tls: {certificateRefs: [{name: cert}]}`;

const route = (name: string, section: string, backend: string, hostnames = '') => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: apps}
spec:
  parentRefs: [{name: edge, sectionName: ${section}}]
${hostnames}  rules:
  - matches: [{path: {type: PathPrefix, value: /detect-misdirected-requests}}]
    backendRefs: [{name: ${backend}, port: 80}]
`;

// [SNI, Host, status, backend], as the conformance test has them.
const CASES: [string, string, number, string?][] = [
  ['example.org', 'example.org', 200, 'v1'],
  ['example.org', 'second-example.org', 421],
  ['example.org', 'unknown-example.org', 404],
  ['second-example.org', 'second-example.org', 200, 'v2'],
  ['second-example.org', 'example.org', 421],
  ['second-example.org', 'unknown-example.org', 421],
  ['third-example.wildcard.org', 'third-example.wildcard.org', 200, 'v3'],
  ['third-example.wildcard.org', 'fith-example.wildcard.org', 200, 'v3'],
  ['third-example.wildcard.org', 'fourth-example.wildcard.org', 421],
  ['third-example.wildcard.org', 'second-example.org', 421],
  ['third-example.wildcard.org', 'unknown-example.org', 421],
  ['fourth-example.wildcard.org', 'fourth-example.wildcard.org', 200, 'v1'],
  ['fourth-example.wildcard.org', 'fith-example.wildcard.org', 421],
  ['unknown-example.org', 'example.org', 200, 'v1'],
  ['unknown-example.org', 'unknown-example.org', 404],
];


const get = (port: number, servername: string, host: string, ca: string) => httpsGet({ port, servername, host, path: '/detect-misdirected-requests', ca });

test('HTTPS listeners of one Gateway: a Host of the listener the SNI chose is served (or 404), a Host of another listener 421', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-gateway-misdirected-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const ca = await createCa('misdirected e2e CA');
  const leaf = await ca.issue({ dnsNames: ['example.org', 'second-example.org', '*.wildcard.org', 'unknown-example.org'] });
  const backends = ['v1', 'v2', 'v3'].map((name) => http.createServer((_req, res) => res.end(name)));
  await Promise.all(backends.map((b) => new Promise<void>((resolve) => b.listen(0, '127.0.0.1', resolve))));
  let serve: ServeProcess | undefined;
  try {
    const services = backends.map((b, i) => serviceAt(`backend-v${i + 1}`, (b.address() as AddressInfo).port)).join('---\n');
    await writeFile(join(dir, 'services.yaml'), services);
    await writeFile(
      join(dir, 'gateway.yaml'),
      `${tlsSecretYaml('cert', leaf)}---
${edgeGateway([listener('https'), listener('https-with-hostname', 'second-example.org'), listener('https-with-wildcard-hostname', '*.wildcard.org'), listener('https-with-hostname-matching-wildcard', 'fourth-example.wildcard.org')])}${route('one', 'https', 'backend-v1', '  hostnames: [example.org]\n')}${route('two', 'https-with-hostname', 'backend-v2')}${route('three', 'https-with-wildcard-hostname', 'backend-v3')}${route('four', 'https-with-hostname-matching-wildcard', 'backend-v1')}`,
    );
    const httpsPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(await freePort()), '--https-port', String(httpsPort), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    await waitFor('the routes served', () => get(httpsPort, 'example.org', 'example.org', ca.certPem).then((r) => r.status === 200 || undefined, () => undefined), 15_000);
    const got: string[] = [];
    const want: string[] = [];
    for (const [sni, host, status, backend] of CASES) {
      const r = await get(httpsPort, sni, host, ca.certPem);
      got.push(`${sni} ${host} ${r.status}${r.status === 200 ? ` ${r.body}` : ''}`);
      want.push(`${sni} ${host} ${status}${backend ? ` ${backend}` : ''}`);
    }
    assert.deepEqual(got, want);
    t.diagnostic(`${CASES.length} SNI/Host pairs as the conformance test has them`);
  } finally {
    await serve?.stop();
    await Promise.all(backends.map((b) => new Promise<void>((resolve) => b.close(() => resolve()))));
    await rm(work, { recursive: true, force: true });
  }
});
