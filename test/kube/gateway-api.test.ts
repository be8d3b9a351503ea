// Kubernetes mode and the Gateway API: the kinds are watched only when the
// API server serves them (a missing CRD is a logged skip, and the source
// still gets ready); with them, the cache holds them with the Secrets
// Gateways name, and the leader writes their status: conditions with a
// lastTransitionTime kept while their status holds, and route parents of
// other controllers kept as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource, StatusWriter } from '../../src/kube/index.ts';
import type { RouteStatus } from '../../src/status/types.ts';
import { startApi, waitFor } from './helpers.ts';

const GW = 'gateway.networking.k8s.io/v1';
const CONTROLLER = 'projectcontour.io/gateway-controller';

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream) as unknown as Logger, lines };
}

test('without the Gateway API CRDs: a logged skip, no Gateway API watch, and the source gets ready', async () => {
  const { api, kubeconfig } = await startApi();
  api.recordRequests = true;
  const { logger, lines } = capture();
  const source = new KubeSource(new ObjectCache(), { kubeconfig, logger });
  try {
    await source.start();
    await waitFor('ready', () => source.ready());
    assert.ok(lines.some((l) => l.includes('Gateway API kinds are not watched')), lines.join(''));
    assert.ok(!api.requests.some((r) => r.path.includes('/apis/gateway.networking.k8s.io/v1/')), 'nothing but discovery asked about the Gateway API');
    assert.ok(!api.requests.some((r) => r.path.endsWith('/configmaps') || r.path.endsWith('/namespaces')), 'Namespaces and ConfigMaps are read only with the Gateway API');
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('with the CRDs: Gateway API objects, the Namespaces, ConfigMaps and the Secrets Gateways name reach the cache', async () => {
  const { api, kubeconfig } = await startApi({ gatewayApi: true });
  api.put('gatewayclasses', { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'contour' }, spec: { controllerName: CONTROLLER } });
  api.put('gateways', {
    apiVersion: GW,
    kind: 'Gateway',
    metadata: { name: 'g', namespace: 'infra' },
    spec: { gatewayClassName: 'contour', listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } }] },
  });
  api.put('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cert', namespace: 'infra' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Q0VSVA==', 'tls.key': 'S0VZ' } });
  api.put('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unnamed', namespace: 'infra' }, type: 'Opaque', data: { a: 'Yg==' } });
  api.put('httproutes', { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'apps' }, spec: { parentRefs: [{ name: 'g', namespace: 'infra' }] } });
  api.put('backendtlspolicies', { apiVersion: GW, kind: 'BackendTLSPolicy', metadata: { name: 'p', namespace: 'apps' }, spec: { targetRefs: [{ group: '', kind: 'Service', name: 's' }], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 's.example.com' } } });
  api.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca', namespace: 'apps' }, data: { 'ca.crt': 'x' } });
  api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { team: 'a' } } });
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig });
  try {
    await source.start();
    await waitFor('listed', () => source.ready() && cache.get('Secret', 'infra', 'cert'));
    const snap = cache.snapshot();
    assert.deepEqual(snap.gatewayClasses!.map((g) => g.metadata.name), ['contour']);
    assert.deepEqual(snap.gateways!.map((g) => g.metadata.name), ['g']);
    assert.deepEqual(snap.httpRoutes!.map((g) => g.metadata.name), ['r']);
    assert.deepEqual(snap.backendTLSPolicies!.map((g) => g.metadata.name), ['p']);
    assert.deepEqual(snap.configMaps!.map((c) => c.data), [{ 'ca.crt': 'x' }]);
    assert.deepEqual(snap.namespaces!.find((n) => n.metadata.name === 'apps')?.metadata.labels, { team: 'a' });
    assert.equal(cache.get('Secret', 'infra', 'unnamed'), undefined, 'only Secrets something names are read');
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('the leader writes Gateway API status; lastTransitionTime holds while a condition does; other controllers\' parents stay', async () => {
  const { api, kubeconfig } = await startApi({ gatewayApi: true });
  const other = { parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'x', name: 'theirs' }, controllerName: 'example.com/other', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs', observedGeneration: 1, lastTransitionTime: '2020-01-01T00:00:00Z' }] };
  api.put('httproutes', { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'apps', generation: 3 }, spec: { parentRefs: [{ name: 'g', namespace: 'infra' }] } });
  api.putStatus('httproutes', 'apps', 'r', { parents: [other] });
  api.put('gateways', { apiVersion: GW, kind: 'Gateway', metadata: { name: 'g', namespace: 'infra', generation: 2 }, spec: { gatewayClassName: 'contour', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } });
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig });
  const writer = new StatusWriter({ kubeconfig, observedStatus: (k, ns, n) => source.observedStatus(k, ns, n) });
  const route = (status: 'True' | 'False', reason: string): RouteStatus => ({
    namespace: 'apps',
    name: 'r',
    parents: [{ parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'infra', name: 'g' }, controllerName: CONTROLLER, conditions: [{ type: 'Accepted', status, reason, message: reason, observedGeneration: 3 }, { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'ok', observedGeneration: 3 }] }],
  });
  const gateway = { namespace: 'infra', name: 'g', addresses: [{ type: 'Hostname', value: 'lb.example.com' }], conditions: [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: 'ok', observedGeneration: 2 }], listeners: [{ name: 'http', supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }], attachedRoutes: 1, conditions: [{ type: 'Programmed', status: 'True' as const, reason: 'Programmed', message: 'ok', observedGeneration: 2 }] }] };
  try {
    await source.start();
    await waitFor('listed', () => source.ready());
    writer.setLeader(true);
    writer.write([], [], [], [], { httproutes: [route('True', 'Accepted')], gateways: [gateway] });
    await writer.idle();
    const first = api.get('httproutes', 'apps', 'r')!.status as { parents: Record<string, any>[] };
    assert.equal(first.parents.length, 2);
    assert.deepEqual(first.parents[0], other, 'the other controller\'s parent is kept as it was');
    const mine = first.parents[1]!;
    assert.equal(mine.controllerName, CONTROLLER);
    assert.deepEqual(mine.conditions.map((c: Record<string, unknown>) => [c.type, c.status, c.reason, c.observedGeneration]), [
      ['Accepted', 'True', 'Accepted', 3],
      ['ResolvedRefs', 'True', 'ResolvedRefs', 3],
    ]);
    const t0 = mine.conditions[1].lastTransitionTime as string;
    assert.match(t0, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const g = api.get('gateways', 'infra', 'g')!.status as Record<string, any>;
    assert.deepEqual(g.addresses, [{ type: 'Hostname', value: 'lb.example.com' }]);
    assert.equal(g.listeners[0].attachedRoutes, 1);

    // The route goes invalid: Accepted changes (a new time), ResolvedRefs keeps its time.
    await waitFor('the write is seen by the watch', () => (JSON.stringify(source.observedStatus('HTTPRoute', 'apps', 'r')).includes(CONTROLLER) ? true : undefined));
    await new Promise((r) => setTimeout(r, 1100)); // a second boundary, so a new time would differ
    writer.write([], [], [], [], { httproutes: [route('False', 'NotAllowedByListeners')], gateways: [gateway] });
    await writer.idle();
    const second = (api.get('httproutes', 'apps', 'r')!.status as { parents: Record<string, any>[] }).parents;
    assert.deepEqual(second[0], other);
    assert.equal(second[1]!.conditions[0].reason, 'NotAllowedByListeners');
    assert.notEqual(second[1]!.conditions[0].lastTransitionTime, mine.conditions[0].lastTransitionTime, 'Accepted changed: a new transition time');
    assert.equal(second[1]!.conditions[1].lastTransitionTime, t0, 'ResolvedRefs held: its transition time is kept');
  } finally {
    await writer.stop();
    await source.stop();
    await api.stop();
  }
});

test('TCPRoute: watched with the other Gateway API kinds when its CRD is served, and the leader writes its parents\' status', async () => {
  const { api, kubeconfig } = await startApi({ gatewayApi: true });
  api.put('tcproutes', { apiVersion: GW, kind: 'TCPRoute', metadata: { name: 't', namespace: 'apps', generation: 2 }, spec: { parentRefs: [{ name: 'g', namespace: 'infra', sectionName: 'tcp' }], rules: [{ backendRefs: [{ name: 'db', port: 3000 }] }] } });
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig });
  const writer = new StatusWriter({ kubeconfig, observedStatus: (k, ns, n) => source.observedStatus(k, ns, n) });
  try {
    await source.start();
    await waitFor('listed', () => source.ready() && cache.snapshot().tcpRoutes?.length === 1);
    assert.deepEqual(cache.snapshot().tcpRoutes!.map((r) => `${r.metadata.namespace}/${r.metadata.name}`), ['apps/t']);
    writer.setLeader(true);
    const parent = { parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'infra', name: 'g', sectionName: 'tcp' }, controllerName: CONTROLLER, conditions: [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: 'Accepted TCPRoute', observedGeneration: 2 }] };
    writer.write([], [], [], [], { tcproutes: [{ namespace: 'apps', name: 't', parents: [parent] }] });
    await writer.idle();
    const status = api.get('tcproutes', 'apps', 't')!.status as { parents: Record<string, any>[] };
    assert.deepEqual(status.parents.map((p) => [p.controllerName, p.parentRef.sectionName, p.conditions[0].reason]), [[CONTROLLER, 'tcp', 'Accepted']]);
  } finally {
    await writer.stop();
    await source.stop();
    await api.stop();
  }
});

test('TCPRoute served only at v1alpha2 (an older CRD): read there and its status written there', async () => {
  const { api, kubeconfig } = await startApi({ gatewayApi: true, tcpRouteVersion: 'v1alpha2' });
  api.put('tcproutes', { apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TCPRoute', metadata: { name: 't', namespace: 'apps', generation: 1 }, spec: { parentRefs: [{ name: 'g', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'db', port: 3000 }] }] } });
  const { logger, lines } = capture();
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig, logger });
  const writer = new StatusWriter({ kubeconfig, observedStatus: (k, ns, n) => source.observedStatus(k, ns, n), servedAt: (k) => source.servedAt(k) });
  try {
    await source.start();
    await waitFor('listed', () => source.ready() && cache.snapshot().tcpRoutes?.length === 1);
    assert.ok(!lines.some((l) => l.includes('tcproutes')), `TCPRoute is not reported missing: ${lines.join('')}`);
    writer.setLeader(true);
    const parent = { parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'infra', name: 'g' }, controllerName: CONTROLLER, conditions: [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: 'Accepted TCPRoute', observedGeneration: 1 }] };
    writer.write([], [], [], [], { tcproutes: [{ namespace: 'apps', name: 't', parents: [parent] }] });
    await writer.idle();
    const status = api.get('tcproutes', 'apps', 't')!.status as { parents: Record<string, any>[] };
    assert.deepEqual(status.parents.map((p) => p.controllerName), [CONTROLLER]);
  } finally {
    await writer.stop();
    await source.stop();
    await api.stop();
  }
});
