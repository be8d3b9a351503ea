// The order the builders run in is the order of a Service's problems: one
// row per level (Service-wide groups, per port, after the listeners), each
// with a problem in every group it crosses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from '../../src/objects/types.ts';
import { buildService } from '../../src/balancer/model-build-service.ts';
import { ARN1, SBK, options, service, snapshot } from './model-fixtures.ts';

const a = (k: string) => `${SBK}aws-load-balancer-${k}`;
const LA = a('listener-attributes');
const TGA = a('target-group-attributes');

const rows: { name: string; svc: Service; said: RegExp[] }[] = [
  {
    name: 'Service-wide: load balancer, ports, certificates, ssl-ports, policies, re-encryption, target group, PROXY protocol, health check, target selection',
    svc: service({
      annotations: {
        [a('type')]: 'nlb-ip',
        'isobar.dev/target-selection': 'random',
        [a('healthcheck-interval')]: '1',
        'isobar.dev/proxy-protocol-tlvs': 'sni',
        [a('proxy-protocol')]: 'yes',
        [TGA]: 'stickiness.enabled=true',
        'isobar.dev/backend-ca-secret': 'missing',
        [a('backend-protocol')]: 'http',
        [a('alpn-policy')]: 'http2',
        [a('ssl-negotiation-policy')]: 'Nope',
        [a('ssl-ports')]: '443,9999',
        [a('ssl-cert')]: 'arn:aws:acm:x',
        [a('name')]: '-x',
        [a('scheme')]: 'public',
      },
      ports: [{ port: 53, protocol: 'UDP' }, { port: 80 }, { port: 443, name: 'https' }],
    }),
    said: [
      /scheme: "public" is not a scheme/,
      /name: "-x" is not a load balancer name/,
      /spec\.ports\[0\]\.protocol: port 53 is UDP/,
      /ssl-cert: "arn:aws:acm:x" is not a certificate ARN/,
      /ssl-ports: names "9999"/,
      /ssl-negotiation-policy: unknown negotiation policy "Nope"/,
      /alpn-policy: invalid ALPN policy "http2"/,
      /backend-protocol: "http" is ignored/,
      /backend-ca-secret: Secret default\/missing does not exist/,
      /backend-ca-secret: has no effect without/,
      /target-group-attributes: stickiness\.enabled not applied/,
      /proxy-protocol: "yes" is not supported/,
      /proxy-protocol-tlvs: unknown TLV "sni"/,
      /healthcheck-interval: 1 is out of range/,
      /target-selection: "random" is not a target selection/,
    ],
  },
  {
    name: 'per port, in port order: deregistration, targets, PROXY protocol, target protocol, listener attributes, client IP',
    svc: service({
      ns: 'projectcontour',
      name: 'envoy',
      annotations: {
        [a('type')]: 'nlb-ip',
        [a('ssl-cert')]: ARN1,
        [TGA]: 'preserve_client_ip.enabled=x,proxy_protocol_v2.enabled=x,deregistration_delay.connection_termination.enabled=x,deregistration_delay.timeout_seconds=-5',
        [`${LA}.TLS-443`]: 'broken',
        [`${LA}.TLS-9001`]: 'broken',
      },
      ports: [{ port: 9001, targetPort: 9001 }, { port: 443, targetPort: 'https' }],
    }),
    said: [
      /deregistration_delay\.timeout_seconds: -5 is out of range/,
      /deregistration_delay\.connection_termination\.enabled: "x" is not a boolean/,
      /proxy_protocol_v2\.enabled: "x" is not a boolean/,
      /spec\.ports: port 443 terminates TLS and sends plain text/,
      /listener-attributes\.TLS-443: item "broken"/,
      /preserve_client_ip\.enabled: "x" is not a boolean/,
      /deregistration_delay\.timeout_seconds: -5 is out of range/,
      /deregistration_delay\.connection_termination\.enabled: "x" is not a boolean/,
      /spec\.ports: port 9001 targets 9001, which is not isobar's proxy/,
      /proxy_protocol_v2\.enabled: "x" is not a boolean/,
      /listener-attributes\.TLS-9001: item "broken"/,
      /preserve_client_ip\.enabled: "x" is not a boolean/,
    ],
  },
  {
    name: 'after the listeners: TLVs without PROXY protocol, then ALPN without TLS',
    svc: service({
      annotations: { [a('type')]: 'nlb-ip', [a('alpn-policy')]: 'HTTP2Preferred', 'isobar.dev/proxy-protocol-tlvs': 'ssl', [`${LA}.TCP-80`]: 'x=1' },
      ports: [{ port: 80 }],
    }),
    said: [/listener-attributes\.TCP-80: x not applied/, /proxy-protocol-tlvs: has no effect without PROXY protocol/, /alpn-policy: ignored: the Service has no TLS listener/],
  },
];
for (const row of rows) {
  test(`problem order: ${row.name}`, () => {
    const built = buildService(snapshot({}), row.svc, 'ip', options());
    const got = built.problems.map((p) => p.message);
    assert.equal(got.length, row.said.length, got.join('\n'));
    row.said.forEach((re, i) => assert.match(got[i], re, `problem ${i}`));
  });
}

test('blocked: errors block; a holding warning blocks only an edit that flips a serving port', () => {
  const typo = service({ annotations: { [a('type')]: 'nlb-ip', [a('ssl-cert')]: ARN1, [a('ssl-ports')]: '4443' } });
  const fresh = buildService(snapshot({}), typo, 'ip', options());
  assert.equal(fresh.blocked, false, 'a new Service is built without the bad part');
  const serving = buildService(snapshot({}), service({ annotations: { [a('type')]: 'nlb-ip', [a('ssl-cert')]: ARN1, [a('ssl-ports')]: '443' } }), 'ip', options());
  assert.equal(buildService(snapshot({}), typo, 'ip', options(), serving.lb).blocked, true, 'TLS:443 would become TCP');
  const sameProtocols = buildService(snapshot({}), typo, 'ip', options(), fresh.lb);
  assert.equal(sameProtocols.blocked, false);
  assert.equal(buildService(snapshot({}), service({ annotations: { [a('type')]: 'nlb-ip', [a('scheme')]: 'public' } }), 'ip', options()).blocked, true);
});
