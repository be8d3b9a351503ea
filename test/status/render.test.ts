import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { renderJson, renderYaml, renderTable, renderIssues } from '../../src/status/index.ts';
import type { HTTPProxyStatus, IngressStatus, ServiceStatus } from '../../src/status/index.ts';
import { statusReport, findings, hasFindings, type Report } from '../../src/edge/index.ts';
import type { Service } from '../../src/objects/index.ts';

const valid = (namespace: string, name: string, extra: Partial<HTTPProxyStatus> = {}): HTTPProxyStatus => ({
  namespace,
  name,
  fqdn: `${name}.example.com`,
  currentStatus: 'valid',
  description: 'Valid HTTPProxy',
  conditions: [{ type: 'Valid', status: 'True', observedGeneration: 1, reason: 'Valid', message: 'Valid HTTPProxy' }],
  ...extra,
});

const svcStatus = (namespace: string, name: string, extra: Partial<ServiceStatus> = {}): ServiceStatus => ({
  namespace,
  name,
  listeners: [],
  ingress: [],
  problems: [],
  ...extra,
});

const report = statusReport(
  [
    valid('b', 'web', { tlsSecret: 'web-tls' }),
    valid('a', 'zeta'),
    valid('a', 'alpha', { currentStatus: 'invalid', description: 'route "/": service "x": not found' }),
  ],
  [
    svcStatus('z', 'lb'),
    svcStatus('edge', 'nlb', {
      listeners: [
        {
          port: 443,
          address: '127.0.0.1:10443',
          protocol: 'TLS',
          certificates: ['arn:aws:acm:local:000000000000:certificate/1'],
          policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
          targetProtocol: 'TCP',
          proxyProtocol: true,
          sourceRanges: ['203.0.113.0/24', '2001:db8::/32'],
          targets: [{ address: '127.0.0.1', port: 8443, health: 'healthy' }],
        },
      ],
      ingress: [{ hostname: 'k8s-edge-nlb-1.elb.local.amazonaws.com', ip: '127.0.0.1' }],
      problems: [{ severity: 'warning', field: 'service.beta.kubernetes.io/aws-load-balancer-foo', message: 'unknown annotation' }],
    }),
  ],
);

test('JSON: contract keys only (no tlsSecret), sorted by namespace then name', () => {
  const j = JSON.parse(renderJson(report)) as { httpproxies: Record<string, unknown>[]; services: Record<string, unknown>[] };
  assert.deepEqual(j.httpproxies.map((p) => `${p['namespace']}/${p['name']}`), ['a/alpha', 'a/zeta', 'b/web']);
  assert.deepEqual(j.services.map((p) => `${p['namespace']}/${p['name']}`), ['edge/nlb', 'z/lb']);
  for (const p of j.httpproxies) assert.deepEqual(Object.keys(p), ['namespace', 'name', 'fqdn', 'currentStatus', 'description', 'conditions']);
  for (const s of j.services) assert.deepEqual(Object.keys(s), ['namespace', 'name', 'listeners', 'ingress', 'problems']);
  assert.ok(!renderJson(report).includes('tlsSecret'));
});

test('YAML never uses anchors, even for shared objects', () => {
  const shared = [{ type: 'Valid' as const, status: 'True' as const, observedGeneration: 1, reason: 'Valid', message: 'Valid HTTPProxy' }];
  const text = renderYaml({ httpproxies: [valid('a', 'x', { conditions: shared }), valid('a', 'y', { conditions: shared })], services: [] });
  assert.ok(!/[&*]a\d/.test(text), text);
});

test('YAML parses to the same value as JSON', () => {
  assert.deepEqual(parse(renderYaml(report)), JSON.parse(renderJson(report)));
  assert.ok(!renderYaml(report).includes('tlsSecret'));
});

test('table: kubectl-like columns, TLS secret shown, services, listeners and problems', () => {
  const services: Service[] = [
    { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'edge', name: 'nlb' }, spec: { type: 'LoadBalancer', ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] } },
  ];
  const text = renderTable(report, { services });
  assert.equal(
    text,
    [
      'NAMESPACE   NAME    FQDN                TLS SECRET   STATUS    STATUS DESCRIPTION',
      'a           alpha   alpha.example.com                invalid   route "/": service "x": not found',
      'a           zeta    zeta.example.com                 valid     Valid HTTPProxy',
      'b           web     web.example.com     web-tls      valid     Valid HTTPProxy',
      '',
      'NAMESPACE   NAME   TYPE           CLUSTER-IP   EXTERNAL-IP                              PORT(S)',
      'edge        nlb    LoadBalancer   <none>       k8s-edge-nlb-1.elb.local.amazonaws.com   443:31443/TCP',
      'z           lb     ClusterIP      <none>       <none>                                   <none>',
      '',
      'NAMESPACE   NAME   PORT   LISTENER          PROTOCOL           CERTIFICATE                                    SOURCE RANGES                  TARGETS',
      'edge        nlb    443    127.0.0.1:10443   TLS->TCP+PROXYv2   arn:aws:acm:local:000000000000:certificate/1   203.0.113.0/24,2001:db8::/32   127.0.0.1:8443(healthy)',
      '',
      'PROBLEMS',
      'edge/nlb: warning: service.beta.kubernetes.io/aws-load-balancer-foo: unknown annotation',
      '',
    ].join('\n'),
  );
});

test('table with nothing in it', () => {
  assert.equal(renderTable({ httpproxies: [], services: [] }), 'No HTTPProxies found.\n\nNo load balancer Services found.\n');
});

test('issues render as file:line lines, warnings marked', () => {
  assert.equal(
    renderIssues([{ file: 'a.yaml', line: 3, col: 2, message: 'invalid YAML: x' }], [{ file: 'b.yaml', line: 1, message: 'skipping Deployment (apps/v1): isobar does not read this kind' }]),
    'a.yaml:3:2: invalid YAML: x\nb.yaml:1: warning: skipping Deployment (apps/v1): isobar does not read this kind\n',
  );
  assert.equal(renderIssues([], []), '');
});

test('findings: invalid, orphaned, Service errors and load errors each fail a check; warnings do not', () => {
  const base = { load: { objects: [], rejected: [], errors: [], warnings: [], files: [] } } as unknown as Report;
  const mk = (hp: HTTPProxyStatus[], sv: ServiceStatus[], errors = 0): Report => ({
    ...base,
    load: { ...base.load, errors: Array.from({ length: errors }, () => ({ file: 'x', message: 'y' })) },
    status: { httpproxies: hp, services: sv },
  });
  assert.equal(hasFindings(findings(mk([valid('a', 'b')], [svcStatus('a', 'b', { problems: [{ severity: 'warning', message: 'w' }] })]))), false);
  assert.equal(hasFindings(findings(mk([valid('a', 'b', { currentStatus: 'invalid' })], []))), true);
  assert.equal(hasFindings(findings(mk([valid('a', 'b', { currentStatus: 'orphaned' })], []))), true);
  assert.equal(hasFindings(findings(mk([], [svcStatus('a', 'b', { problems: [{ severity: 'error', message: 'e' }] })]))), true);
  assert.equal(hasFindings(findings(mk([], [], 1))), true);
});

test('Ingresses: JSON carries the contract keys sorted, the table is kubectl get ingress with the problems, and served errors fail a check', () => {
  const ing = (namespace: string, name: string, extra: Partial<IngressStatus> = {}): IngressStatus => ({
    namespace,
    name,
    className: '',
    served: true,
    hosts: [`${name}.example.com`],
    ports: [80],
    loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] },
    problems: [],
    ...extra,
  });
  const r = statusReport([], [], [], [
    ing('b', 'web', { ports: [80, 443], problems: [{ severity: 'error', field: 'spec.tls[0].secretName', message: 'Secret "b/x": Secret not found' }] }),
    ing('a', 'other', { className: 'nginx', served: false, loadBalancer: { ingress: [] }, problems: [{ severity: 'warning', message: 'not served' }] }),
  ]);
  const json = JSON.parse(renderJson(r)) as { ingresses: Record<string, unknown>[] };
  assert.deepEqual(Object.keys(json), ['httpproxies', 'services', 'ingresses']);
  assert.deepEqual(json.ingresses.map((i) => i.name), ['other', 'web']);
  assert.deepEqual(Object.keys(json.ingresses[0]!), ['namespace', 'name', 'className', 'served', 'hosts', 'ports', 'loadBalancer', 'problems']);
  assert.deepEqual(parse(renderYaml(r)), json);
  const table = renderTable(r);
  assert.equal(
    table,
    [
      'No HTTPProxies found.',
      '',
      'NAMESPACE   NAME    CLASS    HOSTS               ADDRESS          PORTS',
      'a           other   nginx    other.example.com                    80',
      'b           web     <none>   web.example.com     lb.example.com   80, 443',
      '',
      'INGRESS PROBLEMS',
      'a/other: warning: not served',
      'b/web: error: spec.tls[0].secretName: Secret "b/x": Secret not found',
      '',
      'No load balancer Services found.',
      '',
    ].join('\n'),
  );
  const base = { load: { objects: [], rejected: [], errors: [], warnings: [], files: [] } } as unknown as Report;
  assert.equal(hasFindings(findings({ ...base, status: r })), true, 'an error of a served Ingress');
  assert.equal(hasFindings(findings({ ...base, status: { ...r, ingresses: r.ingresses!.filter((i) => !i.served) } })), false, 'warnings, and Ingresses not served, do not');
  assert.equal(renderJson(statusReport([], [])).includes('ingresses'), false, 'no ingresses key without one');
});
