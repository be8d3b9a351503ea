// Kubernetes mode for Ingress: kubectl creates Ingresses and an
// IngressClass in the test API server, the source watches them (and
// fetches the TLS Secret an Ingress names), the edge build routes them,
// and the writer puts the ingress Service's address into the status of
// every Ingress isobar serves, as Contour does (kubectl get ingress shows
// it); an Ingress of another class is left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource, StatusWriter } from '../../src/kube/index.ts';
import { build } from '../../src/edge/index.ts';
import { defaultConfig } from '../../src/config/types.ts';
import { createCa } from '../support/pki.ts';
import { kubectl, startApi, waitFor } from './helpers.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('Ingresses and IngressClasses are watched, routed, and served ones get status.loadBalancer', async () => {
  const ca = await createCa('kube ingress CA');
  const pair = await ca.issue({ dnsNames: ['secure.example.com'] });
  const { api, kubeconfig } = await startApi();
  // The Service in front of the proxy, with the address its load balancer controller wrote.
  api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'envoy', namespace: 'projectcontour' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }] } });
  await kubectl(kubeconfig, ['patch', 'service', 'envoy', '-n', 'projectcontour', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } } })]);
  const manifests = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: public}
spec: {controller: projectcontour.io/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  ingressClassName: public
  tls: [{hosts: [secure.example.com], secretName: web-tls}]
  rules:
  - host: secure.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: theirs, namespace: default}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: web, port: {number: 80}}}
---
apiVersion: v1
kind: Secret
metadata: {name: web-tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: ${b64(pair.certPem)}, tls.key: ${b64(pair.keyPem)}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
ports: [{port: 8080, protocol: TCP}]
`;
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig, holdoffMs: 10, holdoffMaxMs: 50 });
  const writer = new StatusWriter({ kubeconfig, observedStatus: (k, ns, n) => source.observedStatus(k, ns, n) });
  const config = defaultConfig();
  let last: ReturnType<typeof build> | undefined;
  source.on('change', () => {
    last = build({ snapshot: cache.snapshot(), config, certificates: [], portOffset: 0 });
    writer.write(last.statuses.httpproxies, [], [], last.statuses.ingresses ?? []);
  });
  source.on('status', (kind: string, ns: string, name: string) => {
    if (kind === 'Ingress') writer.recheck(kind, ns, name);
  });
  writer.setLeader(true);
  const statusOf = async (name: string) => JSON.parse((await kubectl(kubeconfig, ['get', 'ingress', name, '-n', 'default', '-o', 'json'])).stdout).status;
  try {
    await source.start();
    await kubectl(kubeconfig, ['create', '--validate=false', '-f', '-'], manifests);
    await waitFor('the Ingress routed on both listeners', () => last?.proxyConfig.httpsVirtualHosts.find((v) => v.fqdn === 'secure.example.com'));
    assert.equal(last!.proxyConfig.httpsVirtualHosts[0]!.secretId, 'default/web-tls');
    assert.ok(last!.proxyConfig.httpVirtualHosts.find((v) => v.fqdn === 'secure.example.com'));
    assert.ok(cache.get('IngressClass', '', 'public'), 'the cluster-scoped IngressClass is in the cache without a namespace');
    const served = last!.statuses.ingresses!.find((i) => i.name === 'web')!;
    assert.equal(served.served, true);
    assert.deepEqual(served.problems, []);

    assert.deepEqual(served.loadBalancer, { ingress: [{ hostname: 'lb.example.com' }] });
    const st = await waitFor('status.loadBalancer on the Ingress', async () => {
      const s = await statusOf('web');
      return s?.loadBalancer?.ingress?.length ? s : undefined;
    });
    assert.deepEqual(st.loadBalancer, { ingress: [{ hostname: 'lb.example.com' }] });
    await writer.idle();
    assert.equal((await statusOf('theirs'))?.loadBalancer?.ingress, undefined, 'an Ingress of another class gets no status');

    // Someone else overwrites the status: the watch sees it and the writer puts it back.
    await kubectl(kubeconfig, ['patch', 'ingress', 'web', '-n', 'default', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '192.0.2.9' }] } } })]);
    await waitFor('the status written back', async () => ((await statusOf('web'))?.loadBalancer?.ingress?.[0]?.hostname === 'lb.example.com' ? true : undefined));

    // The IngressClass goes: class "public" is no longer isobar's, the routes go.
    await kubectl(kubeconfig, ['delete', 'ingressclass', 'public']);
    await waitFor('the routes of the unclaimed Ingress gone', () => (last && !last.proxyConfig.httpsVirtualHosts.some((v) => v.fqdn === 'secure.example.com') ? true : undefined));
    assert.equal(last!.statuses.ingresses!.find((i) => i.name === 'web')!.served, false);
  } finally {
    await writer.stop();
    await source.stop();
    await api.stop();
  }
});
