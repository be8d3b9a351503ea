// Property: whatever mix of writes, deletes, dropped watches, restarts and
// compactions happens, the cache converges to exactly what the API server
// holds (no update lost, no delete missed, no stale object kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource } from '../../src/kube/index.ts';
import { startApi, waitFor } from './helpers.ts';

type Op =
  | { op: 'put'; name: string; port: number }
  | { op: 'delete'; name: string }
  | { op: 'drop' }
  | { op: 'compact' }
  | { op: 'restart' }
  | { op: 'yield' }; // let the informers catch up part-way

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('put' as const), name: fc.constantFrom('a', 'b', 'c', 'd'), port: fc.integer({ min: 1, max: 65535 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), name: fc.constantFrom('a', 'b', 'c', 'd') }) },
  { weight: 1, arbitrary: fc.constant({ op: 'drop' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'yield' as const }) },
);

test('the cache converges to the server state under drops, restarts and 410s (property)', async () => {
  const { api, kubeconfig } = await startApi({ historyLimit: 50 });
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig, holdoffMs: 1, holdoffMaxMs: 5, backoff: { baseMs: 10, maxMs: 100 } });
  await source.start();
  await waitFor('ready', () => source.ready());
  const serverState = () =>
    api
      .list('services')
      .map((s) => `${s.metadata.name}:${(s.spec as { ports: { port: number }[] }).ports[0]!.port}`)
      .sort()
      .join(',');
  const cacheState = () =>
    cache
      .snapshot()
      .services.map((s) => `${s.metadata.name}:${s.spec.ports![0]!.port}`)
      .sort()
      .join(',');
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        for (const o of ops) {
          switch (o.op) {
            case 'put':
              api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: o.name, namespace: 'default' }, spec: { ports: [{ port: o.port }] } } as never);
              break;
            case 'delete':
              api.delete('services', 'default', o.name);
              break;
            case 'drop':
              api.dropWatches();
              break;
            case 'compact':
              api.compact();
              break;
            case 'restart':
              await api.restart();
              break;
            case 'yield':
              await new Promise((r) => setImmediate(r));
              break;
          }
        }
        const want = serverState();
        await waitFor(`cache = server (${want})`, () => cacheState() === want, 10_000);
      }),
      { numRuns: 25, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true },
    );
  } finally {
    await source.stop();
    await api.stop();
  }
});
