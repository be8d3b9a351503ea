// Re-encryption builders, one row per behaviour the whole-model table in
// model-rules leaves out: "ssl" without a TLS port, the target protocol per
// listener, and the targetTls each listener carries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Target } from '../../src/balancer/balancer-config.ts';
import { buildTargetProtocol, buildTargetTls, listenerTargetTls, type TargetTls } from '../../src/balancer/model-build-target-tls.ts';
import { SBK, problems, said } from './model-fixtures.ts';

const W = 'Service default/web: ';
const BACKEND = `${SBK}aws-load-balancer-backend-protocol`;

test('buildTargetTls: "ssl" on a Service without TLS ports is said to do nothing', () => {
  const p = problems();
  assert.deepEqual(buildTargetTls({ [BACKEND]: 'ssl' }, [], 'default', false, p), { ssl: true });
  assert.deepEqual(said(p), [`warning: ${W}annotation ${BACKEND}: "ssl" only applies to TLS listeners and this Service has none`]);
});

const proxyHttps: Target[] = [{ kind: 'proxy-https', address: '', port: 0 }];
const endpoint: Target[] = [{ kind: 'endpoint', address: '10.0.0.1', port: 8443 }];
const plain: TargetTls = { ssl: false };
const ssl: TargetTls = { ssl: true };
const protocols: { name: string; tls: boolean; targetTls: TargetTls; ingress: boolean; targets: Target[]; want: 'TCP' | 'TLS'; said?: string[] }[] = [
  { name: 'TCP listener', tls: false, targetTls: ssl, ingress: false, targets: endpoint, want: 'TCP' },
  { name: 'TLS listener without ssl', tls: true, targetTls: plain, ingress: false, targets: endpoint, want: 'TCP' },
  { name: 'TLS listener with ssl', tls: true, targetTls: ssl, ingress: false, targets: endpoint, want: 'TLS' },
  {
    name: "ingress Service: plain text to the proxy's HTTPS listener is called out",
    tls: true,
    targetTls: plain,
    ingress: true,
    targets: proxyHttps,
    want: 'TCP',
    said: [`warning: ${W}spec.ports: port 443 terminates TLS and sends plain text to the proxy's HTTPS listener; use targetPort "http" (8080) or ${BACKEND}: ssl`],
  },
  { name: "ingress Service: TLS to the proxy's HTTPS listener", tls: true, targetTls: ssl, ingress: true, targets: proxyHttps, want: 'TLS' },
  { name: "another Service's https-looking targets are not the proxy", tls: true, targetTls: plain, ingress: false, targets: proxyHttps, want: 'TCP' },
];
for (const row of protocols) {
  test(`buildTargetProtocol: ${row.name}`, () => {
    const p = problems();
    assert.equal(buildTargetProtocol(443, row.tls, row.targetTls, row.ingress, row.targets, p), row.want);
    assert.deepEqual(said(p), row.said ?? []);
  });
}

test('listenerTargetTls: only when the target protocol is TLS; the CA when there is one', () => {
  assert.equal(listenerTargetTls({ ssl: true, caPem: 'PEM' }, 'TCP'), undefined);
  assert.deepEqual(listenerTargetTls({ ssl: true }, 'TLS'), {});
  assert.deepEqual(listenerTargetTls({ ssl: true, caPem: 'PEM' }, 'TLS'), { caPem: 'PEM' });
});
