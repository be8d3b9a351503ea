// KubeStatusSink: the StatusWriter + LeaderElector bundle `isobar serve
// --kubernetes` plugs into the primary's status sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource, KubeStatusSink } from '../../src/kube/index.ts';
import type { StatusReport } from '../../src/status/types.ts';
import { ApiClient, loadKubeConfig } from '../../src/kube/index.ts';
import { startApi, waitFor } from './helpers.ts';

const timings = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100 };

function report(description: string): StatusReport {
  return {
    httpproxies: [
      {
        namespace: 'default',
        name: 'a',
        fqdn: 'a.example.com',
        currentStatus: 'valid',
        description,
        conditions: [{ type: 'Valid', status: 'True', observedGeneration: 1, reason: 'Valid', message: description }],
      },
    ],
    services: [{ namespace: 'projectcontour', name: 'envoy', listeners: [], ingress: [{ hostname: 'lb.example.com' }], problems: [] }],
    ingresses: [
      // The edge had no address yet: the sink gives served Ingresses the HTTPProxies' one.
      { namespace: 'default', name: 'web', className: '', served: true, hosts: ['*'], ports: [80], loadBalancer: { ingress: [] }, problems: [] },
      { namespace: 'default', name: 'theirs', className: 'nginx', served: false, hosts: ['*'], ports: [80], loadBalancer: { ingress: [] }, problems: [] },
    ],
  };
}

test('two replicas: only the leader writes; when it stops, the other takes over writing', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name: 'a', namespace: 'default' }, spec: { virtualhost: { fqdn: 'a.example.com' } } } as never);
  api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'envoy', namespace: 'projectcontour' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] }, status: {} } as never);
  for (const name of ['web', 'theirs']) {
    api.put('ingresses', { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default' }, spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } } } as never);
  }
  const le = (identity: string) => ({ namespace: 'projectcontour', name: 'isobar', identity, ...timings });
  const a = new KubeStatusSink({ kubeconfig, leaderElection: le('a'), ingressService: { namespace: 'projectcontour', name: 'envoy' }, writeServiceStatus: true });
  await waitFor('a leads', () => a.elector!.isLeader());
  const b = new KubeStatusSink({ kubeconfig, leaderElection: le('b'), ingressService: { namespace: 'projectcontour', name: 'envoy' }, writeServiceStatus: true });
  api.recordRequests = true;
  try {
    a.write(report('first'));
    b.write(report('first'));
    await waitFor('status written', () => (api.get('httpproxies', 'default', 'a')!.status as any)?.description === 'first');
    await a.writer.idle();
    await b.writer.idle();
    const patches = () => api.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches().filter((r) => r.path.includes('httpproxies')).length, 1, 'one writer');
    const st = api.get('httpproxies', 'default', 'a')!.status as any;
    assert.deepEqual(st.loadBalancer, { ingress: [{ hostname: 'lb.example.com' }] }, 'HTTPProxy status carries the balancer address');
    assert.deepEqual((api.get('services', 'projectcontour', 'envoy')!.status as any).loadBalancer, { ingress: [{ hostname: 'lb.example.com' }] });
    assert.deepEqual((api.get('ingresses', 'default', 'web')!.status as any)?.loadBalancer, { ingress: [{ hostname: 'lb.example.com' }] }, 'a served Ingress too');
    assert.equal(api.get('ingresses', 'default', 'theirs')!.status, undefined, 'an Ingress of another class is left alone');
    assert.equal(patches().filter((r) => r.path.includes('ingresses')).length, 1, 'one writer, one Ingress');
    assert.equal(b.elector!.isLeader(), false);

    await a.stop(); // releases the Lease
    await waitFor('b leads', () => b.elector!.isLeader(), 3000);
    b.write(report('second'));
    await waitFor('b writes', () => (api.get('httpproxies', 'default', 'a')!.status as any)?.description === 'second');
  } finally {
    await a.stop();
    await b.stop();
    await api.stop();
  }
});

test('ingress-status-address: HTTPProxies and served Ingresses get that address, not the ingress Service one', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name: 'a', namespace: 'default' }, spec: { virtualhost: { fqdn: 'a.example.com' } } } as never);
  api.put('ingresses', { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'default' }, spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } } } as never);
  const sink = new KubeStatusSink({ kubeconfig, leaderElection: false, ingressService: { namespace: 'projectcontour', name: 'envoy' }, statusAddress: [{ ip: '127.0.0.1' }, { hostname: 'edge.example.com' }] });
  try {
    sink.write(report('static'));
    await waitFor('status written', () => (api.get('httpproxies', 'default', 'a')!.status as any)?.description === 'static');
    await sink.writer.idle();
    const want = { ingress: [{ ip: '127.0.0.1' }, { hostname: 'edge.example.com' }] };
    assert.deepEqual((api.get('httpproxies', 'default', 'a')!.status as any).loadBalancer, want);
    await waitFor('Ingress written', () => (api.get('ingresses', 'default', 'web')!.status as any)?.loadBalancer?.ingress?.length === 2);
    assert.deepEqual((api.get('ingresses', 'default', 'web')!.status as any).loadBalancer, want);
  } finally {
    await sink.stop();
    await api.stop();
  }
});

test('statuses wait for the source to finish its initial sync, then the latest report is written', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name: 'a', namespace: 'default' }, spec: { virtualhost: { fqdn: 'a.example.com' } } } as never);
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig });
  const sink = new KubeStatusSink({ kubeconfig, source, cache, leaderElection: false });
  try {
    sink.write(report('partial'));
    sink.write(report('latest'));
    await sink.writer.idle();
    assert.equal(api.get('httpproxies', 'default', 'a')!.status, undefined, 'nothing written before the source is ready');
    await source.start();
    await waitFor('latest report written', () => (api.get('httpproxies', 'default', 'a')!.status as any)?.description === 'latest');
  } finally {
    await sink.stop();
    await source.stop();
    await api.stop();
  }
});

test('a status overwritten by someone else is put back; our own writes echo back without a rewrite', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name: 'a', namespace: 'default' }, spec: { virtualhost: { fqdn: 'a.example.com' } } } as never);
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig, holdoffMs: 5 });
  const sink = new KubeStatusSink({ kubeconfig, source, cache, leaderElection: false });
  const other = new ApiClient(loadKubeConfig(kubeconfig));
  try {
    await source.start();
    await waitFor('ready', () => source.ready());
    sink.write(report('ours'));
    await waitFor('written', () => (source.observedStatus('HTTPProxy', 'default', 'a') as any)?.description === 'ours');
    await sink.writer.idle();
    const written = sink.writer.stats.written;
    assert.equal(written, 1);
    // Someone else (an old leader, a person with kubectl) writes another status.
    await other.request('PATCH', '/apis/projectcontour.io/v1/namespaces/default/httpproxies/a/status', {
      body: { status: { currentStatus: 'invalid', description: 'theirs', conditions: [] } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('ours again', () => (api.get('httpproxies', 'default', 'a')!.status as any)?.description === 'ours');
    await waitFor('echo seen', () => (source.observedStatus('HTTPProxy', 'default', 'a') as any)?.description === 'ours');
    await sink.writer.idle();
    assert.equal(sink.writer.stats.written, 2, 'exactly one repair, no echo loop');
  } finally {
    await other.close();
    await sink.stop();
    await source.stop();
    await api.stop();
  }
});

test('ExtensionService status: written by the sink from the report, put back when someone else overwrites it', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('extensionservices', { apiVersion: 'projectcontour.io/v1alpha1', kind: 'ExtensionService', metadata: { name: 'authz', namespace: 'default' }, spec: { services: [{ name: 'authz', port: 9443 }] } } as never);
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig, holdoffMs: 5 });
  const sink = new KubeStatusSink({ kubeconfig, source, cache, leaderElection: false });
  const other = new ApiClient(loadKubeConfig(kubeconfig));
  const valid = { type: 'Valid' as const, status: 'True' as const, observedGeneration: 1, reason: 'Valid', message: 'Valid ExtensionService' };
  const conditionOn = () => (api.get('extensionservices', 'default', 'authz')!.status as any)?.conditions?.[0];
  try {
    await source.start();
    await waitFor('ready', () => source.ready());
    sink.write({ httpproxies: [], services: [], extensionservices: [{ namespace: 'default', name: 'authz', conditions: [valid] }] });
    await waitFor('written', () => (source.observedStatus('ExtensionService', 'default', 'authz') as any)?.conditions?.[0]?.status === 'True');
    await sink.writer.idle();
    assert.equal(sink.writer.stats.written, 1);
    const t = conditionOn().lastTransitionTime;
    await other.request('PATCH', '/apis/projectcontour.io/v1alpha1/namespaces/default/extensionservices/authz/status', {
      body: { status: { conditions: [{ ...valid, status: 'False', reason: 'Theirs', lastTransitionTime: '2020-01-01T00:00:00Z' }] } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('ours again', () => conditionOn()?.reason === 'Valid');
    await waitFor('echo seen', () => (source.observedStatus('ExtensionService', 'default', 'authz') as any)?.conditions?.[0]?.reason === 'Valid');
    await sink.writer.idle();
    assert.equal(sink.writer.stats.written, 2, 'exactly one repair, no echo loop');
    assert.equal(conditionOn().lastTransitionTime, t, 'the condition never changed in our view');
  } finally {
    await other.close();
    await sink.stop();
    await source.stop();
    await api.stop();
  }
});
