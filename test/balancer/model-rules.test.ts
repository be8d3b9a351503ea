// The balancer model, one row per rule: which Services are taken, TLS ports,
// certificates, policies, ALPN, backend TLS, PROXY protocol, target group
// attributes, health checks, scheme, targets, statuses and exact problems.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBalancerModel, type BalancerModelResult } from '../../src/balancer/index.ts';
import type { Service, Snapshot } from '../../src/objects/types.ts';
import { ARN1, ARN2, CERTS, SBK, endpoints, nlb, options, secret, service, slice, snapshot } from './model-fixtures.ts';

const W = 'Service default/web: ';
const ann = (k: string) => `${SBK}aws-load-balancer-${k}`;

function build(services: Service[], extra: Partial<Snapshot> = {}, opts: Record<string, unknown> = {}): BalancerModelResult {
  return buildBalancerModel(snapshot({ services, ...extra }), options(opts));
}
function messages(r: BalancerModelResult, i = 0): string[] {
  return r.statuses[i].problems.map((p) => `${p.severity}: ${p.message}`);
}
function listeners(r: BalancerModelResult) {
  return r.balancerConfig.loadBalancers[0]?.listeners ?? [];
}
function protocols(r: BalancerModelResult): string[] {
  return listeners(r).map((l) => `${l.servicePort}/${l.protocol}`);
}

test('which Services are taken', () => {
  const rows: [string, Service, boolean][] = [
    ['ClusterIP with annotations', service({ type: 'ClusterIP' }), false],
    ['LoadBalancer without annotation or class', service({ annotations: {} }), false],
    ['other class', service({ loadBalancerClass: 'example.com/lb' }), false],
    ['controller class, no annotations', service({ annotations: {}, loadBalancerClass: 'service.k8s.aws/nlb' }), true],
    ['type nlb', service({ annotations: { [ann('type')]: 'nlb' } }), true],
    ['type nlb-ip', service({ annotations: { [ann('type')]: 'nlb-ip' } }), true],
    ['external + ip', service({ annotations: { [ann('type')]: 'external', [ann('nlb-target-type')]: 'ip' } }), true],
    ['external + instance', service({ annotations: { [ann('type')]: 'external', [ann('nlb-target-type')]: 'instance' } }), true],
    ['type elb', service({ annotations: { [ann('type')]: 'elb' } }), false],
  ];
  for (const [name, svc, taken] of rows) {
    const r = build([svc]);
    assert.equal(r.balancerConfig.loadBalancers.length, taken ? 1 : 0, name);
    assert.equal(r.statuses.length, taken ? 1 : 0, name);
  }
});

test('external without a valid target type: no load balancer, a visible warning', () => {
  const r = build([service({ annotations: { [ann('type')]: 'external', [ann('nlb-target-type')]: 'IP' } })]);
  assert.equal(r.balancerConfig.loadBalancers.length, 0);
  assert.deepEqual(messages(r), [
    `warning: ${W}annotation ${ann('nlb-target-type')}: aws-load-balancer-type is "external" but ${ann('nlb-target-type')} is "IP"; set it to "ip" or "instance" or no load balancer is created`,
  ]);
  assert.deepEqual(r.statuses[0].ingress, []);
});

test('a certificate without ssl-ports makes every TCP port TLS (port 80 included)', () => {
  const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1 }) })]);
  assert.deepEqual(protocols(r), ['80/TLS', '443/TLS']);
  assert.deepEqual(messages(r), []);
});

test('ssl-ports: numbers and names, trimmed; "*" means all', () => {
  assert.deepEqual(protocols(build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: ' https ' }) })])), ['80/TCP', '443/TLS']);
  assert.deepEqual(protocols(build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443' }) })])), ['80/TCP', '443/TLS']);
  assert.deepEqual(protocols(build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '80, https' }) })])), ['80/TLS', '443/TLS']);
  assert.deepEqual(protocols(build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '*' }) })])), ['80/TLS', '443/TLS']);
});

test('ssl-ports naming a port the Service lacks: a warning; the rest applies', () => {
  const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443,8443' }) })]);
  assert.deepEqual(protocols(r), ['80/TCP', '443/TLS']);
  assert.deepEqual(messages(r), [
    `warning: ${W}annotation ${ann('ssl-ports')}: names "8443", which the Service does not have (its TCP ports: 80 (http), 443 (https)); those items are ignored`,
  ]);
});

test('an ssl-ports typo on a serving TLS Service keeps its TLS listener', () => {
  const good = build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443' }) })]);
  const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '4443' }) })], {}, { previous: good.balancerConfig });
  assert.deepEqual(protocols(r), ['80/TCP', '443/TLS']);
  assert.deepEqual(messages(r), [
    `warning: ${W}annotation ${ann('ssl-ports')}: names "4443", which the Service does not have (its TCP ports: 80 (http), 443 (https)); those items are ignored`,
    `warning: ${W}kept the last good load balancer (TCP:80, TLS:443) until the errors are fixed`,
  ]);
});

test('ssl-ports without a certificate has no effect and says so', () => {
  const r = build([service({ annotations: nlb({ [ann('ssl-ports')]: '443' }) })]);
  assert.deepEqual(protocols(r), ['80/TCP', '443/TCP']);
  assert.deepEqual(messages(r), [`warning: ${W}annotation ${ann('ssl-ports')}: has no effect without ${ann('ssl-cert')}`]);
});

test('ssl-cert: a trimmed list, first is the default, duplicates once', () => {
  const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: ` ${ARN2} , ${ARN1},${ARN2}` }) })]);
  assert.deepEqual(listeners(r)[0].tls?.certificates.map((c) => c.arn), [ARN2, ARN1]);
  assert.deepEqual(r.statuses[0].listeners[0].certificates, [ARN2, ARN1]);
});

test('malformed and unknown ARNs are errors; a new Service gets no load balancer', () => {
  const bad = 'arn:aws:acm:us-east-1:123:certificate/x';
  const unknown = 'arn:aws:acm:us-east-1:123456789012:certificate/deadbeef-0000-4000-8000-000000000000';
  const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: `${bad},${unknown}` }) })]);
  assert.equal(r.balancerConfig.loadBalancers.length, 0);
  assert.deepEqual(messages(r), [
    `error: ${W}annotation ${ann('ssl-cert')}: "${bad}" is not a certificate ARN (expected arn:aws:acm:<region>:<account>:certificate/<id>)`,
    `error: ${W}annotation ${ann('ssl-cert')}: certificate ${unknown} is not in the certificate store (add it with \`isobar certs import --arn ${unknown} ...\` or \`isobar certs request --arn ${unknown} ...\`)`,
  ]);
  assert.equal(r.statuses[0].problems[0].field, ann('ssl-cert'));
  assert.deepEqual(r.statuses[0].ingress, []);
});

test('a bad edit keeps the last good load balancer, with targets and certificates refreshed', () => {
  const svc = service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443' }) });
  const eps1 = endpoints('default', 'web', ['10.0.0.1'], [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }]);
  const good = build([svc], { endpoints: [eps1] });
  const edited = service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443', [ann('ssl-negotiation-policy')]: 'ELBSecurityPolicy-Typo' }) });
  const eps2 = endpoints('default', 'web', ['10.0.0.9'], [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }]);
  const renewed = { ...CERTS[0], certPem: 'renewed' };
  const r = build([edited], { endpoints: [eps2] }, { previous: good.balancerConfig, certificates: [renewed, CERTS[1]] });
  const ls = listeners(r);
  assert.deepEqual(protocols(r), ['80/TCP', '443/TLS']);
  assert.equal(ls[1].tls?.policy.name, 'ELBSecurityPolicy-TLS13-1-2-2021-06');
  assert.deepEqual(ls[1].targets, [{ kind: 'endpoint', address: '10.0.0.9', port: 8443 }]);
  assert.equal(ls[1].tls?.certificates[0].certPem, 'renewed');
  assert.equal(r.balancerConfig.loadBalancers[0].hostname, good.balancerConfig.loadBalancers[0].hostname);
  assert.equal(messages(r).length, 2);
  assert.match(messages(r)[0], /^error: Service default\/web: annotation service\.beta\.kubernetes\.io\/aws-load-balancer-ssl-negotiation-policy: unknown negotiation policy "ELBSecurityPolicy-Typo"; known policies: ELBSecurityPolicy-2016-08, /);
  assert.equal(messages(r)[1], `warning: ${W}kept the last good load balancer (TCP:80, TLS:443) until the errors are fixed`);
});

test('negotiation policies: default, named legacy policy, case typo suggestion, ignored without TLS', () => {
  const tls = (p?: string) => build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, ...(p ? { [ann('ssl-negotiation-policy')]: p } : {}) }) })]);
  const d = listeners(tls())[0].tls?.policy;
  assert.equal(d?.name, 'ELBSecurityPolicy-TLS13-1-2-2021-06');
  assert.equal(d?.minVersion, 'TLSv1.2');
  assert.equal(d?.maxVersion, 'TLSv1.3');
  assert.deepEqual(d?.ciphersuites, ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);
  assert.deepEqual(d?.ciphers, ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384']);
  const legacy = listeners(tls('ELBSecurityPolicy-2016-08'))[0].tls?.policy;
  assert.equal(legacy?.minVersion, 'TLSv1');
  assert.equal(legacy?.securityLevel, 0);
  assert.equal(legacy?.ciphers.length, 18);
  assert.deepEqual(legacy?.ciphersuites, []);
  const fs = listeners(tls('ELBSecurityPolicy-FS-1-2-Res-2020-10'))[0].tls?.policy;
  assert.deepEqual(fs?.ciphers, ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384']);
  assert.equal(listeners(tls('ELBSecurityPolicy-TLS-1-0-2015-04'))[0].tls?.policy.ciphers.at(-1), 'DES-CBC3-SHA');
  const typo = tls('elbsecuritypolicy-2016-08');
  assert.equal(typo.balancerConfig.loadBalancers.length, 0);
  assert.match(messages(typo)[0], /unknown negotiation policy "elbsecuritypolicy-2016-08" \(names are case-sensitive: did you mean ELBSecurityPolicy-2016-08\?\)/);
  const noTls = build([service({ annotations: nlb({ [ann('ssl-negotiation-policy')]: 'nonsense' }) })]);
  assert.deepEqual(messages(noTls), []);
});

test('ALPN policies map to protocol lists; an unknown one is an error', () => {
  const rows: [string, string[] | null][] = [
    ['None', null],
    ['HTTP1Only', ['http/1.1', 'http/1.0']],
    ['HTTP2Only', ['h2']],
    ['HTTP2Optional', ['http/1.1', 'http/1.0', 'h2']],
    ['HTTP2Preferred', ['h2', 'http/1.1', 'http/1.0']],
  ];
  for (const [name, list] of rows) {
    const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('alpn-policy')]: name }) })]);
    assert.deepEqual(listeners(r)[0].tls?.alpn, list, name);
    assert.deepEqual(r.statuses[0].listeners[0].alpn, list ?? [], name);
  }
  const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('alpn-policy')]: 'http2' }) })]);
  assert.deepEqual(messages(r), [`error: ${W}annotation ${ann('alpn-policy')}: invalid ALPN policy "http2" (use None, HTTP1Only, HTTP2Only, HTTP2Optional, HTTP2Preferred)`]);
});

test('backend-protocol ssl re-encrypts on TLS listeners only; the backend CA comes from a Secret', () => {
  const caPem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const a = nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443', [ann('backend-protocol')]: 'ssl', 'isobar.dev/backend-ca-secret': 'backend-ca' });
  const r = build([service({ annotations: a })], { secrets: [secret('default', 'backend-ca', { 'ca.crt': caPem })] });
  assert.deepEqual(listeners(r).map((l) => l.targetProtocol), ['TCP', 'TLS']);
  assert.deepEqual(listeners(r)[1].targetTls, { caPem });
  assert.equal(listeners(r)[0].targetTls, undefined);
  assert.deepEqual(messages(r), []);
  const missing = build([service({ annotations: a })]);
  assert.deepEqual(messages(missing), [`error: ${W}annotation isobar.dev/backend-ca-secret: Secret default/backend-ca does not exist`]);
  const empty = build([service({ annotations: a })], { secrets: [secret('default', 'backend-ca', { 'tls.crt': caPem })] });
  assert.deepEqual(messages(empty), [`error: ${W}annotation isobar.dev/backend-ca-secret: Secret default/backend-ca has no PEM certificate under the key ca.crt`]);
  const noSsl = build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, 'isobar.dev/backend-ca-secret': 'backend-ca' }) })], { secrets: [secret('default', 'backend-ca', { 'ca.crt': caPem })] });
  assert.deepEqual(messages(noSsl), [`warning: ${W}annotation isobar.dev/backend-ca-secret: has no effect without ${ann('backend-protocol')}: ssl`]);
  const other = build([service({ annotations: nlb({ [ann('backend-protocol')]: 'http' }) })]);
  assert.deepEqual(messages(other), [`warning: ${W}annotation ${ann('backend-protocol')}: "http" is ignored (only "ssl" changes anything: it re-encrypts to the targets)`]);
  assert.deepEqual(messages(build([service({ annotations: nlb({ [ann('backend-protocol')]: 'tcp' }) })])), []);
});

test('PROXY protocol: "*" for all, per target group, attribute; precedence and errors', () => {
  const pp = (a: Record<string, string>) => {
    const r = build([service({ annotations: nlb(a) })]);
    return { pp: listeners(r).map((l) => l.proxyProtocol), msgs: messages(r) };
  };
  assert.deepEqual(pp({}), { pp: [false, false], msgs: [] });
  assert.deepEqual(pp({ [ann('proxy-protocol')]: '*' }), { pp: [true, true], msgs: [] });
  assert.deepEqual(pp({ [ann('proxy-protocol-per-target-group')]: '443' }), { pp: [false, true], msgs: [] });
  assert.deepEqual(pp({ [ann('target-group-attributes')]: 'proxy_protocol_v2.enabled=true' }), { pp: [true, true], msgs: [] });
  assert.deepEqual(pp({ [ann('proxy-protocol')]: 'true' }).msgs, [`error: ${W}annotation ${ann('proxy-protocol')}: "true" is not supported (the only value is "*")`]);
  assert.deepEqual(pp({ [ann('proxy-protocol-per-target-group')]: '80,https' }).msgs, [
    `error: ${W}annotation ${ann('proxy-protocol-per-target-group')}: item "https" is not an integer (expected Service port numbers, e.g. "80,443")`,
  ]);
  assert.deepEqual(pp({ [ann('proxy-protocol')]: '*', [ann('proxy-protocol-per-target-group')]: '80' }), {
    pp: [true, true],
    msgs: [`warning: ${W}annotation ${ann('proxy-protocol-per-target-group')}: ignored: ${ann('proxy-protocol')} takes precedence`],
  });
  assert.deepEqual(pp({ [ann('proxy-protocol-per-target-group')]: '80', [ann('target-group-attributes')]: 'proxy_protocol_v2.enabled=true' }), {
    pp: [true, false],
    msgs: [`warning: ${W}annotation ${ann('target-group-attributes')}: proxy_protocol_v2.enabled is overridden by ${ann('proxy-protocol-per-target-group')}`],
  });
});

test('target group attributes: values, per-port overrides, malformed maps and bad values', () => {
  const r = build([
    service({
      annotations: nlb({
        [ann('target-group-attributes')]: 'deregistration_delay.timeout_seconds=30, preserve_client_ip.enabled=true,deregistration_delay.connection_termination.enabled=true',
        [`${ann('target-group-attributes')}.443`]: 'deregistration_delay.timeout_seconds=0,preserve_client_ip.enabled=',
      }),
    }),
  ]);
  const [l80, l443] = listeners(r);
  assert.equal(l80.deregistrationDelayMs, 30_000);
  assert.equal(l443.deregistrationDelayMs, 0);
  assert.equal(l443.preserveClientIp, true, 'an empty per-port value does not override');
  assert.equal(l80.drainTerminatesConnections, true);
  assert.deepEqual(messages(r), []);
  const defaults = listeners(build([service({})]))[0];
  assert.equal(defaults.deregistrationDelayMs, 300_000);
  assert.equal(defaults.preserveClientIp, false, 'ip targets: off');
  assert.equal(defaults.idleTimeoutMs, 350_000);
  assert.equal(listeners(build([service({ annotations: { [ann('type')]: 'external', [ann('nlb-target-type')]: 'instance' } })]))[0].preserveClientIp, true);
  const tga = ann('target-group-attributes');
  const bad: [string, string][] = [
    ['a=b,broken', `error: ${W}annotation ${tga}: item "broken" has no "=" (expected key=value,key=value)`],
    ['=x', `error: ${W}annotation ${tga}: item "=x" has an empty key (expected key=value,key=value)`],
    ['deregistration_delay.timeout_seconds=4000', `error: ${W}annotation ${tga}: deregistration_delay.timeout_seconds: 4000 is out of range (0-3600)`],
    ['preserve_client_ip.enabled=yes', `error: ${W}annotation ${tga}: preserve_client_ip.enabled: "yes" is not a boolean (use true or false)`],
  ];
  for (const [v, want] of bad) {
    const m = messages(build([service({ annotations: nlb({ [tga]: v }) })]));
    assert.equal(m[0], want, v);
  }
  assert.deepEqual(messages(build([service({ annotations: nlb({ [tga]: 'stickiness.enabled=true' }) })])), [
    `warning: ${W}annotation ${tga}: stickiness.enabled not applied by isobar (it applies proxy_protocol_v2.enabled, preserve_client_ip.enabled, deregistration_delay.timeout_seconds, deregistration_delay.connection_termination.enabled)`,
  ]);
  // `\,` escapes a comma inside a value: the key stays unknown but parses.
  assert.deepEqual(messages(build([service({ annotations: nlb({ [tga]: 'x.y=a\\,b' }) })])).length, 1);
});

test('health checks: controller defaults, annotations, errors', () => {
  const hc = (a: Record<string, string>) => {
    const r = build([service({ annotations: nlb(a) })]);
    return { hc: listeners(r)[0]?.healthCheck, msgs: messages(r) };
  };
  assert.deepEqual(hc({}).hc, { protocol: 'TCP', port: 'traffic-port', path: '/', intervalMs: 10_000, timeoutMs: 10_000, healthyThreshold: 3, unhealthyThreshold: 3, successCodes: '200-399' });
  assert.deepEqual(
    hc({
      [ann('healthcheck-protocol')]: 'http',
      [ann('healthcheck-port')]: 'https',
      [ann('healthcheck-path')]: '/ready',
      [ann('healthcheck-interval')]: '5',
      [ann('healthcheck-timeout')]: '2',
      [ann('healthcheck-healthy-threshold')]: '2',
      [ann('healthcheck-unhealthy-threshold')]: '10',
      [ann('healthcheck-success-codes')]: '200,204-206',
    }).hc,
    { protocol: 'HTTP', port: 8443, path: '/ready', intervalMs: 5000, timeoutMs: 2000, healthyThreshold: 2, unhealthyThreshold: 10, successCodes: '200,204-206' },
  );
  const errs: [Record<string, string>, string][] = [
    [{ [ann('healthcheck-protocol')]: 'UDP' }, `annotation ${ann('healthcheck-protocol')}: "UDP" is not a health check protocol (use TCP, HTTP or HTTPS)`],
    [{ [ann('healthcheck-interval')]: '1' }, `annotation ${ann('healthcheck-interval')}: 1 is out of range (5-300)`],
    [{ [ann('healthcheck-timeout')]: 'ten' }, `annotation ${ann('healthcheck-timeout')}: "ten" is not an integer`],
    [{ [ann('healthcheck-healthy-threshold')]: '11' }, `annotation ${ann('healthcheck-healthy-threshold')}: 11 is out of range (2-10)`],
    [{ [ann('healthcheck-port')]: 'metrics' }, `annotation ${ann('healthcheck-port')}: "metrics" is neither traffic-port, a port number, nor the name of a Service port`],
    [{ [ann('healthcheck-port')]: '70000' }, `annotation ${ann('healthcheck-port')}: 70000 is out of range (1-65535)`],
    [{ [ann('healthcheck-protocol')]: 'HTTP', [ann('healthcheck-path')]: 'ready' }, `annotation ${ann('healthcheck-path')}: "ready" is not a path (start with "/", at most 1024 characters, no spaces)`],
    [{ [ann('healthcheck-protocol')]: 'HTTP', [ann('healthcheck-success-codes')]: '2xx' }, `annotation ${ann('healthcheck-success-codes')}: "2xx" is not a list of HTTP codes or ranges (e.g. "200-399" or "200,204")`],
  ];
  for (const [a, want] of errs) assert.deepEqual(hc(a).msgs, [`error: ${W}${want}`], want);
});

test('scheme: default internal, annotation, deprecated internal flag, errors; the hostname follows the scheme', () => {
  const lb = (a: Record<string, string>) => build([service({ annotations: nlb(a) })]);
  const d = lb({});
  const inet = lb({ [ann('scheme')]: 'internet-facing' });
  assert.equal(d.balancerConfig.loadBalancers[0].scheme, 'internal');
  assert.equal(inet.balancerConfig.loadBalancers[0].scheme, 'internet-facing');
  assert.notEqual(d.balancerConfig.loadBalancers[0].hostname, inet.balancerConfig.loadBalancers[0].hostname);
  assert.equal(lb({ [ann('internal')]: 'false' }).balancerConfig.loadBalancers[0].scheme, 'internet-facing');
  assert.deepEqual(messages(lb({ [ann('scheme')]: 'public' })), [`error: ${W}annotation ${ann('scheme')}: "public" is not a scheme (use internal or internet-facing)`]);
  assert.deepEqual(messages(lb({ [ann('scheme')]: 'internal', [ann('internal')]: 'true' })), [`warning: ${W}annotation ${ann('internal')}: ignored: ${ann('scheme')} takes precedence`]);
});

test('load balancer name: annotation, bad value; the generated name is deterministic, in the controller\'s form', () => {
  const lb = (a: Record<string, string>) => build([service({ annotations: nlb(a) })]);
  assert.equal(lb({ [ann('name')]: 'my-edge' }).balancerConfig.loadBalancers[0].hostname.startsWith('my-edge-'), true);
  assert.match(messages(lb({ [ann('name')]: 'x'.repeat(33) }))[0], /is not a load balancer name \(1-32 letters, digits and hyphens/);
  // Deterministic, in the controller's form.
  const long = build([service({ ns: 'production-east', name: 'frontend.api', annotations: nlb() })]).balancerConfig.loadBalancers[0].hostname;
  assert.match(long, /^k8s-producti-frontend-[0-9a-f]{10}-[0-9a-f]{16}\.elb\.local\.amazonaws\.com$/);
});

test("the ingress Service targets isobar's proxy, always with PROXY v2", () => {
  const svc = service({
    ns: 'projectcontour',
    name: 'envoy',
    annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443' }),
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'https', port: 443, targetPort: 'http' },
      { name: 'tls', port: 8443, targetPort: 'https' },
      { name: 'admin', port: 9001, targetPort: 9001 },
    ],
  });
  const r = build([svc], {}, { proxyTargets: { http: { address: '127.0.0.1', port: 18080 }, https: { address: '127.0.0.1', port: 18443 } } });
  const ls = listeners(r);
  assert.deepEqual(ls.map((l) => [l.servicePort, l.targets, l.proxyProtocol]), [
    [80, [{ kind: 'proxy-http', address: '127.0.0.1', port: 18080 }], true],
    [443, [{ kind: 'proxy-http', address: '127.0.0.1', port: 18080 }], true],
    [8443, [{ kind: 'proxy-https', address: '127.0.0.1', port: 18443 }], true],
    [9001, [], true],
  ]);
  const W2 = 'Service projectcontour/envoy: ';
  assert.deepEqual(messages(r), [`warning: ${W2}spec.ports: port 9001 targets 9001, which is not isobar's proxy (use targetPort 8080 or "http" for its HTTP listener, 8443 or "https" for its HTTPS listener)`]);
  // Terminating TLS in front of the proxy's HTTPS listener is called out.
  const all = build([service({ ns: 'projectcontour', name: 'envoy', annotations: nlb({ [ann('ssl-cert')]: ARN1 }) })]);
  assert.deepEqual(messages(all), [`warning: ${W2}spec.ports: port 443 terminates TLS and sends plain text to the proxy's HTTPS listener; use targetPort "http" (8080) or ${ann('backend-protocol')}: ssl`]);
  assert.deepEqual(all.statuses[0].listeners[0].targets, [{ address: 'proxy-http', port: 0, health: 'unknown' }]);
});

test('targets: ready endpoints only, EndpointSlices preferred, ports by name or number', () => {
  const svc = service({ ports: [{ name: 'web', port: 80, targetPort: 'web-port' }, { port: 81, targetPort: 9091 }] });
  const s1 = slice('default', 'web', 'web-abc', [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', ready: false }, { ip: '10.0.0.3', ready: true }], [{ name: 'web', port: 8080 }, { name: '', port: 9091 }]);
  const ep = endpoints('default', 'web', ['10.9.9.9'], [{ name: 'web', port: 1 }]);
  const r = build([svc], { endpointSlices: [s1], endpoints: [ep] });
  assert.deepEqual(listeners(r).map((l) => l.targets.map((t) => `${t.address}:${t.port}`)), [
    ['10.0.0.1:8080', '10.0.0.3:8080'],
    ['10.0.0.1:9091', '10.0.0.3:9091'],
  ]);
  const r2 = build([svc], { endpoints: [endpoints('default', 'web', ['10.0.0.5'], [{ name: 'web', port: 8080 }], ['10.0.0.6'])] });
  assert.deepEqual(listeners(r2)[0].targets, [{ kind: 'endpoint', address: '10.0.0.5', port: 8080 }]);
  // A slice of another Service is not ours.
  const r3 = build([svc], { endpointSlices: [slice('default', 'other', 'o', [{ ip: '10.1.1.1' }], [{ name: 'web', port: 1 }])] });
  assert.deepEqual(listeners(r3)[0].targets, []);
});

test('ports: out of range with the offset, duplicates, UDP, one socket per address:port', () => {
  const off = build([service({ ports: [{ port: 65000 }] })], {}, { portOffset: 1000 });
  assert.deepEqual(messages(off), [`error: ${W}spec.ports: port 65000 plus the port offset 1000 is 66000, outside 1-65535 (choose another --port-offset)`]);
  const udp = build([service({ ports: [{ port: 53, protocol: 'UDP' }, { port: 80 }] })]);
  assert.deepEqual(protocols(udp), ['80/TCP']);
  assert.deepEqual(messages(udp), [`warning: ${W}spec.ports[0].protocol: port 53 is UDP; isobar balances TCP only, so this port has no listener`]);
  const dup = build([service({ ports: [{ port: 80 }, { port: 80, name: 'again' }] })]);
  assert.deepEqual(messages(dup), [`error: ${W}spec.ports[1].port: port 80 appears twice`]);
  const range = build([service({ ports: [{ port: 0 }] })]);
  assert.deepEqual(messages(range), [`error: ${W}spec.ports[0].port: port 0 is out of range (1-65535)`]);
  const two = build([service({ name: 'a', ports: [{ port: 80 }] }), service({ name: 'b', ports: [{ port: 80 }, { port: 81 }] })]);
  assert.deepEqual(two.balancerConfig.loadBalancers.map((lb) => lb.listeners.map((l) => l.servicePort)), [[80], [81]]);
  assert.deepEqual(messages(two, 1), ['error: Service default/b: port 80 would listen on 127.0.0.1:10080, which default/a:80 holds (Service default/a comes first by namespace/name); this listener is not created']);
  // Ephemeral ports never conflict.
  const eph = build([service({ name: 'a', ports: [{ port: 80 }] }), service({ name: 'b', ports: [{ port: 80 }] })], {}, { ephemeralPorts: true });
  assert.deepEqual(eph.balancerConfig.loadBalancers.map((lb) => lb.listeners[0].bindPort), [0, 0]);
});

test('opt-in TLVs: a trimmed list, duplicates once; unknown ones are errors; no effect without PROXY protocol', () => {
  const r = build([service({ annotations: nlb({ [ann('proxy-protocol')]: '*', 'isobar.dev/proxy-protocol-tlvs': 'ssl, authority,alpn,ssl', 'isobar.dev/target-selection': 'round-robin' }) })]);
  assert.deepEqual(listeners(r)[0].proxyProtocolTlvs, ['ssl', 'authority', 'alpn']);
  assert.deepEqual(messages(build([service({ annotations: nlb({ [ann('proxy-protocol')]: '*', 'isobar.dev/proxy-protocol-tlvs': 'sni' }) })])), [
    `error: ${W}annotation isobar.dev/proxy-protocol-tlvs: unknown TLV "sni" (use ssl, authority, alpn)`,
  ]);
  const noPp = build([service({ annotations: nlb({ 'isobar.dev/proxy-protocol-tlvs': 'ssl' }) })]);
  assert.deepEqual(listeners(noPp)[0].proxyProtocolTlvs, []);
  assert.deepEqual(messages(noPp), [`warning: ${W}annotation isobar.dev/proxy-protocol-tlvs: has no effect without PROXY protocol (${ann('proxy-protocol')}: "*")`]);
});

test('target selection: round-robin; an unknown one is an error', () => {
  const r = build([service({ annotations: nlb({ [ann('proxy-protocol')]: '*', 'isobar.dev/proxy-protocol-tlvs': 'ssl, authority,alpn,ssl', 'isobar.dev/target-selection': 'round-robin' }) })]);
  assert.equal(listeners(r)[0].targetSelection, 'round-robin');
  assert.deepEqual(messages(build([service({ annotations: nlb({ 'isobar.dev/target-selection': 'random' }) })])), [
    `error: ${W}annotation isobar.dev/target-selection: "random" is not a target selection (use flow-hash or round-robin)`,
  ]);
});

test('status: listeners with address, certificates, policy and targets; sorted by namespace and name', () => {
  const r = build(
    [
      service({ ns: 'b', name: 'z', annotations: nlb() }),
      service({ ns: 'a', name: 'y', annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443', [ann('alpn-policy')]: 'HTTP2Preferred' }), ports: [{ port: 443, targetPort: 8443 }] }),
    ],
    { endpoints: [endpoints('a', 'y', ['10.0.0.1'], [{ port: 8443 }])] },
  );
  assert.deepEqual(r.statuses.map((s) => `${s.namespace}/${s.name}`), ['a/y', 'b/z']);
  assert.deepEqual(r.statuses[0].listeners, [
    {
      port: 443,
      address: '127.0.0.1:10443',
      protocol: 'TLS',
      certificates: [ARN1],
      policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      alpn: ['h2', 'http/1.1', 'http/1.0'],
      targetProtocol: 'TCP',
      proxyProtocol: false,
      sourceRanges: ['0.0.0.0/0', '::/0'],
      targets: [{ address: '10.0.0.1', port: 8443, health: 'unknown' }],
    },
  ]);
});

test('scheme internal binds loopback only; internet-facing binds the load balancer address', () => {
  const mk = (scheme: string, lbAddress: string) => build([service({ annotations: nlb({ [ann('scheme')]: scheme }), ports: [{ port: 80 }] })], {}, { lbAddress });
  const rows: [string, string, string][] = [
    ['internal', '0.0.0.0', '127.0.0.1'],
    ['internal', '::', '::1'],
    ['internal', '127.0.0.2', '127.0.0.2'],
    ['internet-facing', '0.0.0.0', '0.0.0.0'],
    ['internet-facing', '127.0.0.1', '127.0.0.1'],
  ];
  for (const [scheme, lbAddress, want] of rows) {
    const r = mk(scheme, lbAddress);
    assert.equal(listeners(r)[0].bindAddress, want, `${scheme} on ${lbAddress}`);
    assert.equal(r.statuses[0].ingress[0].ip, want);
  }
});

test('certificates in use that expire within 30 days (or have expired) get a warning when the time is given', () => {
  const soon = { ...CERTS[0], notAfter: '2026-01-10T00:00:00.000Z' };
  const gone = { ...CERTS[1], notAfter: '2025-12-01T00:00:00.000Z' };
  const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: `${ARN1},${ARN2}` }) })], {}, { certificates: [soon, gone], now: '2026-01-01T00:00:00.000Z' });
  assert.deepEqual(messages(r), [
    `warning: ${W}annotation ${ann('ssl-cert')}: certificate ${ARN1} expires on 2026-01-10T00:00:00.000Z, in 9 days`,
    `warning: ${W}annotation ${ann('ssl-cert')}: certificate ${ARN2} expired on 2025-12-01T00:00:00.000Z; renew it (\`isobar certs renew ${ARN2}\`) or import a new one`,
  ]);
  assert.deepEqual(protocols(r), ['80/TLS', '443/TLS'], 'still served');
  assert.deepEqual(messages(build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1 }) })], {}, { certificates: [soon] })), [], 'no time, no warning');
});

test('listener attributes: tcp.idle_timeout.seconds per protocol-port', () => {
  const la = `${SBK}aws-load-balancer-listener-attributes`;
  const r = build([service({ annotations: nlb({ [ann('ssl-cert')]: ARN1, [ann('ssl-ports')]: '443', [`${la}.TLS-443`]: 'tcp.idle_timeout.seconds=600', [`${la}.TCP-443`]: 'tcp.idle_timeout.seconds=61' }) })]);
  assert.deepEqual(listeners(r).map((l) => l.idleTimeoutMs), [350_000, 600_000], 'TCP-443 does not name the TLS listener');
  assert.deepEqual(messages(build([service({ annotations: nlb({ [`${la}.TCP-80`]: 'tcp.idle_timeout.seconds=30' }) })])), [
    `error: ${W}annotation ${la}.TCP-80: tcp.idle_timeout.seconds: 30 is out of range (60-6000)`,
  ]);
  assert.deepEqual(messages(build([service({ annotations: nlb({ [`${la}.TCP-80`]: 'x=1' }) })])), [
    `warning: ${W}annotation ${la}.TCP-80: x not applied by isobar (it applies tcp.idle_timeout.seconds)`,
  ]);
});
