// Hostname intersection of listener and route hostnames (the Gateway API's
// rules; conformance HTTPRouteHostnameIntersection, HTTPRouteListenerHostnameMatching).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { intersectHostname, routeHostnames } from '../../src/dag/gateway-hostnames.ts';

const rows: [listener: string, route: string, want: string | null][] = [
  ['', '', ''],
  ['', 'a.example.com', 'a.example.com'],
  ['a.example.com', '', 'a.example.com'],
  ['a.example.com', 'a.example.com', 'a.example.com'],
  ['a.example.com', 'A.Example.com', 'a.example.com'],
  ['a.example.com', 'b.example.com', null],
  ['*.example.com', 'a.example.com', 'a.example.com'],
  ['*.example.com', 'a.b.example.com', 'a.b.example.com'],
  ['*.example.com', 'example.com', null],
  ['a.example.com', '*.example.com', 'a.example.com'],
  ['example.com', '*.example.com', null],
  ['*.example.com', '*.example.com', '*.example.com'],
  ['*.example.com', '*.b.example.com', '*.b.example.com'],
  ['*.b.example.com', '*.example.com', '*.b.example.com'],
  ['*.example.com', '*.example.org', null],
  ['*.example.com', 'xexample.com', null],
];

for (const [l, r, want] of rows) {
  test(`listener "${l}" x route "${r}" -> ${want === null ? 'none' : `"${want}"`}`, () => assert.equal(intersectHostname(l, r), want));
}

test('routeHostnames: "*" when neither names a host; only the names that intersect, once each', () => {
  assert.deepEqual(routeHostnames('', []), ['*']);
  assert.deepEqual(routeHostnames('*.example.com', []), ['*.example.com']);
  assert.deepEqual(routeHostnames('*.example.com', ['a.example.com', 'A.example.com', 'x.org']), ['a.example.com']);
  assert.deepEqual(routeHostnames('a.example.com', ['x.org']), []);
});

const label = fc.stringMatching(/^[a-z0-9]{1,5}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const host = fc.oneof(fc.constant(''), name, name.map((n) => `*.${n}`));

test('property: intersection is symmetric and the result is served by both sides', () => {
  fc.assert(
    fc.property(host, host, (a, b) => {
      const x = intersectHostname(a, b);
      assert.equal(x, intersectHostname(b, a));
      if (x === null || x === '') return;
      // The result is one of the inputs, or both agree.
      assert.ok(x === a || x === b, `${x} is ${a} or ${b}`);
    }),
    { numRuns: 2000 },
  );
});
