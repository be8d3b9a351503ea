// Health check builder, one row per behaviour the whole-model table in
// model-rules leaves out: the port by Service port name, HTTPS, and path and
// success codes that mean nothing to a TCP check.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthCheckConfig } from '../../src/balancer/balancer-config.ts';
import type { ServicePort } from '../../src/objects/types.ts';
import { buildHealthCheck } from '../../src/balancer/model-build-health-check.ts';
import { SBK, problems, said } from './model-fixtures.ts';

const W = 'Service default/web: ';
const hc = (k: string) => `${SBK}aws-load-balancer-healthcheck-${k}`;
const ports: ServicePort[] = [
  { name: 'http', port: 80, targetPort: 8080 },
  { name: 'admin', port: 9000, targetPort: 'admin-port' },
  { name: 'plain', port: 81 },
];

const rows: { name: string; ann: Record<string, string>; want: Partial<HealthCheckConfig>; said?: string[] }[] = [
  { name: 'port by Service port name: its numeric targetPort', ann: { [hc('port')]: 'http' }, want: { port: 8080 } },
  { name: 'port by the name of a port without targetPort: the port itself', ann: { [hc('port')]: 'plain' }, want: { port: 81 } },
  {
    name: 'port by the name of a port with a named targetPort: an error',
    ann: { [hc('port')]: 'admin' },
    want: { port: 'traffic-port' },
    said: [`error: ${W}annotation ${hc('port')}: Service port "admin" has a named targetPort; give the health check port as a number`],
  },
  { name: 'port traffic-port, trimmed', ann: { [hc('port')]: ' traffic-port ' }, want: { port: 'traffic-port' } },
  { name: 'protocol https, any case', ann: { [hc('protocol')]: 'Https', [hc('path')]: '/ready' }, want: { protocol: 'HTTPS', path: '/ready' } },
  {
    name: 'a TCP check ignores path and success codes, even bad ones',
    ann: { [hc('path')]: 'no slash', [hc('success-codes')]: '2xx' },
    want: { protocol: 'TCP', path: '/', successCodes: '200-399' },
  },
  {
    name: 'problems in annotation order: protocol, timings, path, codes, port',
    ann: { [hc('port')]: 'x', [hc('success-codes')]: '1', [hc('path')]: 'p', [hc('timeout')]: '1', [hc('interval')]: '1', [hc('protocol')]: 'HTTP' },
    want: { protocol: 'HTTP', intervalMs: 10_000, timeoutMs: 10_000 },
    said: [
      `error: ${W}annotation ${hc('interval')}: 1 is out of range (5-300)`,
      `error: ${W}annotation ${hc('timeout')}: 1 is out of range (2-120)`,
      `error: ${W}annotation ${hc('path')}: "p" is not a path (start with "/", at most 1024 characters, no spaces)`,
      `error: ${W}annotation ${hc('success-codes')}: "1" is not a list of HTTP codes or ranges (e.g. "200-399" or "200,204")`,
      `error: ${W}annotation ${hc('port')}: "x" is neither traffic-port, a port number, nor the name of a Service port`,
    ],
  },
];
for (const row of rows) {
  test(`buildHealthCheck: ${row.name}`, () => {
    const p = problems();
    const got = buildHealthCheck(row.ann, ports, p);
    assert.deepEqual(Object.fromEntries(Object.keys(row.want).map((k) => [k, got[k as keyof HealthCheckConfig]])), row.want);
    assert.deepEqual(said(p), row.said ?? []);
  });
}
