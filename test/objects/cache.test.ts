import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache } from '../../src/objects/cache.ts';
import type { Service } from '../../src/objects/types.ts';

function svc(ns: string, name: string, port = 80): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec: { ports: [{ port }] } };
}

test('snapshot sorts by namespace then name and reports changes once', () => {
  const cache = new ObjectCache();
  let changes = 0;
  cache.onChange(() => changes++);
  assert.equal(cache.upsert(svc('b', 'x'), {}), true);
  assert.equal(cache.upsert(svc('a', 'y'), {}), true);
  assert.equal(cache.upsert(svc('a', 'x'), {}), true);
  assert.equal(cache.upsert(svc('a', 'x'), {}), false, 'identical object is not a change');
  assert.equal(changes, 3);
  assert.deepEqual(
    cache.snapshot().services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
    ['a/x', 'a/y', 'b/x'],
  );
});

test('replaceAll fires only when content differs; reject drops the valid version', () => {
  const cache = new ObjectCache();
  let changes = 0;
  cache.onChange(() => changes++);
  cache.replaceAll([{ object: svc('a', 'x'), source: {} }], []);
  cache.replaceAll([{ object: svc('a', 'x'), source: {} }], []);
  assert.equal(changes, 1);
  cache.replaceAll([{ object: svc('a', 'x', 81), source: {} }], []);
  assert.equal(changes, 2);
  cache.reject({ kind: 'Service', namespace: 'a', name: 'x', source: {}, errors: [{ path: 'spec.ports[0].port', message: 'bad' }] });
  assert.equal(cache.snapshot().services.length, 0);
  assert.equal(cache.snapshot().rejected.length, 1);
  assert.equal(cache.remove('Service', 'a', 'x'), true);
  assert.equal(cache.snapshot().rejected.length, 0);
});
