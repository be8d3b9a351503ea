// Virtual host lookup: exact names, the one-label wildcard of HTTPProxy,
// the any-depth wildcard of Gateway API hostnames (the longest suffix
// wins), and "*" for every other host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostTable } from '../../src/proxy/host.ts';

test('exact first, then the one-label wildcard, then the longest any-depth wildcard, then "*"', () => {
  const t = new HostTable<string>();
  t.add('a.example.com', 'exact');
  t.add('*.example.com', 'one-label');
  t.add('*.gw.example.org', 'gw', true);
  t.add('*.deep.gw.example.org', 'deeper', true);
  const rows: [string, string | undefined][] = [
    ['a.example.com', 'exact'],
    ['b.example.com', 'one-label'],
    ['x.b.example.com', undefined],
    ['example.com', undefined],
    ['x.gw.example.org', 'gw'],
    ['x.y.z.gw.example.org', 'gw'],
    ['x.deep.gw.example.org', 'deeper'],
    ['gw.example.org', undefined],
  ];
  for (const [host, want] of rows) assert.equal(t.lookup(host), want, host);
  t.add('*', 'any');
  assert.equal(t.lookup('x.b.example.com'), 'any');
  assert.equal(t.lookup('localhost'), 'any');
  assert.equal(t.lookup('b.example.com'), 'one-label');
  assert.equal(t.size, 5);
});
