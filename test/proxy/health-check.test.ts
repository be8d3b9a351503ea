import assert from 'node:assert/strict';
import { waitFor } from '../support/wait.ts';
import { after, before, test } from 'node:test';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let good: Backend;
let sick: Backend;
let p: Started;
let sickHealthy = false;
const checks: { host?: string; url?: string }[] = [];

before(async () => {
  good = await httpBackend('good', (req, res) => {
    if (req.url === '/healthz') checks.push({ host: req.headers.host, url: req.url });
    res.end('good');
  });
  sick = await httpBackend('sick', (req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(sickHealthy ? 200 : 500);
      res.end();
      return;
    }
    res.end('sick');
  });
  p = await startProxy(
    config({
      clusters: [
        cluster('hc', [ep(good), ep(sick)], {
          healthCheck: {
            path: '/healthz',
            host: 'contour-envoy-healthcheck',
            intervalMs: 50,
            timeoutMs: 500,
            unhealthyThreshold: 2,
            healthyThreshold: 2,
            expectedStatuses: [{ start: 200, end: 300 }],
          },
        }),
      ],
      httpVirtualHosts: [vhost('hc.test', [route({ to: 'hc' })])],
    }),
  );
});

after(async () => {
  await p.close();
  await Promise.all([good.close(), sick.close()]);
});


async function spread(n: number): Promise<Set<string>> {
  const s = new Set<string>();
  for (let i = 0; i < n; i++) s.add((await get(p.port(), '/', { host: 'hc.test' })).body);
  return s;
}

test('an endpoint failing active health checks gets no traffic, and returns when healthy', async () => {
  await waitFor('health check failures', async () => p.proxy.stats().healthCheckFailures! >= 2);
  await waitFor('sick endpoint removed', async () => (await spread(6)).size === 1);
  assert.deepEqual([...(await spread(10))], ['good']);
  assert.equal(checks.at(-1)!.host, 'contour-envoy-healthcheck');
  sickHealthy = true;
  await waitFor('sick endpoint restored', async () => (await spread(6)).has('sick'));
});
