// `isobar check` and `isobar status -o table` on Gateway API objects: a
// listener not programmed, a route with an unresolved backend and a policy
// not accepted fail the check, each named with its condition; the table
// shows Gateways, routes and policies the way kubectl lists them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/isobar.js');

function isobar(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ISOBAR_STATE_DIR: '' } }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout });
    });
  });
}

/** Contour's GatewayClass and the Gateway infra/gw with these listeners. */
const classAndGateway = (listeners: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: contour}
spec: {controllerName: projectcontour.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: contour
  listeners: [${listeners}]
`;

const GOOD = `${classAndGateway('{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}')}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: apps}
spec: {ports: [{port: 80}]}
`;

const BAD = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other, namespace: infra}
spec:
  gatewayClassName: contour
  listeners: [{name: odd, port: 8080, protocol: UDP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [broken.example.com]
  rules: [{backendRefs: [{name: missing, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: pol, namespace: apps}
spec:
  targetRefs: [{group: "", kind: Service, name: web}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: nope}], hostname: web.example.com}
`;

test('check: valid Gateway API objects pass; a listener not programmed, an unresolved backend and a policy not accepted fail, named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'isobar-gw-check-'));
  try {
    await writeFile(join(dir, 'good.yaml'), GOOD);
    const ok = await isobar(['check', dir]);
    assert.equal(ok.code, 0, ok.stdout);
    await writeFile(join(dir, 'bad.yaml'), BAD);
    const bad = await isobar(['check', dir]);
    assert.equal(bad.code, 1);
    const lines = bad.stdout.trim().split('\n');
    assert.ok(lines.includes('Gateway infra/other: listener odd: Accepted UnsupportedProtocol: isobar does not serve UDP listeners; use HTTP, HTTPS, TLS or TCP'), bad.stdout);
    assert.ok(lines.includes('HTTPRoute apps/broken: parent infra/gw: ResolvedRefs BackendNotFound: backendRef service "apps/missing" not found'), bad.stdout);
    assert.ok(lines.includes('BackendTLSPolicy apps/pol: ancestor infra/gw: Accepted NoValidCACertificate: no caCertificateRef names a valid CA certificate'), bad.stdout);
    assert.match(lines.at(-1)!, /Gateway API error\(s\)/);

    const table = await isobar(['status', dir, '-o', 'table']);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /NAMESPACE\s+GATEWAY\s+ADDRESS\s+ACCEPTED\s+PROGRAMMED/);
    assert.match(table.stdout, /infra\s+gw\s+True\s+True\s+http \(2\)/);
    assert.match(table.stdout, /apps\s+broken\s+HTTPRoute\s+infra\/gw\s+True\s+False \(BackendNotFound\)/);
    assert.match(table.stdout, /apps\s+pol\s+infra\/gw\s+False \(NoValidCACertificate\)\s+False \(InvalidCACertificateRef\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('status -o json lists tcproutes with their parents; check names a TCPRoute whose backend does not resolve; the table lists it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'isobar-gw-tcp-'));
  try {
    await writeFile(
      join(dir, 'tcp.yaml'),
      `${classAndGateway('{name: tcp, port: 5000, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}')}---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: db, namespace: apps, generation: 4}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: tcp}]
  rules: [{backendRefs: [{name: missing, port: 3000}]}]
`,
    );
    const json = await isobar(['status', dir, '-o', 'json']);
    const report = JSON.parse(json.stdout) as { tcproutes: { namespace: string; name: string; parents: { parentRef: Record<string, unknown>; conditions: { type: string; status: string; reason: string; observedGeneration: number }[] }[] }[]; gateways: { listeners: { attachedRoutes: number }[] }[] };
    assert.deepEqual(
      report.tcproutes.map((r) => ({ ns: r.namespace, name: r.name, parents: r.parents.map((p) => [p.parentRef.sectionName, ...p.conditions.map((c) => `${c.type}=${c.status}/${c.reason}@${c.observedGeneration}`)]) })),
      [{ ns: 'apps', name: 'db', parents: [['tcp', 'Accepted=True/Accepted@4', 'ResolvedRefs=False/BackendNotFound@4']] }],
    );
    assert.equal(report.gateways[0]!.listeners[0]!.attachedRoutes, 1);
    const check = await isobar(['check', dir]);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^TCPRoute apps\/db: parent infra\/gw\/tcp: ResolvedRefs BackendNotFound: /m);
    const table = await isobar(['status', dir, '-o', 'table']);
    assert.match(table.stdout, /apps\s+db\s+TCPRoute\s+infra\/gw\/tcp\s+True\s+False \(BackendNotFound\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
