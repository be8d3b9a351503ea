// The benchmark's readers of wrk and h2load output, and its statistics. The
// benchmark itself is not part of the test suite; these parsers are.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseWrk, parseH2load, parseH2loadCounts, quantile } from '../../bench/lib/load.ts';
import { median } from '../../bench/lib/report.ts';

const WRK_OK = `Running 1s test @ http://127.0.0.1:39111/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    52.72us   24.10us   0.95ms   87.35%
    Req/Sec    59.75k    16.85k   85.87k    80.00%
  Latency Distribution
     50%   52.00us
     75%   65.00us
     90%   74.00us
     99%    1.26ms
  59324 requests in 1.00s, 8.43MB read
Requests/sec:  59308.34
Transfer/sec:      8.43MB
`;

const WRK_ERRORS = `Running 1s test @ http://127.0.0.1:39111/e
  1 threads and 4 connections
  Latency Distribution
     50%   53.00us
     75%   60.00us
     90%   71.00us
     99%  110.00us
  59989 requests in 1.10s, 21.40MB read
  Socket errors: connect 2, read 7, write 1, timeout 3
  Non-2xx or 3xx responses: 59989
Requests/sec:  54530.10
Transfer/sec:     19.45MB
`;

const H2_OK = `starting benchmark...
Application protocol: h2

finished in 2.00s, 11220.50 req/s, 1.52MB/s
requests: 22441 total, 22441 started, 22441 done, 22440 succeeded, 1 failed, 0 errored, 0 timeout
status codes: 22440 2xx, 0 3xx, 0 4xx, 1 5xx
traffic: 3.05MB (3198000) total, 0B (0) headers (space savings 0.00%), 0B (0) data
`;

test('wrk: requests/s, transfer, p50 and p99 in milliseconds', () => {
  const r = parseWrk(WRK_OK);
  assert.equal(r.requests, 59324);
  assert.equal(r.rps, 59308.34);
  assert.equal(r.p50Ms, 0.052);
  assert.equal(r.p99Ms, 1.26);
  assert.equal(r.bytesPerSec, 8.43 * 1024 * 1024);
  assert.equal(r.errors, 0);
});

test('wrk: non-2xx and socket errors are errors; read errors (server closes) are only reported', () => {
  const r = parseWrk(WRK_ERRORS);
  assert.equal(r.errors, 59989 + 2 + 1 + 3);
  assert.match(r.errorDetail, /59989 non-2xx/);
  assert.match(r.errorDetail, /read 7/);
});

test('wrk: output that is not a --latency report is refused with the text', () => {
  assert.throws(() => parseWrk(''), /not a wrk --latency report/);
  assert.throws(() => parseWrk(WRK_OK.replace(/^\s+99%.*$/m, '')), /not a wrk/);
  assert.throws(() => parseWrk(WRK_OK.replace('52.00us', '52.00parsecs')), /unreadable duration/);
  assert.throws(() => parseWrk(WRK_OK.replace('59324 requests', '0 requests')), /no request/);
});

test('h2load: summary plus per-request log gives p50/p99 of 2xx answers', () => {
  const log = Array.from({ length: 100 }, (_, i) => `1700000000000000\t200\t${(i + 1) * 1000}`).join('\n') + '\n1700000000000000\t503\t999999999\n';
  const r = parseH2load(H2_OK, log);
  assert.equal(r.rps, 11220.5);
  assert.equal(r.requests, 22440);
  assert.equal(r.p50Ms, 50);
  assert.equal(r.p99Ms, 99);
  assert.equal(r.errors, 2);
  assert.equal(r.bytesPerSec, 1.52 * 1024 * 1024);
});

test('h2load: malformed or empty reports are refused', () => {
  assert.throws(() => parseH2load('', ''), /not an h2load report/);
  assert.throws(() => parseH2load(H2_OK.replace(/^status codes.*$/m, ''), ''), /not an h2load report/);
  const none = H2_OK.replace('22440 succeeded', '0 succeeded');
  assert.throws(() => parseH2load(none, ''), /no request/);
});

test('parsers never throw anything but Error on arbitrary text', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => {
      for (const f of [() => parseWrk(s), () => parseH2load(s, s)]) {
        try {
          f();
        } catch (err) {
          assert.ok(err instanceof Error);
        }
      }
    }),
  );
});

test('median and nearest-rank quantile', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
  fc.assert(
    fc.property(fc.array(fc.integer(), { minLength: 1 }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, q) => {
      const s = [...xs].sort((a, b) => a - b);
      const v = quantile(s, q);
      assert.ok(v >= s[0]! && v <= s[s.length - 1]!);
      const m = median(xs);
      assert.ok(m >= s[0]! && m <= s[s.length - 1]!);
    }),
  );
});

test('h2load counts: done, succeeded, failures of every kind and non-2xx answers', () => {
  assert.deepEqual(parseH2loadCounts(H2_OK), { done: 22441, succeeded: 22440, failed: 1, non2xx: 1 });
  const broken = H2_OK.replace('1 failed, 0 errored, 0 timeout', '2 failed, 3 errored, 4 timeout').replace('0 4xx', '7 4xx');
  assert.deepEqual(parseH2loadCounts(broken), { done: 22441, succeeded: 22440, failed: 9, non2xx: 8 });
  assert.throws(() => parseH2loadCounts('connection refused'), /not an h2load report/);
  assert.throws(() => parseH2loadCounts(H2_OK.replace(/^status codes.*$/m, '')), /not an h2load report/);
});
