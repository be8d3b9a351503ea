// Builders for dag tests: Kubernetes objects, a snapshot from a list of
// them, and assertions on whole statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, type DagResult, type SecureVirtualHost, type VirtualHost } from '../../src/dag/index.ts';
import { defaultConfig, type IsobarConfig } from '../../src/config/types.ts';
import type {
  AnyObject,
  EndpointSlice,
  Endpoints,
  HTTPProxy,
  Ingress,
  IngressClass,
  RejectedObject,
  Secret,
  Service,
  ServicePort,
  Snapshot,
  TLSCertificateDelegation,
} from '../../src/objects/types.ts';
import type { HTTPProxyStatus } from '../../src/status/types.ts';

export function proxy(name: string, spec: HTTPProxy['spec'], namespace = 'default', extra: Partial<HTTPProxy['metadata']> = {}): HTTPProxy {
  return { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name, namespace, ...extra }, spec };
}

export function root(name: string, fqdn: string, rest: Omit<HTTPProxy['spec'], 'virtualhost'> & { tls?: NonNullable<HTTPProxy['spec']['virtualhost']>['tls'] }, namespace = 'default'): HTTPProxy {
  const { tls, ...spec } = rest;
  return proxy(name, { virtualhost: tls ? { fqdn, tls } : { fqdn }, ...spec }, namespace);
}

export function service(
  name: string,
  ports: Partial<ServicePort>[] = [{ port: 80 }],
  opts: { namespace?: string; annotations?: Record<string, string>; type?: string; externalName?: string } = {},
): Service {
  const metadata: Service['metadata'] = { name, namespace: opts.namespace ?? 'default' };
  if (opts.annotations) metadata.annotations = opts.annotations;
  const spec: Service['spec'] = { ports: ports.map((p) => ({ port: 80, ...p })) };
  if (opts.type) spec.type = opts.type;
  if (opts.externalName) spec.externalName = opts.externalName;
  return { apiVersion: 'v1', kind: 'Service', metadata, spec };
}

export function tlsService(name: string, port = 443, namespace = 'default'): Service {
  return service(name, [{ port }], { namespace, annotations: { 'projectcontour.io/upstream-protocol.tls': String(port) } });
}

export function endpoints(name: string, ips: string[], port: number, namespace = 'default', portName?: string): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [portName ? { name: portName, port } : { port }] }],
  };
}

export function slice(name: string, svc: string, eps: { ip: string; ready?: boolean }[], port: number, namespace = 'default'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: eps.map((e) => (e.ready === undefined ? { addresses: [e.ip] } : { addresses: [e.ip], conditions: { ready: e.ready } })),
    ports: [{ port }],
  };
}

export function secret(name: string, data: Record<string, string>, type = 'Opaque', namespace = 'default'): Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type, data };
}

export function tlsSecret(name: string, pair: { certPem: string; keyPem: string }, namespace = 'default'): Secret {
  return secret(name, { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem }, 'kubernetes.io/tls', namespace);
}

export function caSecret(name: string, caPem: string, namespace = 'default'): Secret {
  return secret(name, { 'ca.crt': caPem }, 'Opaque', namespace);
}

export function delegation(name: string, namespace: string, delegations: { secretName: string; targetNamespaces: string[] }[]): TLSCertificateDelegation {
  return { apiVersion: 'projectcontour.io/v1', kind: 'TLSCertificateDelegation', metadata: { name, namespace }, spec: { delegations } };
}

export function ingress(name: string, spec: Ingress['spec'], opts: { namespace?: string; annotations?: Record<string, string> } = {}): Ingress {
  const metadata: Ingress['metadata'] = { name, namespace: opts.namespace ?? 'default' };
  if (opts.annotations) metadata.annotations = opts.annotations;
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata, spec };
}

/** One rule: host, then [path, pathType, service, port] per path. */
export function rule(host: string, ...paths: [path: string, pathType: string, service: string, port: number | string][]): NonNullable<Ingress['spec']['rules']>[number] {
  return {
    ...(host !== '' ? { host } : {}),
    http: {
      paths: paths.map(([path, pathType, name, port]) => ({
        ...(path !== '' ? { path } : {}),
        pathType,
        backend: { service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } },
      })),
    },
  };
}

export function ingressClass(name: string, controller: string, isDefault = false): IngressClass {
  const metadata: IngressClass['metadata'] = { name, namespace: '' };
  if (isDefault) metadata.annotations = { 'ingressclass.kubernetes.io/is-default-class': 'true' };
  return { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata, spec: { controller } };
}

export function rejected(name: string, errors: { path: string; message: string }[], namespace = 'default'): RejectedObject {
  return { kind: 'HTTPProxy', namespace, name, source: { file: 'x.yaml', line: 1 }, errors };
}

export function snapshot(objects: (AnyObject | RejectedObject)[]): Snapshot {
  const s: Snapshot = { httpproxies: [], delegations: [], services: [], secrets: [], endpoints: [], endpointSlices: [], ingresses: [], ingressClasses: [], rejected: [] };
  for (const o of objects) {
    if (!('apiVersion' in o)) {
      s.rejected.push(o);
      continue;
    }
    switch (o.kind) {
      case 'HTTPProxy':
        s.httpproxies.push(o);
        break;
      case 'Service':
        s.services.push(o);
        break;
      case 'Secret':
        s.secrets.push(o);
        break;
      case 'Endpoints':
        s.endpoints.push(o);
        break;
      case 'EndpointSlice':
        s.endpointSlices.push(o);
        break;
      case 'TLSCertificateDelegation':
        s.delegations.push(o);
        break;
      case 'Ingress':
        s.ingresses!.push(o);
        break;
      case 'IngressClass':
        s.ingressClasses!.push(o);
        break;
    }
  }
  return s;
}

export function config(patch: (c: IsobarConfig) => void = () => {}): IsobarConfig {
  const c = defaultConfig();
  patch(c);
  return c;
}

export function run(objects: (AnyObject | RejectedObject)[], cfg: IsobarConfig = config()): DagResult {
  return build(snapshot(objects), cfg);
}

export type Err = [type: string, reason: string, message: string];

export interface Expect {
  currentStatus: 'valid' | 'invalid' | 'orphaned';
  description: string;
  errors: Err[];
  warnings?: Err[];
  fqdn?: string;
}

export const VALID: Expect = { currentStatus: 'valid', description: 'Valid HTTPProxy', errors: [] };

export function invalid(description: string, ...errors: Err[]): Expect {
  return { currentStatus: 'invalid', description, errors };
}

export function invalidSame(...errors: Err[]): Expect {
  return { currentStatus: 'invalid', description: errors[0]![2], errors };
}

export const ORPHANED: Expect = {
  currentStatus: 'orphaned',
  description: 'this HTTPProxy is not part of a delegation chain from a root HTTPProxy',
  errors: [['Orphaned', 'Orphaned', 'this HTTPProxy is not part of a delegation chain from a root HTTPProxy']],
};

/** Asserts the whole status of every HTTPProxy in the result; `expect`
 *  must name each of them ("ns/name" or just "name" in default). */
export function assertStatuses(result: DagResult, expect: Record<string, Expect>, generation = 0): void {
  const want = new Map(Object.entries(expect).map(([k, v]) => [k.includes('/') ? k : `default/${k}`, v]));
  const got = new Map(result.statuses.map((s) => [`${s.namespace}/${s.name}`, s]));
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the set of HTTPProxies with a status');
  for (const [k, e] of want) {
    const s = got.get(k)!;
    assert.deepEqual(statusShape(s), expectShape(e, generation), `status of ${k}`);
    if (e.fqdn !== undefined) assert.equal(s.fqdn, e.fqdn, `fqdn of ${k}`);
  }
}

function statusShape(s: HTTPProxyStatus) {
  const c = s.conditions[0]!;
  assert.equal(s.conditions.length, 1);
  return {
    currentStatus: s.currentStatus,
    description: s.description,
    condition: { type: c.type, status: c.status, observedGeneration: c.observedGeneration, reason: c.reason, message: c.message },
    errors: (c.errors ?? []).map((x) => [x.type, x.status, x.reason, x.message]),
    warnings: (c.warnings ?? []).map((x) => [x.type, x.status, x.reason, x.message]),
  };
}

function expectShape(e: Expect, generation: number) {
  const bad = e.errors.length > 0;
  return {
    currentStatus: e.currentStatus,
    description: e.description,
    condition: {
      type: 'Valid',
      status: bad ? 'False' : 'True',
      observedGeneration: generation,
      reason: bad ? 'ErrorPresent' : 'Valid',
      message: bad ? 'At least one error present, see Errors for details' : 'Valid HTTPProxy',
    },
    errors: e.errors.map(([t, r, m]) => [t, 'True', r, m]),
    warnings: (e.warnings ?? []).map(([t, r, m]) => [t, 'True', r, m]),
  };
}

export function vhost(result: DagResult, fqdn: string): VirtualHost | undefined;
export function vhost(result: DagResult, fqdn: string, secure: true): SecureVirtualHost | undefined;
export function vhost(result: DagResult, fqdn: string, secure?: boolean): VirtualHost | SecureVirtualHost | undefined;
export function vhost(result: DagResult, fqdn: string, secure = false): VirtualHost | SecureVirtualHost | undefined {
  const list: (VirtualHost | SecureVirtualHost)[] = secure ? result.proxyConfig.httpsVirtualHosts : result.proxyConfig.httpVirtualHosts;
  return list.find((v) => v.fqdn === fqdn);
}

export function clusterOf(result: DagResult, name: string) {
  const c = result.proxyConfig.clusters.find((x) => x.name === name);
  assert.ok(c, `cluster ${name}`);
  return c;
}

/** The single cluster of the first forward route of a vhost. */
export function firstCluster(result: DagResult, fqdn: string, secure = false) {
  const v = vhost(result, fqdn, secure);
  assert.ok(v, `vhost ${fqdn}`);
  const a = v.routes[0]!.action;
  assert.equal(a.kind, 'forward');
  return clusterOf(result, a.kind === 'forward' ? a.clusters[0]!.cluster : '');
}

export interface Row {
  name: string;
  objects: (AnyObject | RejectedObject)[];
  config?: IsobarConfig;
  expect: Record<string, Expect>;
  check?: (r: DagResult) => void;
}

/** One test per row: build the row's objects, check every status in full,
 *  then the row's own check. */
export function runRows(rows: readonly Row[], prefix = ''): void {
  for (const row of rows) {
    test(prefix + row.name, () => {
      const r = run(row.objects, row.config);
      assertStatuses(r, row.expect);
      row.check?.(r);
    });
  }
}
