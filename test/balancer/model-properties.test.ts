// Property tests: whatever the annotations and ports, the model returns
// (never throws), is deterministic, produces JSON-safe data, and every
// problem names its Service.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ANNOTATIONS, buildBalancerModel } from '../../src/balancer/index.ts';
import type { Service } from '../../src/objects/types.ts';
import { ARN1, ARN2, options, snapshot, endpoints, secret } from './model-fixtures.ts';

const keys = [...Object.values(ANNOTATIONS), `${ANNOTATIONS.tgAttributes}.80`];
const interesting = fc.constantFrom(
  '', '*', ' ', ',', 'nlb', 'nlb-ip', 'external', 'ip', 'instance', 'ssl', 'tcp', 'true', 'false', 'internal', 'internet-facing',
  ARN1, `${ARN1},${ARN2}`, 'arn:aws:acm:x', '443', '80,443', 'https', 'http', 'HTTP2Preferred', 'None', 'ELBSecurityPolicy-2016-08',
  'ELBSecurityPolicy-TLS13-1-3-2021-06', 'proxy_protocol_v2.enabled=true', 'a=b,c', 'deregistration_delay.timeout_seconds=9999',
  'traffic-port', '/healthz', '200-399', 'ssl,authority,alpn', 'ca', '-1', '99999999999', 'round-robin',
);
const value = fc.oneof(interesting, fc.string({ maxLength: 40 }));
const port = fc.record(
  {
    name: fc.option(fc.constantFrom('http', 'https', 'web', ''), { nil: undefined }),
    port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(80, 443, 0, -1, 70000, 1.5)),
    protocol: fc.option(fc.constantFrom('TCP', 'UDP', 'SCTP'), { nil: undefined }),
    targetPort: fc.option(fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constantFrom('http', 'https', '8080', 'x')), { nil: undefined }),
  },
  { requiredKeys: ['port'] },
);
const svc = fc.record({
  ns: fc.constantFrom('default', 'projectcontour', 'a-very-long-namespace-name'),
  name: fc.constantFrom('web', 'envoy', 'x'),
  annotations: fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 10 }),
  ports: fc.array(port, { maxLength: 4 }),
  cls: fc.option(fc.constantFrom('service.k8s.aws/nlb', 'other'), { nil: undefined }),
});

test('property: arbitrary annotations and ports never throw; output is deterministic and JSON-safe; problems name the Service', () => {
  fc.assert(
    fc.property(fc.array(svc, { maxLength: 3 }), fc.boolean(), (specs, withPrevious) => {
      const services: Service[] = specs.map((s) => ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { namespace: s.ns, name: s.name, annotations: { [ANNOTATIONS.type]: 'nlb-ip', ...s.annotations } },
        spec: { type: 'LoadBalancer', ports: s.ports as Service['spec']['ports'], ...(s.cls ? { loadBalancerClass: s.cls } : {}) },
      }));
      const snap = snapshot({
        services,
        endpoints: [endpoints('default', 'web', ['10.0.0.1'], [{ name: 'http', port: 8080 }])],
        secrets: [secret('default', 'ca', { 'ca.crt': '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' })],
      });
      const first = buildBalancerModel(snap, options());
      const opts = withPrevious ? options({ previous: first.balancerConfig }) : options();
      const a = buildBalancerModel(snap, opts);
      const b = buildBalancerModel(snap, opts);
      assert.deepEqual(a, b);
      assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
      for (const st of a.statuses) {
        for (const p of st.problems) {
          assert.ok(p.message.startsWith(`Service ${st.namespace}/${st.name}: `), p.message);
          assert.ok(p.severity === 'error' || p.severity === 'warning');
        }
      }
      // No two listeners share a fixed address:port.
      const binds = a.balancerConfig.loadBalancers.flatMap((lb) => lb.listeners.map((l) => `${l.bindAddress}:${l.bindPort}`));
      assert.equal(new Set(binds).size, binds.length);
      // A TLS listener always has a certificate and a policy.
      for (const l of a.balancerConfig.loadBalancers.flatMap((lb) => lb.listeners)) {
        if (l.protocol === 'TLS') assert.ok(l.tls && l.tls.certificates.length > 0 && l.tls.policy);
        assert.ok(l.bindPort >= 1 && l.bindPort <= 65535);
      }
    }),
    { numRuns: 400 },
  );
});

test('property: malformed Service shapes do not take the others down', () => {
  fc.assert(
    fc.property(fc.anything(), (junk) => {
      const bad = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'a', name: 'bad', annotations: { [ANNOTATIONS.type]: 'nlb-ip' } }, spec: { type: 'LoadBalancer', ports: junk } } as unknown as Service;
      const good: Service = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'b', name: 'good', annotations: { [ANNOTATIONS.type]: 'nlb-ip' } }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } };
      const r = buildBalancerModel(snapshot({ services: [bad, good] }), options());
      const g = r.balancerConfig.loadBalancers.find((lb) => lb.name === 'good');
      assert.equal(g?.listeners.length, 1);
    }),
    { numRuns: 300 },
  );
});
