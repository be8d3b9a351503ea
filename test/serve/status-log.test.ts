// The primary's status log: a problem of an Ingress isobar serves is logged
// once when it appears (not again on every reload); Ingresses of another
// class are not logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { logStatusChanges } from '../../src/serve/status-log.ts';
import type { IngressStatus, StatusReport } from '../../src/status/index.ts';

test('Ingress problems are logged once, with the Ingress and the field', () => {
  const lines: { level: number; ingress?: string; field?: string; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const ing = (name: string, served: boolean): IngressStatus => ({
    namespace: 'apps',
    name,
    className: served ? '' : 'nginx',
    served,
    hosts: ['*'],
    ports: [80],
    loadBalancer: { ingress: [] },
    problems: [{ severity: 'error', field: 'spec.defaultBackend.service', message: 'service "apps/x" not found: this path is not served' }],
  });
  const report: StatusReport = { httpproxies: [], services: [], ingresses: [ing('web', true), ing('theirs', false)] };
  const prev = logStatusChanges(logger, report, new Map());
  logStatusChanges(logger, report, prev);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 50);
  assert.equal(lines[0]!.ingress, 'apps/web');
  assert.equal(lines[0]!.msg, 'Ingress apps/web: spec.defaultBackend.service: service "apps/x" not found: this path is not served');
});
