import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBalancerModel } from '../../src/balancer/index.ts';
import { ARN1, SBK, endpoints, nlb, options, service, snapshot } from './model-fixtures.ts';

test('a TLS Service becomes TLS listeners with targets, hostname and status', () => {
  const svc = service({ annotations: nlb({ [`${SBK}aws-load-balancer-ssl-cert`]: ARN1, [`${SBK}aws-load-balancer-ssl-ports`]: 'https' }) });
  const snap = snapshot({ services: [svc], endpoints: [endpoints('default', 'web', ['10.0.0.2', '10.0.0.1'], [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }])] });
  const r = buildBalancerModel(snap, options());
  assert.equal(r.balancerConfig.loadBalancers.length, 1);
  const lb = r.balancerConfig.loadBalancers[0];
  assert.match(lb.hostname, /^k8s-default-web-[0-9a-f]{10}-[0-9a-f]{16}\.elb\.local\.amazonaws\.com$/);
  assert.equal(lb.scheme, 'internal');
  const [l80, l443] = lb.listeners;
  assert.equal(l80.protocol, 'TCP');
  assert.equal(l80.bindPort, 10080);
  assert.deepEqual(l80.targets, [
    { kind: 'endpoint', address: '10.0.0.1', port: 8080 },
    { kind: 'endpoint', address: '10.0.0.2', port: 8080 },
  ]);
  assert.equal(l443.protocol, 'TLS');
  assert.equal(l443.tls?.policy.name, 'ELBSecurityPolicy-TLS13-1-2-2021-06');
  assert.deepEqual(l443.tls?.certificates.map((c) => c.arn), [ARN1]);
  assert.equal(l443.tls?.alpn, null);
  assert.equal(l443.targets[0].port, 8443);
  assert.deepEqual(r.statuses[0].problems, []);
  assert.deepEqual(r.statuses[0].ingress, [{ hostname: lb.hostname, ip: '127.0.0.1', ports: [{ port: 80, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }] }]);
  // Pure: same input, deep-equal output.
  assert.deepEqual(buildBalancerModel(snap, options()), r);
});
