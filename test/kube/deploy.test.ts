// deploy/: the CRDs match the validator's schemas and are structural; RBAC
// grants exactly what isobar's requests need (checked against the requests
// the source, status writer and leader elector really make); the config
// loads; the Deployments use only flags `isobar serve` has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { readConfigFile } from '../../src/config/index.ts';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource, LeaderElector, StatusWriter } from '../../src/kube/index.ts';
import { CRD_FILE, CRD_KEYWORDS, crdYaml } from './crd-manifests.ts';
import { startApi, waitFor } from './helpers.ts';
import { defaultTag } from '../../scripts/image-lib.ts';

const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;
type Doc = Record<string, any>;

function docs(file: string): Doc[] {
  const parsed = parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'));
  for (const d of parsed) assert.equal(d.errors.length, 0, `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
  return parsed.map((d) => d.toJS() as Doc).filter(Boolean);
}

const FILES = ['crds.yaml', 'namespace.yaml', 'rbac.yaml', 'config.yaml', 'isobar.yaml', 'with-balancer/isobar.yaml'];

test('deploy/ holds the documented files, each a list of well-formed objects', () => {
  const top = readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(top, ['config.yaml', 'crds.yaml', 'isobar.yaml', 'namespace.yaml', 'rbac.yaml']);
  assert.ok(readdirSync(DEPLOY).includes('README.md'));
  for (const f of FILES) {
    for (const d of docs(f)) {
      assert.ok(d.apiVersion && d.kind && d.metadata?.name, `${f}: ${JSON.stringify(d).slice(0, 80)}`);
      if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(d.kind)) {
        assert.equal(d.metadata.namespace, 'projectcontour', `${f}: ${d.kind} ${d.metadata.name}`);
      }
    }
  }
});

test('deploy/crds.yaml is generated from the current schemas', () => {
  assert.equal(readFileSync(CRD_FILE, 'utf8'), crdYaml(), 'out of date: run `node test/kube/crd-manifests.ts --write`');
});

test('the CRDs are structural apiextensions.k8s.io/v1 with a status subresource on HTTPProxy', () => {
  const crds = docs('crds.yaml');
  assert.deepEqual(crds.map((c) => c.metadata.name), ['httpproxies.projectcontour.io', 'tlscertificatedelegations.projectcontour.io', 'extensionservices.projectcontour.io']);
  for (const c of crds) {
    assert.equal(c.apiVersion, 'apiextensions.k8s.io/v1');
    const [v] = c.spec.versions;
    assert.equal(v.name, c.spec.names.kind === 'ExtensionService' ? 'v1alpha1' : 'v1');
    assert.ok(v.served && v.storage);
    const schema = v.schema.openAPIV3Schema;
    assert.deepEqual(schema.properties.metadata, { type: 'object' }, 'metadata may only be type: object');
    const problems: string[] = [];
    const walk = (node: Doc, at: string) => {
      for (const k of Object.keys(node)) if (!CRD_KEYWORDS.has(k)) problems.push(`${at}: keyword ${k}`);
      if (!node.type && !node['x-kubernetes-int-or-string'] && !node['x-kubernetes-preserve-unknown-fields']) problems.push(`${at}: no type`);
      for (const [k, child] of Object.entries(node.properties ?? {})) walk(child as Doc, `${at}.${k}`);
      if (node.items) walk(node.items, `${at}[]`);
      if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${at}{}`);
      if (node.properties && node.additionalProperties) problems.push(`${at}: properties and additionalProperties together`);
    };
    walk(schema, c.spec.names.kind);
    assert.deepEqual(problems, []);
  }
  assert.deepEqual(crds[0]!.spec.versions[0].subresources, { status: {} });
  assert.deepEqual(crds[0]!.spec.names.shortNames, ['proxy', 'proxies']);
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function allowed(rules: Rule[], group: string, resource: string, verb: string): boolean {
  return rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
}

test('RBAC is least privilege and covers every request isobar makes', async () => {
  const rbac = docs('rbac.yaml');
  const cluster = rbac.find((d) => d.kind === 'ClusterRole')!.rules as Rule[];
  const role = rbac.find((d) => d.kind === 'Role')!;
  assert.equal(role.metadata.namespace, 'projectcontour');
  const nsRules = role.rules as Rule[];
  for (const r of [...cluster, ...nsRules]) {
    assert.ok(!r.verbs.includes('*') && !r.resources.includes('*') && !r.apiGroups.includes('*'), 'no wildcards');
    for (const v of r.verbs) {
      if (['create', 'update', 'patch', 'delete', 'deletecollection'].includes(v)) {
        const ok = r.resources.every((res) => res.endsWith('/status')) || (r.resources.join() === 'leases' && v !== 'delete');
        assert.ok(ok, `write verb ${v} on ${r.resources.join(',')}`);
      }
    }
  }
  assert.ok(!cluster.some((r) => r.resources.includes('leases')), 'leases only in the namespaced Role');
  const binding = rbac.find((d) => d.kind === 'ClusterRoleBinding')!;
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'isobar', namespace: 'projectcontour' }]);

  // Exercise the real clients and check each request against the rules.
  const { api, kubeconfig } = await startApi({ gatewayApi: true });
  const gw = 'gateway.networking.k8s.io/v1';
  api.put('gatewayclasses', { apiVersion: gw, kind: 'GatewayClass', metadata: { name: 'contour' }, spec: { controllerName: 'projectcontour.io/gateway-controller' } });
  api.put('gateways', { apiVersion: gw, kind: 'Gateway', metadata: { name: 'g', namespace: 'default' }, spec: { gatewayClassName: 'contour', listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'gs' }] } }] } });
  api.put('httproutes', { apiVersion: gw, kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'default' }, spec: { parentRefs: [{ name: 'g' }] } });
  api.put('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'gs', namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Q0VSVA==', 'tls.key': 'S0VZ' } });
  api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name: 'p', namespace: 'default' }, spec: { virtualhost: { fqdn: 'p.example.com', tls: { secretName: 's' } } } });
  api.put('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Q0VSVA==', 'tls.key': 'S0VZ' } });
  api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'envoy', namespace: 'projectcontour' }, spec: { ports: [{ port: 80 }] } });
  api.put('extensionservices', { apiVersion: 'projectcontour.io/v1alpha1', kind: 'ExtensionService', metadata: { name: 'authz', namespace: 'default' }, spec: { services: [{ name: 'authz', port: 9443 }] } });
  api.put('ingresses', { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i', namespace: 'default' }, spec: { tls: [{ hosts: ['i.example.com'], secretName: 'is' }], defaultBackend: { service: { name: 'web', port: { number: 80 } } } } });
  api.put('ingressclasses', { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'contour' }, spec: { controller: 'projectcontour.io/ingress-controller' } });
  api.recordRequests = true;
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig });
  const writer = new StatusWriter({ kubeconfig });
  const elector = new LeaderElector({ kubeconfig, namespace: 'projectcontour', name: 'isobar', identity: 'x', leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 100 });
  try {
    await source.start();
    await waitFor('ready', () => source.ready() && cache.get('Secret', 'default', 's') && cache.get('IngressClass', '', 'contour') && cache.get('Secret', 'default', 'gs') && cache.get('HTTPRoute', 'default', 'r'));
    elector.start();
    await waitFor('leader', () => elector.isLeader());
    writer.setLeader(true);
    writer.write(
      [{ namespace: 'default', name: 'p', fqdn: 'p.example.com', currentStatus: 'valid', description: 'Valid HTTPProxy', conditions: [{ type: 'Valid', status: 'True', observedGeneration: 1, reason: 'Valid', message: 'Valid HTTPProxy' }] }],
      [{ namespace: 'projectcontour', name: 'envoy', listeners: [], ingress: [{ hostname: 'lb.example.com' }], problems: [] }],
      [{ namespace: 'default', name: 'authz', conditions: [{ type: 'Valid', status: 'True', observedGeneration: 1, reason: 'Valid', message: 'Valid ExtensionService' }] }],
      [{ namespace: 'default', name: 'i', className: '', served: true, hosts: ['*'], ports: [80, 443], loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] }, problems: [] }],
      {
        gatewayclasses: [{ namespace: '', name: 'contour', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 1 }] }],
        gateways: [{ namespace: 'default', name: 'g', addresses: [], conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 1 }], listeners: [] }],
        httproutes: [{ namespace: 'default', name: 'r', parents: [{ parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default', name: 'g' }, controllerName: 'projectcontour.io/gateway-controller', conditions: [] }] }],
      },
    );
    await writer.idle();
    await elector.stop();
  } finally {
    await writer.stop();
    await source.stop();
    await api.stop();
  }
  const verbs = new Set<string>();
  for (const r of api.requests) {
    // Discovery (which Gateway API kinds are served) is open to every authenticated user.
    if (r.method === 'GET' && /^\/apis\/[^/]+\/[^/]+$/.test(r.path)) continue;
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/v1(?:alpha1)?)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/(status))?$/.exec(r.path);
    assert.ok(m, r.path);
    const [, group = '', ns, resource, name, sub] = m;
    const verb = r.method === 'GET' ? (r.query.includes('watch=true') ? 'watch' : name ? 'get' : 'list') : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[r.method]!;
    const res = sub ? `${resource}/${sub}` : resource!;
    const ok = allowed(cluster, group, res, verb) || (ns === 'projectcontour' && allowed(nsRules, group, res, verb));
    assert.ok(ok, `RBAC does not allow ${verb} ${group}/${res}${ns ? ` in ${ns}` : ''} (${r.method} ${r.path})`);
    verbs.add(`${verb} ${group}/${res}`);
  }
  // The exercise did reach every kind of request.
  for (const v of ['list projectcontour.io/httpproxies', 'watch /secrets', 'get /secrets', 'patch projectcontour.io/httpproxies/status', 'patch projectcontour.io/extensionservices/status', 'patch /services/status', 'list networking.k8s.io/ingresses', 'watch networking.k8s.io/ingressclasses', 'get /secrets', 'patch networking.k8s.io/ingresses/status', 'create coordination.k8s.io/leases', 'update coordination.k8s.io/leases', 'watch gateway.networking.k8s.io/gateways', 'watch gateway.networking.k8s.io/gatewayclasses', 'watch /namespaces', 'watch /configmaps', 'patch gateway.networking.k8s.io/gatewayclasses/status', 'patch gateway.networking.k8s.io/gateways/status', 'patch gateway.networking.k8s.io/httproutes/status']) {
    assert.ok(verbs.has(v), `not exercised: ${v}`);
  }
});

test('the config map holds a config file isobar loads', async () => {
  const cm = docs('config.yaml')[0]!;
  const file = join(mkdtempSync(join(tmpdir(), 'isobar-cfg-')), 'isobar.yaml');
  writeFileSync(file, cm.data['isobar.yaml']);
  const { config, warnings } = await readConfigFile(file);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.ingressService, { namespace: 'projectcontour', name: 'envoy' });
});

test('both workloads run `isobar serve --kubernetes` with flags serve has, and the right roles', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [new URL('../../bin/isobar.js', import.meta.url).pathname, 'serve', '--help']);
  const known = new Set([...stdout.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));
  const roles: Record<string, string> = {};
  for (const f of ['isobar.yaml', 'with-balancer/isobar.yaml']) {
    const wl = docs(f).find((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet')!;
    const c = wl.spec.template.spec.containers[0];
    assert.equal(c.args[0], 'serve');
    assert.ok(c.args.includes('--kubernetes'));
    for (const a of c.args.slice(1)) {
      const flag = /^--([a-z-]+)/.exec(a)?.[1];
      assert.ok(flag && known.has(flag), `${f}: unknown flag ${a}`);
    }
    roles[f] = c.args.find((a: string) => a.startsWith('--roles='));
    assert.equal(wl.spec.template.spec.serviceAccountName, 'isobar');
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    const svc = docs(f).find((d) => d.kind === 'Service')!;
    assert.equal(`${svc.metadata.namespace}/${svc.metadata.name}`, 'projectcontour/envoy');
    assert.equal(svc.spec.type, 'LoadBalancer');
    assert.equal(svc.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-proxy-protocol'], '*');
  }
  assert.deepEqual(roles, { 'isobar.yaml': '--roles=dag,proxy', 'with-balancer/isobar.yaml': '--roles=dag,proxy,balancer' });
});

test('both workloads run the image `npm run image` tags, hardened: non-root, read-only root, no capabilities, requests, probes, a PodDisruptionBudget', () => {
  for (const f of ['isobar.yaml', 'with-balancer/isobar.yaml']) {
    const all = docs(f);
    const wl = all.find((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet')!;
    const pod = wl.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(c.image, defaultTag(), `${f}: the image name the build tags`);
    assert.equal(c.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual({ ...pod.securityContext, seccompProfile: undefined }, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: undefined }, f);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, f);
    // A non-root process gets no effective capability in Kubernetes (no
    // ambient set; no_new_privs ignores file capabilities), so nothing may
    // need one: every port the container binds is 1024 or above.
    assert.notEqual(pod.hostNetwork, true, `${f}: on the host network the balancer would bind the Service ports themselves`);
    const arg = (name: string): string | undefined => c.args.find((a: string) => a.startsWith(`--${name}=`))?.split('=')[1];
    const bound = [Number(arg('http-port')), Number(arg('https-port')), Number(arg('admin-port'))];
    const svc = all.find((d) => d.kind === 'Service')!;
    if (arg('roles')!.includes('balancer')) {
      const offset = Number(arg('lb-port-offset') ?? 0);
      for (const sp of svc.spec.ports) {
        bound.push(sp.port + offset);
        // The node's Service port reaches the balancer's listener.
        assert.ok(c.ports.some((p: Doc) => p.containerPort === sp.port + offset && p.hostPort === sp.port), `${f}: hostPort ${sp.port} -> ${sp.port + offset}`);
      }
    }
    for (const p of bound) {
      assert.ok(p >= 1024, `${f}: binds port ${p}`);
      assert.ok(c.ports.some((cp: Doc) => cp.containerPort === p), `${f}: containerPort ${p}`);
    }
    // Writable: the state dir and /tmp, as the image's volumes; the config read-only.
    const mounts = new Map<string, Doc>(c.volumeMounts.map((m: Doc) => [m.mountPath, m]));
    const stateDir = arg('state-dir') ?? '/var/lib/isobar';
    for (const at of [stateDir, '/tmp']) assert.ok(mounts.has(at) && mounts.get(at)!.readOnly !== true, `${f}: writable volume at ${at}`);
    assert.equal(mounts.get('/etc/isobar')?.readOnly, true);
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory, `${f}: resource requests`);
    assert.ok(c.resources.limits.memory, `${f}: memory limit`);
    assert.deepEqual([c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.port], ['/healthz', 'admin']);
    assert.deepEqual([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port], ['/readyz', 'admin']);
    assert.ok(c.ports.some((p: Doc) => p.name === 'admin' && p.containerPort === Number(arg('admin-port'))));
    const pdb = all.find((d) => d.kind === 'PodDisruptionBudget');
    assert.ok(pdb, `${f}: a PodDisruptionBudget`);
    assert.equal(pdb.apiVersion, 'policy/v1');
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(wl.spec.template.metadata.labels[k], v, `${f}: the budget selects the pods`);
  }
});
