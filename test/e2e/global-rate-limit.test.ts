// Global rate limits through `isobar serve --config`: the config file's
// rateLimitService names an ExtensionService (h2c) in front of a real
// grpc-js RateLimitService on loopback. The descriptors of every entry kind
// as the service receives them (a virtual host's, a route's own, the
// config file's default for a proxy without one, none for a route that
// disables them), OVER_LIMIT answered 429 at the edge with the X-RateLimit
// headers and never reaching the backend, the service gone and failOpen
// false: 500, still not reaching it (fail closed), and the counters on
// /metrics with Envoy's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startDemoBackend } from '../../src/demo/index.ts';
import type { RateLimitRequestMsg } from '../../src/proxy/rate-limit/index.ts';
import { countingLimits, startRateLimitServer } from '../proxy/rate-limit-server.ts';
import { edgeCall, freePort, startServe, waitFor, type EdgeAnswer, type ServeProcess } from './support.ts';

const FQDN = 'app.example.test';
const OTHER = 'other.example.test';

/** Plain HTTP to the proxy's listener, from the loopback address `from`. */
const get = (port: number, host: string, path: string, headers: Record<string, string> = {}, from?: string): Promise<EdgeAnswer> => edgeCall({ port, ca: '', plain: true, host, path, headers, from });

const entries = (r: RateLimitRequestMsg | undefined) => r?.descriptors.map((d) => d.entries.map((e) => `${e.key}=${e.value}`));

test('global rate limit through serve --config: descriptors of each kind, 429s, fail closed, /metrics', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-global-rl-'));
  const manifests = join(work, 'manifests');
  await mkdir(manifests);
  const rls = await startRateLimitServer(() => ({}));
  const backend = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'app' });
  let backendRequests = 0;
  backend.server.on('request', () => backendRequests++);
  const svc = (ns: string, name: string, port: number, target: number) => [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ port, targetPort: target }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: target }] }] },
  ];
  const objects = [
    ...svc('rl', 'ratelimit', 8081, rls.port),
    ...svc('demo', 'app', 80, backend.port),
    {
      apiVersion: 'projectcontour.io/v1alpha1',
      kind: 'ExtensionService',
      metadata: { name: 'ratelimit', namespace: 'rl' },
      // A loaded test machine is slower than Envoy's 20 ms default.
      spec: { protocol: 'h2c', services: [{ name: 'ratelimit', port: 8081 }], timeoutPolicy: { response: '2s' } },
    },
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'app', namespace: 'demo' },
      spec: {
        virtualhost: {
          fqdn: FQDN,
          rateLimitPolicy: {
            global: {
              descriptors: [
                { entries: [{ genericKey: { value: 'app' } }, { genericKey: { key: 'tier', value: 'web' } }] },
                { entries: [{ requestHeader: { headerName: 'X-Tenant', descriptorKey: 'tenant' } }] },
                { entries: [{ requestHeaderValueMatch: { headers: [{ name: 'X-Plan', exact: 'free' }], value: 'free-plan' } }] },
                { entries: [{ requestHeaderValueMatch: { headers: [{ name: 'X-Bot', present: true }], expectMatch: false, value: 'human' } }] },
                { entries: [{ remoteAddress: {} }] },
              ],
            },
          },
        },
        routes: [
          { conditions: [{ prefix: '/own' }], services: [{ name: 'app', port: 80 }], rateLimitPolicy: { global: { descriptors: [{ entries: [{ genericKey: { key: 'route', value: 'own' } }] }] } } },
          { conditions: [{ prefix: '/off' }], services: [{ name: 'app', port: 80 }], rateLimitPolicy: { global: { disabled: true } } },
          { services: [{ name: 'app', port: 80 }] },
        ],
      },
    },
    // No policy of its own: the config file's default applies.
    { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name: 'other', namespace: 'demo' }, spec: { virtualhost: { fqdn: OTHER }, routes: [{ services: [{ name: 'app', port: 80 }] }] } },
  ];
  await writeFile(join(manifests, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  const configFile = join(work, 'isobar.yaml');
  await writeFile(
    configFile,
    stringify({
      rateLimitService: {
        extensionService: 'rl/ratelimit',
        domain: 'edge',
        failOpen: false,
        enableXRateLimitHeaders: true,
        defaultGlobalRateLimitPolicy: { descriptors: [{ entries: [{ genericKey: { key: 'default', value: 'yes' } }] }] },
      },
    }),
  );

  const port = await freePort();
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [manifests, '--config', configFile, '--roles', 'dag,proxy', '--state-dir', join(work, 'state'), '--http-port', String(port), '--https-port', String(await freePort()), '--workers', '1'],
      await freePort(),
    );
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${serve!.adminPort}/metrics`)).text();
      return Number(text.match(new RegExp(`^envoy_cluster_ratelimit_${name}\\{envoy_cluster_name="demo_app_80"\\} (\\S+)$`, 'm'))?.[1] ?? 0);
    };
    await waitFor('both proxies served', async () => ((await get(port, FQDN, '/')).status === 200 && (await get(port, OTHER, '/')).status === 200) || undefined, 15_000);
    // The service has answered OK to every call so far (the ones above too).
    const call = (i: number) => rls.requests[start + i];
    const start = rls.requests.length;

    // Every entry kind, in the order written; a header that is missing and
    // a match that fails drop their descriptors.
    assert.equal((await get(port, FQDN, '/a', { 'x-tenant': 'acme', 'x-plan': 'free' }, '127.0.0.5')).status, 200);
    assert.equal(call(0)!.domain, 'edge');
    assert.deepEqual(entries(call(0)), [['generic_key=app', 'tier=web'], ['tenant=acme'], ['header_match=free-plan'], ['header_match=human'], ['remote_address=127.0.0.5']]);
    assert.equal((await get(port, FQDN, '/b', { 'x-plan': 'paid', 'x-bot': '1' }, '127.0.0.6')).status, 200);
    assert.deepEqual(entries(call(1)), [['generic_key=app', 'tier=web'], ['remote_address=127.0.0.6']]);
    // A route's own replace the virtual host's; disabled sends nothing; the default.
    await get(port, FQDN, '/own/x');
    assert.deepEqual(entries(call(2)), [['route=own']]);
    assert.equal((await get(port, FQDN, '/off/x')).status, 200);
    assert.equal(rls.requests.length, start + 3, 'global.disabled: no call');
    await get(port, OTHER, '/');
    assert.deepEqual(entries(call(3)), [['default=yes']]);

    // Over the limit: 429 at the edge, with the draft-03 headers, the backend never sees it.
    const answeredOk = rls.requests.length;
    rls.handler = countingLimits(2);
    const seen = backendRequests;
    const statuses: number[] = [];
    let over: EdgeAnswer | undefined;
    for (let i = 0; i < 4; i++) {
      const r = await get(port, FQDN, `/own/${i}`);
      statuses.push(r.status);
      if (r.status === 429) over ??= r;
    }
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    assert.equal(backendRequests, seen + 2);
    assert.equal(over!.headers['x-envoy-ratelimited'], 'true');
    assert.equal(over!.headers['x-ratelimit-limit'], '2, 2;w=60');
    assert.equal(over!.headers['x-ratelimit-remaining'], '0');
    assert.equal(over!.headers['x-ratelimit-reset'], '42');

    // The service gone, failOpen false: refused with 500, still never reaching the backend.
    await rls.close();
    const down = await get(port, FQDN, '/own/down');
    assert.equal(down.status, 500);
    assert.equal(backendRequests, seen + 2);
    // A route that disables the limit does not need the service.
    assert.equal((await get(port, FQDN, '/off/still')).status, 200);

    // /metrics: each call in the scope of the cluster the request went to.
    // Every OK answer before the limit, two under it, two over it, one failure.
    await waitFor('the counters on /metrics', async () => ((await metric('error')) === 1 ? true : undefined), 10_000);
    assert.equal(await metric('ok'), answeredOk + 2);
    assert.equal(await metric('over_limit'), 2);
    assert.equal(await metric('error'), 1);
    assert.equal(await metric('failure_mode_allowed'), 0);
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rls.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
