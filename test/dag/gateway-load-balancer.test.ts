// The load balancer Service a Gateway asks for with AWS load balancer
// annotations in spec.infrastructure (as Contour's provisioner makes the
// Envoy Service of a Gateway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { service, tlsSecret } from './fixtures.ts';
import { gateway, gatewayClass, http, https, runGw } from './gateway-fixtures.ts';

const pair = await (await createCa('gateway lb CA')).issue({ dnsNames: ['a.example.com'] });
const ann = {
  'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
  'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': '443, 8443',
  'isobar.dev/proxy-protocol-tlvs': 'ssl',
};

test('AWS annotations in spec.infrastructure: a LoadBalancer Service envoy-<name> with them, a port per served listener port and per ssl port', () => {
  const r = runGw([gatewayClass(), gateway('gw', [http(), http('b', { hostname: 'b.example.com' }), https('tls', 'cert', { port: 9443 })], { spec: { infrastructure: { annotations: ann, labels: { team: 'edge' } } } }), tlsSecret('cert', pair, 'infra')]);
  const [svc, ...rest] = r.gatewayLoadBalancers ?? [];
  assert.equal(rest.length, 0);
  assert.deepEqual(svc, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'envoy-gw', namespace: 'infra', labels: { team: 'edge', 'gateway.networking.k8s.io/gateway-name': 'gw' }, annotations: ann },
    spec: {
      type: 'LoadBalancer',
      ports: [
        { name: 'http-80', protocol: 'TCP', port: 80, targetPort: 'http' },
        { name: 'https-9443', protocol: 'TCP', port: 9443, targetPort: 'https' },
        { name: 'tls-443', protocol: 'TCP', port: 443, targetPort: 'http' },
        { name: 'tls-8443', protocol: 'TCP', port: 8443, targetPort: 'http' },
      ],
    },
  });
});

test('no AWS annotation: no load balancer; a Service of that name already there: not replaced, Programmed False AddressNotAssigned', () => {
  assert.equal(runGw([gatewayClass(), gateway('gw', [http()], { spec: { infrastructure: { annotations: { 'example.com/x': 'y' } } } })]).gatewayLoadBalancers, undefined);
  const r = runGw([gatewayClass(), gateway('gw', [http()], { spec: { infrastructure: { annotations: ann } } }), service('envoy-gw', [{ port: 80 }], { namespace: 'infra' })]);
  assert.equal(r.gatewayLoadBalancers, undefined);
  assert.deepEqual(
    r.gatewayApi!.gateways[0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
    ['Accepted=True/Accepted', 'Programmed=False/AddressNotAssigned'],
  );
});
