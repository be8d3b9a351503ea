// Where a Gateway's status.addresses come from, as Contour fills them: a
// Gateway with a load balancer of its own gets that one's address; one
// served on the proxy's own listeners gets the address of the Service in
// front of the proxy (config ingress.service), or config
// ingress-status-address when set, the same address Ingresses get.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineFiles, loadText, ObjectCache } from '../../src/objects/index.ts';
import { ConfigError, defaultConfig, parseConfig, type IsobarConfig } from '../../src/config/index.ts';
import { build } from '../../src/edge/index.ts';

const CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: contour}
spec: {controllerName: projectcontour.io/gateway-controller}
`;

const gateway = (name: string, infrastructure = '') => `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: infra}
spec:
  gatewayClassName: contour
  listeners: [{name: http, protocol: HTTP, port: 80}]
${infrastructure}`;

const ROUTE = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: infra}
spec:
  parentRefs: [{name: shared}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: infra}
spec: {ports: [{port: 80}]}
`;

const NLB = `  infrastructure:
    annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}
`;

const INGRESS = `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: infra}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
`;

/** The Service in front of the proxy, its address written by a cloud's controller. */
const envoyService = (status: string) => `---
apiVersion: v1
kind: Service
metadata: {name: envoy, namespace: projectcontour}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 8080}]
status: {loadBalancer: {ingress: [${status}]}}
`;

function run(text: string, config: IsobarConfig = defaultConfig()) {
  const merged = combineFiles([loadText(text, 'm.yaml')]);
  const cache = new ObjectCache();
  cache.replaceAll(merged.objects, merged.rejected);
  const edge = build({ snapshot: cache.snapshot(), config, certificates: [], lbAddress: '127.0.0.1', portOffset: 0 });
  const addresses = Object.fromEntries((edge.statuses.gateways ?? []).map((g) => [g.name, g.addresses]));
  const conditions = Object.fromEntries((edge.statuses.gateways ?? []).map((g) => [g.name, g.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)]));
  return { addresses, conditions, ingress: edge.statuses.ingresses?.[0]?.loadBalancer.ingress, vhosts: edge.proxyConfig.httpVirtualHosts.length };
}

test('a Gateway on the proxy own listeners: the ingress Service address, IP before hostname as Contour lists them', () => {
  const r = run(CLASS + gateway('shared') + INGRESS + envoyService('{ip: 192.0.2.10}, {hostname: lb.example.com}'));
  assert.deepEqual(r.addresses.shared, [
    { type: 'IPAddress', value: '192.0.2.10' },
    { type: 'Hostname', value: 'lb.example.com' },
  ]);
  assert.deepEqual(r.ingress, [{ ip: '192.0.2.10' }, { hostname: 'lb.example.com' }]);
});

test('no address on the ingress Service yet: none on the Gateway', () => {
  assert.deepEqual(run(CLASS + gateway('shared') + envoyService('')).addresses.shared, []);
  assert.deepEqual(run(CLASS + gateway('shared')).addresses.shared, []);
});

test('ingress-status-address: the address of Gateways, Ingresses (and HTTPProxies), whatever the Service says', () => {
  const loaded = parseConfig('ingress-status-address: "127.0.0.1, edge.example.com, ::1"\n', 'isobar.yaml');
  assert.deepEqual(loaded.warnings, []);
  const r = run(CLASS + gateway('shared') + INGRESS + envoyService('{ip: 192.0.2.10}'), loaded.config);
  assert.deepEqual(r.addresses.shared, [
    { type: 'IPAddress', value: '127.0.0.1' },
    { type: 'Hostname', value: 'edge.example.com' },
    { type: 'IPAddress', value: '::1' },
  ]);
  assert.deepEqual(r.ingress, [{ ip: '127.0.0.1' }, { hostname: 'edge.example.com' }, { ip: '::1' }]);
  assert.throws(() => parseConfig('ingress-status-address: [a]\n', 'isobar.yaml'), (e: unknown) => e instanceof ConfigError && /ingress-status-address: must be a string/.test(e.message));
});

test('a Gateway with a load balancer of its own: that one address, not the ingress Service', () => {
  const r = run(CLASS + gateway('own', NLB) + gateway('shared') + envoyService('{ip: 192.0.2.10}'));
  assert.equal(r.addresses.own?.[0]?.type, 'IPAddress');
  assert.equal(r.addresses.own?.[0]?.value, '127.0.0.1');
  assert.match(r.addresses.own?.[1]?.value ?? '', /elb/);
  assert.deepEqual(r.addresses.shared, [{ type: 'IPAddress', value: '192.0.2.10' }]);
});

test('a Gateway whose load balancer Service name is taken (AddressNotAssigned): no address at all', () => {
  const taken = `---
apiVersion: v1
kind: Service
metadata: {name: envoy-own, namespace: infra}
spec: {ports: [{port: 80}]}
`;
  assert.deepEqual(run(CLASS + gateway('own', NLB) + taken + envoyService('{ip: 192.0.2.10}')).addresses.own, []);
});

test('spec.addresses as Contour reads them: served either way; Programmed only when one of them (type and value) is among the status addresses', () => {
  const withAddresses = (list: string) => gateway('shared', `  addresses: [${list}]\n`);
  const front = envoyService('{ip: 192.0.2.10}, {hostname: lb.example.com}');
  const assigned = run(CLASS + withAddresses('{type: IPAddress, value: 198.51.100.1}, {value: 192.0.2.10}') + ROUTE + front);
  assert.deepEqual(assigned.conditions.shared, ['Accepted=True/Accepted', 'Programmed=True/Programmed']);
  assert.equal(assigned.vhosts, 1);
  assert.deepEqual(run(CLASS + withAddresses('{type: Hostname, value: lb.example.com}') + ROUTE + front).conditions.shared, ['Accepted=True/Accepted', 'Programmed=True/Programmed']);
  const other = run(CLASS + withAddresses('{type: IPAddress, value: 198.51.100.1}') + ROUTE + front);
  assert.deepEqual(other.conditions.shared, ['Accepted=True/Accepted', 'Programmed=False/AddressNotAssigned']);
  assert.equal(other.vhosts, 1, 'served all the same, as Contour does');
  assert.deepEqual(other.addresses.shared, [{ type: 'IPAddress', value: '192.0.2.10' }, { type: 'Hostname', value: 'lb.example.com' }]);
  assert.deepEqual(run(CLASS + withAddresses('{type: Hostname, value: 192.0.2.10}') + ROUTE + front).conditions.shared, ['Accepted=True/Accepted', 'Programmed=False/AddressNotAssigned'], 'the type must match too');
  assert.deepEqual(run(CLASS + withAddresses('{type: IPAddress}') + ROUTE).conditions.shared, ['Accepted=True/Accepted', 'Programmed=False/AddressNotAssigned'], 'no address yet');
});
