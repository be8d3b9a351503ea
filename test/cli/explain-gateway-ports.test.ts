// `isobar explain` and the Gateway listener ports of their own: a request
// to a port listener (by --listener name or its port) is routed on that
// listener's hosts only, a TCP one says where its TCPRoute forwards, the
// Gateway's load balancer port leads to the port listener, and an unknown
// listener name is a usage error listing the names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport } from '../../src/edge/index.ts';
import { ExplainUsageError, explainRequest, type ExplainInput, type ExplainRequest } from '../../src/cli/explain-request.ts';
import { GATEWAY_CLASS } from '../e2e/gateway-manifests.ts';

/** A Service in apps with one endpoint address. */
const service = (name: string, port: number, ip: string, targetPort: number) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: apps}
spec: {ports: [{port: ${port}, targetPort: ${targetPort}}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ${name}, namespace: apps}
subsets: [{addresses: [{ip: ${ip}}], ports: [{port: ${targetPort}}]}]
`;

const MANIFESTS = [
  GATEWAY_CLASS,
  `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: apps}
spec:
  gatewayClassName: contour
  infrastructure: {annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}}
  listeners: [{name: main, port: 80, protocol: HTTP}, {name: second, port: 81, protocol: HTTP}, {name: tcp, port: 5000, protocol: TCP}]
`,
  `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: on-second, namespace: apps}
spec: {parentRefs: [{name: gw, sectionName: second}], hostnames: [second.example.test], rules: [{backendRefs: [{name: web, port: 80}]}]}
`,
  `apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: db, namespace: apps}
spec: {parentRefs: [{name: gw, sectionName: tcp}], rules: [{backendRefs: [{name: db, port: 3000}]}]}
`,
  service('web', 80, '10.0.0.5', 8080),
  service('db', 3000, '10.0.0.9', 3000),
].join('---\n');

test('explain through Gateway port listeners: by name, by port, through the load balancer, and a TCP one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'isobar-explain-ports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'all.yaml'), MANIFESTS);
  const report = await buildReport(dir, { stateDir: join(dir, '.state') });
  const input: ExplainInput = {
    proxyConfig: report.proxyConfig,
    balancerConfig: report.balancerConfig,
    httpproxies: report.status.httpproxies,
    proxyListeners: [
      { name: 'http', port: 8080, tls: false, proxyProtocol: false },
      { name: 'https', port: 8443, tls: true, proxyProtocol: false },
      ...(report.proxyConfig.listeners ?? []).map((l) => ({ name: l.name, port: l.bindPort, tls: l.protocol === 'https', proxyProtocol: false })),
    ],
  };
  const ask = (extra: Partial<ExplainRequest>) => explainRequest(input, { host: 'second.example.test', path: '/', method: 'GET', headers: [], clientIp: '203.0.113.1', ...extra });

  const byName = ask({ listener: 'http-81' });
  assert.equal(byName.listener?.name, 'http-81');
  assert.equal(byName.virtualHost?.fqdn, 'second.example.test');
  assert.deepEqual(byName.upstream?.clusters.map((c) => c.endpoints), [['10.0.0.5:8080']]);
  const byPort = ask({ port: 8081 });
  assert.equal(byPort.virtualHost?.listener, 'http-81');
  // The proxy's own HTTP listener does not serve the second port's host.
  assert.equal(ask({ listener: 'http' }).reply?.status, 404);

  const lb = ask({ port: 81 });
  assert.equal(lb.loadBalancer?.forwardsTo, 'proxy http-81');
  assert.equal(lb.virtualHost?.listener, 'http-81');

  const tcp = ask({ listener: 'tcp-5000' });
  assert.equal(tcp.connection, 'forwarded as TCP to the TCPRoute of port listener tcp-5000: no HTTP routing');
  assert.deepEqual(tcp.upstream?.clusters.map((c) => c.endpoints), [['10.0.0.9:3000']]);
  assert.equal(ask({ port: 5000 }).loadBalancer?.forwardsTo, 'proxy tcp-5000');

  assert.throws(() => ask({ listener: 'http-99' }), (err: Error) => err instanceof ExplainUsageError && err.message === 'no proxy listener "http-99"; the listeners are: http, https, http-81, tcp-5000');
});
