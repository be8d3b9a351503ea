// The hot-path pieces: a histogram observation lands in the first bucket
// whose bound it does not exceed (Prometheus' le), status classes, and the
// cardinality bound that folds every key past the limit into one series.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedSeries, ENVOY_BUCKETS_MS, LatencyHistogram, OTHER, RequestCounters } from '../../src/metrics/index.ts';

test('a value equal to a bound counts in that bucket; above every bound, in the last', () => {
  const h = new LatencyHistogram();
  h.observe(0.5);
  h.observe(0.51);
  h.observe(1);
  h.observe(7_200_000);
  assert.equal(h.counts.length, ENVOY_BUCKETS_MS.length + 1);
  assert.equal(h.counts[0], 1, '0.5 <= 0.5');
  assert.equal(h.counts[1], 2, '0.51 and 1 <= 1');
  assert.equal(h.counts[ENVOY_BUCKETS_MS.length], 1, 'two hours: above 3600000');
  assert.equal(h.count, 4);
  assert.equal(h.sum, 0.5 + 0.51 + 1 + 7_200_000);
});

test('requests by status class; a request with no response counts in none', () => {
  const r = new RequestCounters();
  for (const status of [101, 200, 204, 302, 404, 503, 0]) {
    r.start();
    r.end(status, 1);
  }
  assert.deepEqual(r.byClass, [1, 2, 1, 1, 1]);
  assert.equal(r.total, 7);
  assert.equal(r.active, 0);
});

test('the bound: the first keys in order get their own counters, the rest share one, kept across admits', () => {
  const s = new BoundedSeries(2, () => new RequestCounters());
  s.admit(['a', 'b', 'c']);
  s.get('a').record(200, 1);
  s.get('c').record(200, 1);
  s.get('d').record(500, 1);
  assert.equal(s.get('a').total, 1);
  assert.equal(s.get('c'), s.other, 'past the limit');
  assert.equal(s.other.total, 2);
  s.admit(['a', 'x', 'b']);
  assert.equal(s.get('a').total, 1, 'a stayed: its counts too');
  assert.equal(s.get('x').total, 0);
  assert.equal(s.has('b'), false, 'b fell past the limit');
  assert.equal(OTHER, '(other)');
});
