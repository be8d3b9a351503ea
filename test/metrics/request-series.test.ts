// Which virtual hosts and routes get series of their own: the first 100
// host names in name order and the first 500 of their routes; HTTP and TLS
// virtual hosts of one name share one series; everything else is (other).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTE_SERIES_LIMIT, RequestSeries, VHOST_SERIES_LIMIT } from '../../src/proxy/request-series.ts';
import { config, route, secureVhost, vhost } from '../proxy/fixtures.ts';

const name = (i: number): string => `h${String(i).padStart(3, '0')}.example.com`;

test('the first VHOST_SERIES_LIMIT host names have their own series; plain and TLS share one', () => {
  const http = Array.from({ length: 150 }, (_, i) => vhost(name(i), [route({ to: 'c' })]));
  const https = [secureVhost(name(0), [route({ to: 'c' })]), secureVhost(name(120), [route({ to: 'c' })])];
  const s = new RequestSeries();
  s.apply(config({ httpVirtualHosts: http, httpsVirtualHosts: https }));
  assert.equal(VHOST_SERIES_LIMIT, 100);
  assert.equal([...s.vhosts.entries()].length, 100);
  assert.equal(s.vhost(http[0]!), s.vhost(https[0]!), 'one series per host name');
  assert.notEqual(s.vhost(http[99]!), s.vhosts.other);
  assert.equal(s.vhost(http[100]!), s.vhosts.other, 'the 101st name folds');
  assert.equal(s.vhost(https[1]!), s.vhosts.other);
  s.vhost(http[3]!).record(200, 1);
  // A later config with the same names keeps the counts (new objects, same names).
  s.apply(config({ httpVirtualHosts: http.map((v) => vhost(v.fqdn, v.routes)) }));
  assert.equal([...s.vhosts.entries()].find(([k]) => k === name(3))![1].total, 1);
});

test('routes: keyed by host, path match and HTTPProxy; past ROUTE_SERIES_LIMIT they fold', () => {
  const routes = Array.from({ length: 600 }, (_, i) => route({ to: 'c', path: { kind: 'prefix', value: `/p${i}` }, origin: { namespace: 'ns', name: 'web' } }));
  const v = vhost('a.example.com', routes);
  const s = new RequestSeries();
  s.apply(config({ httpVirtualHosts: [v] }));
  const entries = [...s.routes.entries()];
  assert.equal(entries.length, ROUTE_SERIES_LIMIT);
  assert.deepEqual(entries[0]![1].key, { vhost: 'a.example.com', route: 'prefix:/p0', httpproxy: 'ns/web' });
  assert.notEqual(s.route(routes[499]!), s.routes.other.counters);
  assert.equal(s.route(routes[500]!), s.routes.other.counters);
  assert.deepEqual(s.routes.other.key, { vhost: '(other)', route: '(other)', httpproxy: '(other)' });
});
