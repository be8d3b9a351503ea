// The admin server's page and the JSON it reads, on a real socket: the
// graph of a build (statuses, shares, certificates with days to expiry),
// one node's conditions and config, the event stream (the graph again when
// it changes), the page's files, and never a private key in any answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa } from '../support/pki.ts';
import { buildReport, type Report } from '../../src/edge/index.ts';
import { startAdminServer, type EdgeGraph, type EdgeView } from '../../src/admin/index.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const MANIFESTS = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: apps}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: apps}
subsets: [{addresses: [{ip: 10.0.0.5}, {ip: 10.0.0.6}], ports: [{port: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: apps}
spec: {ports: [{port: 80}]}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: shop, namespace: apps}
spec:
  virtualhost: {fqdn: shop.example.test, tls: {secretName: shop-tls}}
  routes:
  - conditions: [{prefix: /api}, {header: {name: x-env, exact: prod}}]
    services: [{name: web, port: 80, weight: 75}, {name: empty, port: 80, weight: 25}]
  - services: [{name: web, port: 80}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: broken, namespace: apps}
spec:
  virtualhost: {fqdn: broken.example.test}
  includes: [{name: nowhere}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: stray, namespace: apps}
spec:
  routes: [{services: [{name: web, port: 80}]}]
`;

async function build(t: { after(fn: () => Promise<void>): void }, extra = '', notAfterDays = 90): Promise<{ report: Report; keyPem: string; dir: string; state: string }> {
  const base = await mkdtemp(join(tmpdir(), 'isobar-admin-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'm');
  await mkdir(dir);
  const leaf = await (await createCa()).issue({ dnsNames: ['shop.example.test'], notAfterDays });
  const secret = `apiVersion: v1\nkind: Secret\nmetadata: {name: shop-tls, namespace: apps}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ${b64(leaf.certPem)}\n  tls.key: ${b64(leaf.keyPem)}\n`;
  await writeFile(join(dir, 'all.yaml'), `${MANIFESTS}---\n${secret}${extra}`);
  const state = join(base, 'state');
  return { report: await buildReport(dir, { stateDir: state }), keyPem: leaf.keyPem, dir, state };
}

function view(r: Report, version = 1): EdgeView {
  return {
    version,
    proxyConfig: r.proxyConfig,
    balancerConfig: r.balancerConfig,
    proxyListeners: [
      { name: 'http', address: '0.0.0.0', port: 8080, tls: false, proxyProtocol: false },
      { name: 'https', address: '0.0.0.0', port: 8443, tls: true, proxyProtocol: false },
    ],
  };
}

async function get(port: number, path: string): Promise<{ status: number; type: string; body: string; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), headers: res.headers };
}

test('the graph: every object with its status, shares on the edges, red for invalid and orphaned HTTPProxies', async (t) => {
  const { report } = await build(t);
  const admin = await startAdminServer({ host: '127.0.0.1', port: 0, ready: () => true, report: async () => report.status, edge: () => view(report) });
  t.after(() => admin.close());
  const r = await get(admin.port, '/api/graph');
  assert.equal(r.status, 200);
  const g = JSON.parse(r.body) as EdgeGraph;
  const node = (id: string) => g.nodes.find((n) => n.id === id);
  const status = (id: string) => node(id)?.status;

  assert.equal(status('vh:https/shop.example.test'), 'ok');
  assert.equal(status('vh:http/shop.example.test'), 'ok', 'the plain side of a TLS virtual host (its routes redirect)');
  assert.equal(node('rt:https/shop.example.test/0')?.label, 'prefix /api, header x-env exact prod');
  const shares = g.edges.filter((e) => e.from === 'rt:https/shop.example.test/0').map((e) => [e.to.replace(/\/[0-9a-f]+$/, ''), e.label]);
  assert.deepEqual(shares, [['cl:apps/web/80', '75%'], ['cl:apps/empty/80', '25%']]);
  assert.equal(g.nodes.find((n) => n.kind === 'cluster' && n.label === 'apps/empty:80')?.status, 'error', 'a cluster without endpoints');
  assert.deepEqual(g.nodes.filter((n) => n.kind === 'endpoint').map((n) => n.label).sort(), ['10.0.0.5:8080', '10.0.0.6:8080']);

  // HTTPProxies: the invalid root and the orphan are red, with their error.
  assert.equal(status('hp:apps/shop'), 'ok');
  assert.equal(status('hp:apps/broken'), 'error');
  assert.match(node('hp:apps/broken')!.message!, /include apps\/nowhere not found/);
  assert.equal(status('hp:apps/stray'), 'error');
  assert.equal(node('hp:apps/stray')!.message, 'this HTTPProxy is not part of a delegation chain from a root HTTPProxy');
  assert.deepEqual(g.summary.httpproxies, { valid: 1, invalid: 1, orphaned: 1 });

  // The certificate, with its days to expiry, joined to its virtual host.
  const cert = node('cert:secret/apps/shop-tls')!;
  assert.equal(cert.kind, 'certificate');
  assert.equal(cert.label, 'shop.example.test');
  assert.ok(cert.daysToExpiry === 89 || cert.daysToExpiry === 90, `days to expiry: ${cert.daysToExpiry}`);
  assert.equal(cert.status, 'ok');
  assert.ok(g.edges.some((e) => e.from === 'vh:https/shop.example.test' && e.to === cert.id));
});

test('a certificate that expires within 30 days is amber, and counted', async (t) => {
  const { report } = await build(t, '', 10);
  const admin = await startAdminServer({ host: '127.0.0.1', port: 0, ready: () => true, report: async () => report.status, edge: () => view(report) });
  t.after(() => admin.close());
  const g = JSON.parse((await get(admin.port, '/api/graph')).body) as EdgeGraph;
  const cert = g.nodes.find((n) => n.id === 'cert:secret/apps/shop-tls')!;
  assert.equal(cert.status, 'warning');
  assert.match(cert.message ?? '', /^expires in (9|10) days$/);
  assert.equal(g.summary.certificatesExpiring, 1);
});

test("a node's detail: its HTTPProxy's conditions and its config, without any private key", async (t) => {
  const { report, keyPem } = await build(t);
  const admin = await startAdminServer({ host: '127.0.0.1', port: 0, ready: () => true, report: async () => report.status, edge: () => view(report) });
  t.after(() => admin.close());
  const vh = JSON.parse((await get(admin.port, `/api/object?id=${encodeURIComponent('vh:https/shop.example.test')}`)).body);
  assert.deepEqual(vh.httpproxies.map((p: { name: string }) => p.name), ['shop']);
  assert.equal(vh.config.secretId, 'apps/shop-tls');
  const broken = JSON.parse((await get(admin.port, `/api/object?id=${encodeURIComponent('hp:apps/broken')}`)).body);
  assert.equal(broken.httpproxies[0].conditions[0].errors[0].reason, 'IncludeNotFound');

  const keyLine = keyPem.split('\n')[1]!;
  const all = [...(JSON.parse((await get(admin.port, '/api/graph')).body) as EdgeGraph).nodes.map((n) => n.id)];
  for (const id of all) {
    const d = await get(admin.port, `/api/object?id=${encodeURIComponent(id)}`);
    assert.equal(d.status, 200, id);
    assert.ok(!d.body.includes('PRIVATE KEY') && !d.body.includes(keyLine), `${id} leaks a key`);
  }
  const config = await get(admin.port, '/api/config');
  assert.ok(config.body.includes('[redacted]') && !config.body.includes(keyLine) && !config.body.includes('PRIVATE KEY'));
  assert.equal((await get(admin.port, '/api/object?id=vh:http/nope')).status, 404);
  assert.equal((await get(admin.port, '/api/object')).status, 400);
});

test('the page and its modules are served; nothing outside the page folder is', async (t) => {
  const { report } = await build(t);
  const admin = await startAdminServer({ host: '127.0.0.1', port: 0, ready: () => true, report: async () => report.status, edge: () => view(report) });
  t.after(() => admin.close());
  const page = await get(admin.port, '/');
  assert.equal(page.status, 200);
  assert.match(page.type, /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  for (const src of [...page.body.matchAll(/(?:src|href)="(\/page\/[^"]+)"/g)].map((m) => m[1]!)) {
    const f = await get(admin.port, src);
    assert.equal(f.status, 200, src);
  }
  const app = await get(admin.port, '/page/app.js');
  assert.match(app.type, /^text\/javascript/);
  for (const m of app.body.matchAll(/from '\.\/([a-z-]+\.js)'/g)) assert.equal((await get(admin.port, `/page/${m[1]}`)).status, 200, m[1]);
  for (const bad of ['/page/../server.ts', '/page/%2e%2e/server.ts', '/page/graph.ts', '/page/.hidden.js', '/page/x/../../index.ts']) {
    assert.equal((await get(admin.port, bad)).status, 404, bad);
  }
});

test('the event stream sends the graph, then again only when it changes', async (t) => {
  const one = await build(t);
  const two = await build(t, `---\napiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: late, namespace: apps}\nspec:\n  virtualhost: {fqdn: late.example.test}\n  routes: [{services: [{name: web, port: 80}]}]\n`);
  let current = { report: one.report, version: 1 };
  const admin = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
    report: async () => current.report.status,
    edge: () => view(current.report, current.version),
    eventIntervalMs: 50,
  });
  t.after(() => admin.close());
  const graphs: EdgeGraph[] = [];
  const req = http.get({ host: '127.0.0.1', port: admin.port, path: '/api/events' });
  t.after(() => req.destroy());
  const res = await new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
  assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (d: string) => {
    buf += d;
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = /^event: graph\ndata: (.*)$/s.exec(block);
      if (data) graphs.push(JSON.parse(data[1]!) as EdgeGraph);
    }
  });
  const until = async (what: string, ok: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until('the first graph', () => graphs.length >= 1);
  assert.equal(graphs[0]!.version, 1);
  // Ticks with nothing changed send nothing new (at most the first tick's repeat).
  await new Promise((r) => setTimeout(r, 400));
  const settled = graphs.length;
  assert.ok(settled <= 2, `sent ${settled} graphs for no change`);
  current = { report: two.report, version: 2 };
  await until('the changed graph', () => graphs.some((g) => g.version === 2));
  assert.ok(graphs.at(-1)!.nodes.some((n) => n.id === 'vh:http/late.example.test'));
});
