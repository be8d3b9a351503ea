// BackendTLSPolicy: what a policy makes of its target Service's clusters
// (SNI, CA, subject names, the Gateway's client certificate) and its status
// on each ancestor Gateway. Conformance scenarios: BackendTLSPolicy,
// BackendTLSPolicySANValidation, BackendTLSPolicyInvalidCACertificateRef,
// BackendTLSPolicyInvalidKind, BackendTLSPolicyConflictResolution,
// BackendTLSPolicyObservedGenerationBump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, BackendTLSPolicy } from '../../src/objects/types.ts';
import type { DagResult, RouteAction } from '../../src/dag/index.ts';
import { createCa } from '../support/pki.ts';
import { endpoints, secret, service, tlsSecret, vhost } from './fixtures.ts';
import { GROUP, gateway, gatewayClass, http, httpRoute, runGw, toGw } from './gateway-fixtures.ts';

const ca = await createCa('backend tls CA');
const client = await ca.issue({ dnsNames: ['client.example.com'] });

function configMap(name: string, data: Record<string, string>, namespace = 'default'): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

function policy(name: string, spec: Record<string, unknown>, creation = '2024-01-01T00:00:00Z'): BackendTLSPolicy {
  return { apiVersion: `${GROUP}/v1`, kind: 'BackendTLSPolicy', metadata: { name, namespace: 'default', generation: 4, creationTimestamp: creation }, spec: spec as BackendTLSPolicy['spec'] };
}

const target = (extra: Record<string, unknown> = {}) => ({ group: '', kind: 'Service', name: 's', ...extra });
const base = [
  gatewayClass(),
  gateway('gw', [http()]),
  service('s', [{ port: 443, name: 'https' }, { port: 8443, name: 'other' }]),
  endpoints('s', ['127.0.0.1'], 9443, 'default', 'https'),
  httpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [{ name: 's', port: 443 }] }] }),
  configMap('ca', { 'ca.crt': ca.certPem }),
];

function clusterOf(r: DagResult) {
  const a = vhost(r, '*')!.routes[0]!.action as Extract<RouteAction, { kind: 'forward' }>;
  assert.equal(a.kind, 'forward');
  const w = a.clusters[0]!;
  return { weighted: w, cluster: r.proxyConfig.clusters.find((c) => c.name === w.cluster) };
}

const policyLine = (r: DagResult) =>
  Object.fromEntries(r.gatewayApi!.backendtlspolicies.map((p) => [p.name, p.ancestors.map((a) => `${a.ancestorRef.namespace}/${a.ancestorRef.name}: ${a.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).join(' ')}`)]));

test('a policy with a ConfigMap CA and a hostname: TLS to the target with that SNI, CA and subject name; Accepted on the Gateway', () => {
  const r = runGw([...base, policy('p', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'backend.example.com' } })]);
  const { cluster } = clusterOf(r);
  assert.equal(cluster!.protocol, 'tls');
  assert.deepEqual(cluster!.tls, { sni: 'backend.example.com', validation: { caBundleId: 'backendtlspolicy:default/configmap/ca', subjectNames: ['backend.example.com'] }, minVersion: '1.2', maxVersion: '1.3' });
  assert.equal(r.proxyConfig.caBundles.find((b) => b.id === 'backendtlspolicy:default/configmap/ca')!.caPem.trim(), ca.certPem.trim());
  assert.deepEqual(policyLine(r), { p: ['infra/gw: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'] });
  assert.equal(r.gatewayApi!.backendtlspolicies[0]!.ancestors[0]!.conditions[0]!.observedGeneration, 4);
  assert.equal(r.gatewayApi!.httproutes[0]!.parents[0]!.conditions[1]!.status, 'True');
});

test('subjectAltNames of type Hostname replace the hostname as the names checked; a Secret CA works too', () => {
  const r = runGw([
    ...base,
    secret('ca-secret', { 'ca.crt': ca.certPem }),
    policy('p', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: '', kind: 'Secret', name: 'ca-secret' }], hostname: 'sni.example.com', subjectAltNames: [{ type: 'Hostname', hostname: 'san.example.com' }] } }),
  ]);
  const { cluster } = clusterOf(r);
  assert.equal(cluster!.tls!.sni, 'sni.example.com');
  assert.deepEqual(cluster!.tls!.validation, { caBundleId: 'backendtlspolicy:default/secret/ca-secret', subjectNames: ['san.example.com'] });
});

test('subjectAltNames of type URI: checked exactly, beside the Hostname ones; the hostname is then only the SNI (BackendTLSPolicySANValidation)', () => {
  const v = (sans: unknown[]) => ({ caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'abc.example.com', subjectAltNames: sans });
  const only = clusterOf(runGw([...base, policy('p', { targetRefs: [target()], validation: v([{ type: 'URI', uri: 'spiffe://abc.example.com/test-identity' }]) })])).cluster!.tls!;
  assert.equal(only.sni, 'abc.example.com');
  assert.deepEqual(only.validation, { caBundleId: 'backendtlspolicy:default/configmap/ca', subjectNames: [], uriSubjectNames: ['spiffe://abc.example.com/test-identity'] });
  const multi = clusterOf(runGw([...base, policy('p', { targetRefs: [target()], validation: v([{ type: 'Hostname', hostname: 'dce.example.com' }, { type: 'URI', uri: 'spiffe://abc.example.com/x' }]) })])).cluster!.tls!;
  assert.deepEqual(multi.validation, { caBundleId: 'backendtlspolicy:default/configmap/ca', subjectNames: ['dce.example.com'], uriSubjectNames: ['spiffe://abc.example.com/x'] });
});

test('wellKnownCACertificates System: the system roots', () => {
  const r = runGw([...base, policy('p', { targetRefs: [target()], validation: { wellKnownCACertificates: 'System', hostname: 'backend.example.com' } })]);
  const { cluster } = clusterOf(r);
  assert.equal(cluster!.tls!.validation!.caBundleId, 'isobar/system-ca');
  assert.ok(r.proxyConfig.caBundles.find((b) => b.id === 'isobar/system-ca')!.caPem.includes('BEGIN CERTIFICATE'));
});

const failing: [name: string, spec: Record<string, unknown>, extra: unknown[], line: string][] = [
  ['a ConfigMap that does not exist', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'nope' }], hostname: 'b.example.com' } }, [], 'Accepted=False/NoValidCACertificate ResolvedRefs=False/InvalidCACertificateRef'],
  ['a ConfigMap without a valid ca.crt', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'junk' }], hostname: 'b.example.com' } }, [configMap('junk', { 'ca.crt': 'not a certificate' })], 'Accepted=False/NoValidCACertificate ResolvedRefs=False/InvalidCACertificateRef'],
  ['a CA reference of another kind', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: 'example.com', kind: 'Bundle', name: 'x' }], hostname: 'b.example.com' } }, [], 'Accepted=False/NoValidCACertificate ResolvedRefs=False/InvalidKind'],
  ['a URI subjectAltName that is not a URI', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'b.example.com', subjectAltNames: [{ type: 'URI', uri: 'no scheme' }] } }, [], 'Accepted=False/Invalid ResolvedRefs=True/ResolvedRefs'],
  ['a subjectAltName of an unknown type', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'b.example.com', subjectAltNames: [{ type: 'IPAddress', ipAddress: '10.0.0.1' }] } }, [], 'Accepted=False/Invalid ResolvedRefs=True/ResolvedRefs'],
  ['an unknown wellKnownCACertificates', { targetRefs: [target()], validation: { wellKnownCACertificates: 'example.com/mine', hostname: 'b.example.com' } }, [], 'Accepted=False/Invalid ResolvedRefs=True/ResolvedRefs'],
  ['options', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'b.example.com' }, options: { 'example.com/x': 'y' } }, [], 'Accepted=False/Invalid ResolvedRefs=True/ResolvedRefs'],
];

for (const [name, spec, extra, line] of failing) {
  test(`${name}: the policy is not valid (${line}) and its target answers 500, never unvalidated`, () => {
    const r = runGw([...base, ...(extra as never[]), policy('p', spec)]);
    assert.deepEqual(policyLine(r), { p: [`infra/gw: ${line}`] });
    const { weighted, cluster } = clusterOf(r);
    assert.equal(weighted.directStatus, 500);
    assert.equal(cluster, undefined);
    assert.ok(!r.proxyConfig.clusters.some((c) => c.service === 's'), 'no cluster reaches the target');
  });
}

test('sectionName targets one port by name; the other port is plain', () => {
  const r = runGw([
    ...base,
    httpRoute('r2', { parentRefs: [toGw()], hostnames: ['other.example.com'], rules: [{ backendRefs: [{ name: 's', port: 8443 }] }] }),
    policy('p', { targetRefs: [target({ sectionName: 'https' })], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'b.example.com' } }),
  ]);
  assert.equal(clusterOf(r).cluster!.protocol, 'tls');
  const other = vhost(r, 'other.example.com')!.routes[0]!.action as Extract<RouteAction, { kind: 'forward' }>;
  assert.equal(r.proxyConfig.clusters.find((c) => c.name === other.clusters[0]!.cluster)!.protocol, 'http1');
});

test('two policies for one target: the older wins, the younger is Conflicted', () => {
  const v = { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }] };
  const r = runGw([...base, policy('young', { targetRefs: [target()], validation: { ...v, hostname: 'young.example.com' } }, '2024-03-01T00:00:00Z'), policy('old', { targetRefs: [target()], validation: { ...v, hostname: 'old.example.com' } }, '2024-02-01T00:00:00Z')]);
  assert.equal(clusterOf(r).cluster!.tls!.sni, 'old.example.com');
  // The conflicted one is reported under the Gateway whose route reaches the target (BackendTLSPolicyConflictResolution).
  assert.deepEqual(policyLine(r), { old: ['infra/gw: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'], young: ['infra/gw: Accepted=False/Conflicted ResolvedRefs=True/ResolvedRefs'] });
});

test('conflicts by section name, as BackendTLSPolicyConflictResolution has them: the same section conflicts, a section and the whole Service do not', () => {
  const v = (hostname: string) => ({ caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname });
  const routes = [
    httpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [{ name: 's', port: 443 }] }] }),
    httpRoute('r2', { parentRefs: [toGw()], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/other' } }], backendRefs: [{ name: 's', port: 8443 }] }] }),
  ];
  const objects = [...base.filter((o) => o.kind !== 'HTTPRoute'), ...routes];
  const same = runGw([...objects, policy('first', { targetRefs: [target({ sectionName: 'https' })], validation: v('a.example.com') }, '2024-01-01T00:00:00Z'), policy('second', { targetRefs: [target({ sectionName: 'https' })], validation: v('b.example.com') }, '2024-01-02T00:00:00Z')]);
  assert.deepEqual(policyLine(same), { first: ['infra/gw: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'], second: ['infra/gw: Accepted=False/Conflicted ResolvedRefs=True/ResolvedRefs'] });
  const mixed = runGw([...objects, policy('section', { targetRefs: [target({ sectionName: 'https' })], validation: v('a.example.com') }, '2024-01-01T00:00:00Z'), policy('whole', { targetRefs: [target()], validation: v('b.example.com') }, '2024-01-02T00:00:00Z')]);
  assert.deepEqual(policyLine(mixed), { section: ['infra/gw: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'], whole: ['infra/gw: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'] });
  const sni = (r: DagResult) => r.proxyConfig.clusters.filter((c) => c.tls).map((c) => c.tls!.sni).sort();
  assert.deepEqual(sni(mixed), ['a.example.com', 'b.example.com'], 'port https by its own policy, port other by the whole-Service one');
});

test('the Gateway\'s backendTLS.clientCertificateRef is the client certificate shown to validated backends', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [http()], { spec: { backendTLS: { clientCertificateRef: { name: 'client' } } } }),
    tlsSecret('client', client, 'infra'),
    ...base.slice(2),
    policy('p', { targetRefs: [target()], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'b.example.com' } }),
  ]);
  assert.equal(clusterOf(r).cluster!.tls!.clientCertificateId, 'infra/client');
  assert.ok(r.proxyConfig.secrets.some((s) => s.id === 'infra/client'));
  assert.deepEqual(
    r.gatewayApi!.gateways[0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
    ['Accepted=True/Accepted', 'Programmed=True/Programmed', 'ResolvedRefs=True/ResolvedRefs'],
  );
});

test('a client certificate Secret that is missing: ResolvedRefs False InvalidClientCertificateRef on the Gateway', () => {
  const r = runGw([gatewayClass(), gateway('gw', [http()], { spec: { backendTLS: { clientCertificateRef: { name: 'nope' } } } }), ...base.slice(2)]);
  assert.deepEqual(
    r.gatewayApi!.gateways[0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
    ['Accepted=True/Accepted', 'Programmed=True/Programmed', 'ResolvedRefs=False/InvalidClientCertificateRef'],
  );
});

test('a Service that asks for TLS (appProtocol https) without a policy: ResolvedRefs False UnsupportedProtocol', () => {
  const r = runGw([gatewayClass(), gateway('gw', [http()]), service('s', [{ port: 443, appProtocol: 'https' }]), endpoints('s', ['127.0.0.1'], 9443), httpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [{ name: 's', port: 443 }] }] })]);
  assert.equal(r.gatewayApi!.httproutes[0]!.parents[0]!.conditions[1]!.reason, 'UnsupportedProtocol');
  assert.equal(clusterOf(r).weighted.directStatus, 500);
});
