// Two Services that ask for the same address:port, one row per rule: the
// running listener keeps its socket, else the older Service by
// creationTimestamp, else the first by namespace/name; the newcomer gets
// the problem, naming the holder and why.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from '../../src/objects/types.ts';
import { buildBalancerModel, type BalancerConfig } from '../../src/balancer/index.ts';
import { SBK, nlb, options, service, snapshot } from './model-fixtures.ts';

function svc(ns: string, name: string, o: { created?: string; annotations?: Record<string, string> } = {}): Service {
  const s = service({ ns, name, annotations: nlb(o.annotations), ports: [{ port: 443, targetPort: 8443 }] });
  if (o.created !== undefined) s.metadata.creationTimestamp = o.created;
  return s;
}
const ENVOY = svc('projectcontour', 'envoy');
const AAA = svc('aaa', 'web');

function build(services: Service[], previous?: BalancerConfig) {
  return buildBalancerModel(snapshot({ services }), options(previous ? { previous } : {}));
}
/** "ns/name" of the Service whose listener holds 127.0.0.1:10443. */
function holder(r: ReturnType<typeof build>): string[] {
  return r.balancerConfig.loadBalancers.filter((lb) => lb.listeners.some((l) => l.bindPort === 10443)).map((lb) => `${lb.namespace}/${lb.name}`);
}
function errors(r: ReturnType<typeof build>): string[] {
  return r.statuses.flatMap((s) => s.problems.filter((p) => p.severity === 'error').map((p) => p.message));
}
const lost = (who: string, holderId: string, why: string) =>
  `Service ${who}: port 443 would listen on 127.0.0.1:10443, which ${holderId} holds (${why}); this listener is not created`;

const rows: { name: string; services: Service[]; previous?: Service[]; holder: string; errors: string[] }[] = [
  {
    name: 'offline, no timestamps: the first by namespace/name',
    services: [ENVOY, AAA],
    holder: 'aaa/web',
    errors: [lost('projectcontour/envoy', 'aaa/web:443', 'Service aaa/web comes first by namespace/name')],
  },
  {
    name: 'offline: the older Service by creationTimestamp, whatever its name',
    services: [svc('projectcontour', 'envoy', { created: '2024-01-01T00:00:00Z' }), svc('aaa', 'web', { created: '2025-06-01T00:00:00Z' })],
    holder: 'projectcontour/envoy',
    errors: [lost('aaa/web', 'projectcontour/envoy:443', 'Service projectcontour/envoy is older by creationTimestamp')],
  },
  {
    name: 'offline: a Service with a timestamp is older than one without',
    services: [svc('projectcontour', 'envoy', { created: '2024-01-01T00:00:00Z' }), AAA],
    holder: 'projectcontour/envoy',
    errors: [lost('aaa/web', 'projectcontour/envoy:443', 'Service projectcontour/envoy is older by creationTimestamp')],
  },
  {
    name: 'offline: equal timestamps fall back to namespace/name',
    services: [svc('projectcontour', 'envoy', { created: '2024-01-01T00:00:00Z' }), svc('aaa', 'web', { created: '2024-01-01T00:00:00Z' })],
    holder: 'aaa/web',
    errors: [lost('projectcontour/envoy', 'aaa/web:443', 'Service aaa/web comes first by namespace/name')],
  },
  {
    name: 'serving: the running listener keeps its socket against an older newcomer that sorts first',
    previous: [ENVOY],
    services: [ENVOY, svc('aaa', 'web', { created: '2020-01-01T00:00:00Z' })],
    holder: 'projectcontour/envoy',
    errors: [lost('aaa/web', 'projectcontour/envoy:443', 'it is already listening there')],
  },
  {
    name: 'serving: a holder whose Service now has errors still holds (its last good listeners run on)',
    previous: [ENVOY],
    services: [svc('projectcontour', 'envoy', { annotations: { [`${SBK}aws-load-balancer-scheme`]: 'public' } }), AAA],
    holder: 'projectcontour/envoy',
    errors: [
      lost('aaa/web', 'projectcontour/envoy:443', 'it is already listening there'),
      'Service projectcontour/envoy: annotation service.beta.kubernetes.io/aws-load-balancer-scheme: "public" is not a scheme (use internal or internet-facing)',
    ],
  },
  {
    name: 'serving: once the holder is gone, the socket goes to the next by age',
    previous: [ENVOY],
    services: [AAA],
    holder: 'aaa/web',
    errors: [],
  },
];
for (const row of rows) {
  test(`claim sockets: ${row.name}`, () => {
    const previous = row.previous ? build(row.previous).balancerConfig : undefined;
    const r = build(row.services, previous);
    assert.deepEqual(holder(r), [row.holder]);
    assert.deepEqual(errors(r), row.errors);
  });
}

test('claim sockets: the loser keeps its other listeners', () => {
  const two = service({ ns: 'aaa', name: 'web', annotations: nlb(), ports: [{ port: 443 }, { port: 8443 }] });
  const r = build([ENVOY, two], build([ENVOY]).balancerConfig);
  assert.deepEqual(
    r.balancerConfig.loadBalancers.map((lb) => `${lb.namespace}/${lb.name}: ${lb.listeners.map((l) => l.servicePort).join(',')}`),
    ['aaa/web: 8443', 'projectcontour/envoy: 443'],
  );
});
