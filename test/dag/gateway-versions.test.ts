// The older apiVersions the Gateway API CRDs still serve (v1beta1 of
// GatewayClass, Gateway, HTTPRoute and ReferenceGrant; BackendTLSPolicy
// v1alpha3 of the experimental channel) are read like v1, from YAML through
// the loader and ObjectCache to build(); a version no CRD serves is an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache, combineFiles, loadText } from '../../src/objects/index.ts';
import { build } from '../../src/dag/index.ts';
import { defaultConfig } from '../../src/config/types.ts';
import type { RouteAction } from '../../src/dag/index.ts';
import { createCa } from '../support/pki.ts';
import { conds, parentLines } from './gateway-fixtures.ts';

const ca = await createCa('versions CA');
const indent = (pem: string, n: number) => pem.trim().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

function load(yaml: string) {
  const cache = new ObjectCache();
  const loaded = combineFiles([loadText(yaml, 'gateway.yaml')]);
  cache.replaceAll(loaded.objects, loaded.rejected);
  return { loaded, result: build(cache.snapshot(), defaultConfig()) };
}

const manifests = (version: string, policyVersion: string) => `
apiVersion: gateway.networking.k8s.io/${version}
kind: GatewayClass
metadata: {name: contour, generation: 1}
spec: {controllerName: projectcontour.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/${version}
kind: Gateway
metadata: {name: gw, namespace: infra, generation: 1}
spec:
  gatewayClassName: contour
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/${version}
kind: HTTPRoute
metadata: {name: web, namespace: apps, generation: 1}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [web.example.com]
  rules:
  - backendRefs: [{name: backend, namespace: backends, port: 443}]
---
apiVersion: gateway.networking.k8s.io/${version}
kind: ReferenceGrant
metadata: {name: allow-apps, namespace: backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]
  to: [{group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/${policyVersion}
kind: BackendTLSPolicy
metadata: {name: backend-tls, namespace: backends, generation: 1}
spec:
  targetRefs: [{group: "", kind: Service, name: backend}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}]
    hostname: backend.example.com
---
apiVersion: v1
kind: ConfigMap
metadata: {name: backend-ca, namespace: backends}
data:
  ca.crt: |
${indent(ca.certPem, 4)}
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: backends}
spec:
  ports: [{name: https, port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: backend, namespace: backends}
subsets:
- addresses: [{ip: 127.0.0.1}]
  ports: [{name: https, port: 8443}]
`;

for (const [version, policyVersion] of [
  ['v1', 'v1'],
  ['v1beta1', 'v1alpha3'],
] as const) {
  test(`Gateway API ${version} (BackendTLSPolicy ${policyVersion}): read, accepted and routed with the grant and the policy`, () => {
    const { loaded, result } = load(manifests(version, policyVersion));
    assert.deepEqual(loaded.warnings, []);
    assert.deepEqual(loaded.errors, []);
    const api = result.gatewayApi!;
    assert.deepEqual(api.gatewayclasses.map((c) => conds(c.conditions)), [['Accepted=True/Accepted', 'SupportedVersion=True/SupportedVersion']]);
    assert.deepEqual(api.gateways.map((g) => conds(g.conditions)), [['Accepted=True/Accepted', 'Programmed=True/Programmed']]);
    assert.deepEqual(parentLines(api.httproutes[0]!), ['infra/gw: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs']);
    assert.deepEqual(api.backendtlspolicies.map((p) => p.ancestors.map((a) => conds(a.conditions))), [[['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']]]);
    const vh = result.proxyConfig.httpVirtualHosts.find((v) => v.fqdn === 'web.example.com')!;
    const action = vh.routes[0]!.action as Extract<RouteAction, { kind: 'forward' }>;
    const cluster = result.proxyConfig.clusters.find((c) => c.name === action.clusters[0]!.cluster)!;
    assert.equal(cluster.protocol, 'tls');
    assert.deepEqual(cluster.tls?.validation?.subjectNames, ['backend.example.com']);
    assert.deepEqual(cluster.endpoints, [{ address: '127.0.0.1', port: 8443 }]);
  });
}

test('a Gateway API version no CRD serves (v1alpha1 Gateway, v1beta1 BackendTLSPolicy) is an error naming the versions read, and the object is not read', () => {
  const { loaded, result } = load(manifests('v1', 'v1beta1').replace('gateway.networking.k8s.io/v1\nkind: Gateway\n', 'gateway.networking.k8s.io/v1alpha1\nkind: Gateway\n'));
  assert.deepEqual(loaded.warnings, []);
  assert.deepEqual(
    loaded.errors.map((w) => w.message),
    [
      'Gateway (gateway.networking.k8s.io/v1alpha1): not a version isobar reads, nor one the API server serves; use apiVersion gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1',
      'BackendTLSPolicy (gateway.networking.k8s.io/v1beta1): not a version isobar reads, nor one the API server serves; use apiVersion gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1alpha3',
    ],
  );
  assert.deepEqual(result.gatewayApi!.gateways, []);
  assert.deepEqual(result.gatewayApi!.httproutes, []);
});
