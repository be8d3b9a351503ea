// One scrape over many workers: counters add up, a replaced worker's last
// counts stay in the total so it never goes backwards, gauges and views
// leave with their process, and a worker that does not answer keeps its
// last report.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MetricsAggregator, SeriesWriter, seriesKey, type WorkerMetrics } from '../../src/metrics/index.ts';

function report(o: { requests: number; active: number; healthy: number; latencies?: number[] }): WorkerMetrics {
  const w = new SeriesWriter();
  w.counter('envoy_http_downstream_rq_total', { envoy_http_conn_manager_prefix: 'ingress_http' }, o.requests);
  w.gauge('envoy_http_downstream_cx_active', { envoy_http_conn_manager_prefix: 'ingress_http' }, o.active);
  w.view('envoy_cluster_membership_healthy', { envoy_cluster_name: 'default_echo_80' }, o.healthy);
  const counts = new Array<number>(20).fill(0);
  for (const ms of o.latencies ?? []) counts[ms < 1 ? 1 : 19]!++;
  w.histogram('envoy_http_downstream_rq_time', { envoy_http_conn_manager_prefix: 'ingress_http' }, { counts, sum: (o.latencies ?? []).reduce((a, b) => a + b, 0), count: (o.latencies ?? []).length });
  return w.out;
}

const RQ = seriesKey('envoy_http_downstream_rq_total', { envoy_http_conn_manager_prefix: 'ingress_http' });
const CX = seriesKey('envoy_http_downstream_cx_active', { envoy_http_conn_manager_prefix: 'ingress_http' });
const HEALTHY = seriesKey('envoy_cluster_membership_healthy', { envoy_cluster_name: 'default_echo_80' });
const TIME = seriesKey('envoy_http_downstream_rq_time', { envoy_http_conn_manager_prefix: 'ingress_http' });

test('counters and gauges add up over workers; views show the least healthy worker', () => {
  const a = new MetricsAggregator();
  a.report('proxy/0', 101, report({ requests: 5, active: 2, healthy: 3, latencies: [0.5, 2] }));
  a.report('proxy/1', 102, report({ requests: 7, active: 1, healthy: 2, latencies: [4000] }));
  const t = a.total();
  assert.equal(t.counters[RQ], 12);
  assert.equal(t.gauges[CX], 3);
  assert.equal(t.views[HEALTHY], 2);
  assert.equal(t.histograms[TIME]!.count, 3);
  assert.equal(t.histograms[TIME]!.counts[1], 1, 'the one under 1 ms');
  assert.equal(t.histograms[TIME]!.counts[19], 2, 'the others, one from each worker');
  assert.equal(t.histograms[TIME]!.sum, 4002.5);
});

test('a replaced worker: its last counts stay as a base, its gauges go, the new one adds from zero', () => {
  const a = new MetricsAggregator();
  a.report('proxy/0', 101, report({ requests: 40, active: 5, healthy: 1, latencies: [1, 1] }));
  a.report('proxy/1', 102, report({ requests: 10, active: 1, healthy: 1 }));
  assert.equal(a.total().counters[RQ], 50);
  // proxy/0 died and was forked again as pid 201: it starts from zero.
  a.report('proxy/0', 201, report({ requests: 3, active: 0, healthy: 1 }));
  const t = a.total();
  assert.equal(t.counters[RQ], 53, 'the dead process its 40, the new one its 3, the other its 10');
  assert.equal(t.gauges[CX], 1, 'open connections of the dead process are gone');
  assert.equal(t.histograms[TIME]!.count, 2, 'its latencies too stay counted');
  // The same process reporting again replaces its own report (no double count).
  a.report('proxy/0', 201, report({ requests: 4, active: 0, healthy: 1 }));
  assert.equal(a.total().counters[RQ], 54);
});

test('a worker that does not answer a scrape keeps its last report', () => {
  const a = new MetricsAggregator();
  a.report('balancer/0', 7, report({ requests: 9, active: 1, healthy: 1 }));
  a.report('balancer/1', 8, report({ requests: 1, active: 1, healthy: 1 }));
  a.report('balancer/1', 8, report({ requests: 2, active: 0, healthy: 1 }));
  assert.equal(a.total().counters[RQ], 11);
});

test('property: whatever the restarts and missed scrapes, no counter total ever goes backwards', () => {
  const step = fc.record({
    slot: fc.integer({ min: 0, max: 2 }),
    restart: fc.boolean(),
    grow: fc.integer({ min: 0, max: 50 }),
  });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const a = new MetricsAggregator();
      const pid = [1, 2, 3];
      const counted = [0, 0, 0];
      let last = 0;
      let nextPid = 10;
      for (const s of steps) {
        if (s.restart) {
          pid[s.slot] = nextPid++;
          counted[s.slot] = 0;
        }
        counted[s.slot]! += s.grow;
        a.report(`proxy/${s.slot}`, pid[s.slot]!, report({ requests: counted[s.slot]!, active: 0, healthy: 1 }));
        const now = a.total().counters[RQ] ?? 0;
        if (now < last) return false;
        last = now;
      }
      return true;
    }),
  );
});
