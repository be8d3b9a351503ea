// The whole path a manifests folder takes (loader -> cache -> edge.build,
// which runs the dag and the balancer model -> rendering) never throws on
// mangled input: every failure ends up as a load error, a rejected object
// or a status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadText, combineFiles, ObjectCache } from '../../src/objects/index.ts';
import { defaultConfig } from '../../src/config/index.ts';
import { build, statusReport } from '../../src/edge/index.ts';
import { renderJson, renderTable, renderYaml } from '../../src/status/index.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const manifest = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: root, namespace: apps}
spec:
  virtualhost:
    fqdn: web.example.com
    tls: {secretName: web-tls}
  includes:
  - name: child
    conditions: [{prefix: /api}]
  routes:
  - conditions: [{prefix: /}, {header: {name: x-a, exact: b}}]
    services:
    - name: web
      port: 443
      protocol: tls
      weight: 90
      validation: {caSecret: ca, subjectName: web.apps.svc, subjectNames: [web.apps.svc]}
    - {name: web, port: 80, weight: 10}
    timeoutPolicy: {response: 10s}
    retryPolicy: {count: 2, retryOn: [5xx]}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: child, namespace: apps}
spec:
  routes:
  - services: [{name: web, port: 80}]
    pathRewritePolicy: {replacePrefix: [{replacement: /}]}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: apps
  annotations:
    projectcontour.io/upstream-protocol.tls: "443"
spec:
  ports: [{name: https, port: 443, targetPort: 8443}, {name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: edge
  namespace: apps
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip
    service.beta.kubernetes.io/aws-load-balancer-ssl-ports: "443"
    service.beta.kubernetes.io/aws-load-balancer-proxy-protocol: "*"
spec:
  type: LoadBalancer
  ports: [{name: https, port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: apps}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: https, port: 8443}, {name: http, port: 8080}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: edge-1, namespace: apps, labels: {kubernetes.io/service-name: edge}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
ports: [{name: https, port: 8443}]
---
apiVersion: v1
kind: Secret
metadata: {name: ca, namespace: apps}
data: {ca.crt: ${b64('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')}}
---
apiVersion: v1
kind: Secret
metadata: {name: web-tls, namespace: apps}
type: kubernetes.io/tls
stringData: {tls.crt: "not a cert", tls.key: "not a key"}
---
apiVersion: projectcontour.io/v1
kind: TLSCertificateDelegation
metadata: {name: d, namespace: apps}
spec:
  delegations: [{secretName: ca, targetNamespaces: ["*"]}]
`;

function runPipeline(text: string): void {
  const file = loadText(text, 'm.yaml');
  const merged = combineFiles([file]);
  const cache = new ObjectCache();
  cache.replaceAll(merged.objects, merged.rejected);
  const snapshot = cache.snapshot();
  const config = defaultConfig();
  const edge = build({ snapshot, config, certificates: [], lbAddress: '127.0.0.1', portOffset: 0 });
  const report = statusReport(edge.statuses.httpproxies, edge.statuses.services);
  const json = JSON.parse(renderJson(report)) as { httpproxies: { namespace: string; name: string }[] };
  const keys = json.httpproxies.map((p) => `${p.namespace}/${p.name}`);
  // By namespace, then name (as kubectl lists them): "apps" before "apps-", whatever "/" sorts as.
  const byNamespace = [...json.httpproxies].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  assert.deepEqual(keys, byNamespace.map((p) => `${p.namespace}/${p.name}`), 'sorted');
  // every HTTPProxy that loaded, valid or rejected, has a status (no ingress class in play here)
  const expected = new Set([...snapshot.httpproxies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`), ...snapshot.rejected.filter((r) => r.kind === 'HTTPProxy').map((r) => `${r.namespace}/${r.name}`)]);
  assert.deepEqual(new Set(keys), expected);
  renderYaml(report);
  renderTable(report, { services: snapshot.services });
  JSON.stringify(edge.proxyConfig);
  JSON.stringify(edge.balancerConfig);
}

test('the unmangled manifests go through cleanly', () => {
  const file = loadText(manifest, 'm.yaml');
  assert.deepEqual(file.errors, []);
  assert.deepEqual(file.warnings, []);
  runPipeline(manifest);
});

test('the status lists HTTPProxies by namespace, then name: a namespace "apps-" after "apps" (found by the property below)', () => {
  const at = 1427140081 % (manifest.length + 1);
  runPipeline(manifest.slice(0, at) + '-' + manifest.slice(at));
});

test('property: mangled manifests never throw anywhere on the way to a status', () => {
  const mutation = fc.record({
    at: fc.nat(),
    del: fc.nat({ max: 12 }),
    ins: fc.constantFrom('', ' ', '\n', '-', ':', '[', ']', '{', '}', '"', '0', '65536', '-1', 'x', '/', '*', 'null', '---\n', 'tls', 'h2c', '\n  - name: web\n    port: 80\n'),
  });
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), (muts) => {
      let text = manifest;
      for (const m of muts) {
        const at = m.at % (text.length + 1);
        text = text.slice(0, at) + m.ins + text.slice(at + m.del);
      }
      runPipeline(text);
    }),
    { numRuns: 300 },
  );
});
