// kubectl -> test API server -> KubeSource -> ObjectCache -> dag.build ->
// StatusWriter -> status on the object, as `kubectl get -o yaml` shows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource, StatusWriter } from '../../src/kube/index.ts';
import { build } from '../../src/dag/index.ts';
import { defaultConfig } from '../../src/config/types.ts';
import { kubectl, startApi, waitFor } from './helpers.ts';

const MANIFESTS = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: web
  namespace: default
spec:
  virtualhost:
    fqdn: web.example.com
  routes:
  - conditions:
    - prefix: /
    services:
    - name: web
      port: 80
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: broken
  namespace: default
spec:
  virtualhost:
    fqdn: broken.example.com
  routes:
  - services:
    - name: missing
      port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: default
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
ports:
- port: 8080
  protocol: TCP
---
apiVersion: projectcontour.io/v1alpha1
kind: ExtensionService
metadata:
  name: authz
  namespace: default
spec:
  protocol: h2c
  services:
  - name: web
    port: 80
`;

test('objects created with kubectl become routes, and their statuses show in kubectl get -o yaml', async () => {
  const { api, kubeconfig } = await startApi();
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig, holdoffMs: 10, holdoffMaxMs: 50 });
  const writer = new StatusWriter({ kubeconfig, observedStatus: (k, ns, n) => source.observedStatus(k, ns, n) });
  const config = defaultConfig();
  let last: ReturnType<typeof build> | undefined;
  source.on('change', () => {
    last = build(cache.snapshot(), config);
    writer.write(last.statuses, [], last.extensionServices);
  });
  writer.setLeader(true);
  try {
    await source.start();
    await kubectl(kubeconfig, ['create', '--validate=false', '-f', '-'], MANIFESTS);
    await waitFor('route for web.example.com', () => last?.proxyConfig.httpVirtualHosts.find((v) => v.fqdn === 'web.example.com'));
    const vh = last!.proxyConfig.httpVirtualHosts.find((v) => v.fqdn === 'web.example.com')!;
    assert.ok(vh.routes.length >= 1);

    const statusOf = async (name: string) => {
      const { stdout } = await kubectl(kubeconfig, ['get', 'httpproxy', name, '-o', 'yaml']);
      return parse(stdout).status;
    };
    const ok = await waitFor('valid status on web', async () => {
      const s = await statusOf('web');
      return s?.currentStatus === 'valid' ? s : undefined;
    });
    assert.equal(ok.description, 'Valid HTTPProxy');
    assert.equal(ok.conditions[0].type, 'Valid');
    assert.equal(ok.conditions[0].observedGeneration, 1);
    assert.match(ok.conditions[0].lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const bad = await waitFor('invalid status on broken', async () => {
      const s = await statusOf('broken');
      return s?.currentStatus === 'invalid' ? s : undefined;
    });
    assert.match(JSON.stringify(bad.conditions), /missing/);
    const extension = await waitFor('valid status on the ExtensionService', async () => {
      const { stdout } = await kubectl(kubeconfig, ['get', 'extensionservice', 'authz', '-o', 'json']);
      const s = JSON.parse(stdout).status;
      return s?.conditions?.[0]?.status === 'True' ? s : undefined;
    });
    assert.deepEqual(
      { ...extension.conditions[0], lastTransitionTime: undefined },
      { type: 'Valid', status: 'True', observedGeneration: 1, reason: 'Valid', message: 'Valid ExtensionService', lastTransitionTime: undefined },
    );

    // Editing the spec bumps generation; the status follows with the new observedGeneration.
    await kubectl(kubeconfig, ['replace', '--validate=false', '-f', '-'], MANIFESTS.replace('name: missing', 'name: web'));
    const fixed = await waitFor('broken becomes valid', async () => {
      const s = await statusOf('broken');
      return s?.currentStatus === 'valid' ? s : undefined;
    });
    assert.equal(fixed.conditions[0].observedGeneration, 2);

    // No rewrite when nothing changed: another build writes nothing.
    await writer.idle();
    const before = writer.stats.written;
    const again = build(cache.snapshot(), config);
    writer.write(again.statuses, [], again.extensionServices);
    await writer.idle();
    assert.equal(writer.stats.written, before);
  } finally {
    await writer.stop();
    await source.stop();
    await api.stop();
  }
});
