// Global rate limits in the proxy against a real gRPC rate limit service on
// loopback: the descriptors each entry kind makes, OVER_LIMIT answered at the
// edge (429, x-envoy-ratelimited, RL), OK passing with the service's headers,
// the X-RateLimit headers, failures closed (500 RLSE) unless failOpen, a
// route's own descriptors, global.disabled, and gRPC clients' status.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { ExtensionCluster, GlobalRateLimitPolicyConfig, RateLimitServiceConfig } from '../../src/dag/index.ts';
import { proxySeries, seriesKey } from '../../src/metrics/index.ts';
import { CODE } from '../../src/proxy/rate-limit/index.ts';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';
import { countingLimits, HANG, startRateLimitServer, type RateLimitServer } from './rate-limit-server.ts';

function extension(name: string, port: number): ExtensionCluster {
  return {
    name,
    namespace: 'rl',
    extensionService: name.split('/')[2]!,
    protocol: 'h2c',
    services: [{ service: 'ratelimit', port: 8081, weight: 0, endpoints: [{ address: '127.0.0.1', port }] }],
    loadBalancer: 'RoundRobin',
    connectTimeoutMs: 2000,
    idleConnectionTimeoutMs: null,
  };
}

const SERVICE: RateLimitServiceConfig = { extensionCluster: 'extension/rl/ratelimit', domain: 'edge', failOpen: false, enableXRateLimitHeaders: false, enableResourceExhaustedCode: false, timeoutMs: 2000 };
const policy = (descriptors: GlobalRateLimitPolicyConfig['descriptors'], service: Partial<RateLimitServiceConfig> = {}): GlobalRateLimitPolicyConfig => ({ service: { ...SERVICE, ...service }, descriptors });
const generic = (value: string) => ({ entries: [{ kind: 'genericKey' as const, key: '', value }] });

let rls: RateLimitServer;
let backend: Backend;
let closedPort: number;
let p: Started;

before(async () => {
  rls = await startRateLimitServer(() => ({}));
  backend = await httpBackend('b');
  const tmp = net.createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
  closedPort = (tmp.address() as net.AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
  const kinds = policy([
    {
      entries: [
        { kind: 'genericKey', key: '', value: 'all' },
        { kind: 'genericKey', key: 'vhost', value: 'kinds.test' },
        { kind: 'requestHeader', headerName: 'x-tenant', descriptorKey: 'tenant' },
        { kind: 'requestHeaderValueMatch', headers: [{ name: 'x-plan', kind: 'exact', value: 'free' }], expectMatch: true, value: 'free-plan' },
        { kind: 'remoteAddress' },
      ],
    },
    { entries: [{ kind: 'requestHeaderValueMatch', headers: [{ name: 'x-bot', kind: 'present' }], expectMatch: false, value: 'human' }] },
  ]);
  p = await startProxy(
    config({
      clusters: [cluster('b', [ep(backend)])],
      extensionClusters: [extension('extension/rl/ratelimit', rls.port), extension('extension/rl/down', closedPort)],
      httpVirtualHosts: [
        { ...vhost('kinds.test', [route({ to: 'b' })]), globalRateLimit: kinds },
        {
          ...vhost('routes.test', [
            { ...route({ to: 'b', path: { kind: 'prefix', value: '/own' } }), globalRateLimit: policy([generic('route')]) },
            { ...route({ to: 'b', path: { kind: 'prefix', value: '/off' } }), ignoreVirtualHostGlobalRateLimit: true },
            route({ to: 'b' }),
          ]),
          globalRateLimit: policy([generic('vhost')]),
        },
        { ...vhost('headers.test', [route({ to: 'b' })]), globalRateLimit: policy([generic('h')], { enableXRateLimitHeaders: true }) },
        { ...vhost('grpc.test', [route({ to: 'b' })]), globalRateLimit: policy([generic('g')], { enableResourceExhaustedCode: true }) },
        { ...vhost('down.test', [route({ to: 'b' })]), globalRateLimit: policy([generic('d')], { extensionCluster: 'extension/rl/down' }) },
        { ...vhost('open.test', [route({ to: 'b' })]), globalRateLimit: policy([generic('o')], { extensionCluster: 'extension/rl/down', failOpen: true }) },
        { ...vhost('slow.test', [route({ to: 'b' })]), globalRateLimit: policy([generic('slow')], { timeoutMs: 200 }) },
        { ...vhost('missing.test', [route({ to: 'b' })]), globalRateLimit: policy([generic('m')], { extensionCluster: 'extension/rl/none' }) },
      ],
    }),
  );
});

after(async () => {
  await p.close();
  await rls.close();
  await backend.close();
});

const H = (host: string, extra: Record<string, string> = {}) => ({ host, ...extra });

test('descriptors: every entry kind in order; one whose header is missing or whose match fails is not sent; domain and hits_addend 1', async () => {
  rls.handler = () => ({});
  rls.requests.length = 0;
  assert.equal((await get(p.port(), '/', H('kinds.test', { 'x-tenant': 'acme', 'x-plan': 'free' }))).status, 200);
  const last = rls.requests.at(-1)!;
  assert.equal(last.domain, 'edge');
  assert.equal(last.hits_addend, 1);
  const entries = (q: typeof last) => q.descriptors.map((d) => ({ entries: d.entries }));
  assert.deepEqual(entries(last), [
      {
        entries: [
          { key: 'generic_key', value: 'all' },
          { key: 'vhost', value: 'kinds.test' },
          { key: 'tenant', value: 'acme' },
          { key: 'header_match', value: 'free-plan' },
          { key: 'remote_address', value: '127.0.0.1' },
        ],
      },
      { entries: [{ key: 'header_match', value: 'human' }] },
  ]);
  // No x-tenant: the first descriptor cannot be made; a bot: the second is not either.
  assert.equal((await get(p.port(), '/', H('kinds.test', { 'x-bot': '1' }))).status, 200);
  assert.equal(rls.requests.length, 1, 'no descriptor, no call');
  assert.equal((await get(p.port(), '/', H('kinds.test', { 'x-plan': 'paid' }))).status, 200);
  assert.deepEqual(entries(rls.requests.at(-1)!), [{ entries: [{ key: 'header_match', value: 'human' }] }]);
});

test('OVER_LIMIT: 429 with x-envoy-ratelimited and the service\'s headers, RL in the access log, the backend never sees it', async () => {
  rls.handler = countingLimits(2);
  const seen = backend.seen.length;
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await get(p.port(), `/c${i}`, H('routes.test'))).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.equal(backend.seen.length, seen + 2);
  rls.handler = () => ({ overall_code: CODE.OVER_LIMIT, response_headers_to_add: [{ key: 'Retry-After', value: '30' }] });
  const r = await get(p.port(), '/over', H('routes.test'));
  assert.equal(r.status, 429);
  assert.equal(r.headers['x-envoy-ratelimited'], 'true');
  assert.equal(r.headers['retry-after'], '30');
  assert.equal(r.body, '');
  assert.equal(p.logs.find((l) => l.path === '/over')!.responseFlags, 'RL');
});

test('OK: the request goes on with the service\'s request headers; its response headers reach the client', async () => {
  rls.handler = () => ({ request_headers_to_add: [{ key: 'X-RateLimited-By', value: 'rls' }], response_headers_to_add: [{ key: 'X-Quota', value: 'fine' }] });
  const r = await get(p.port(), '/ok', H('routes.test'));
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-quota'], 'fine');
  assert.equal(backend.seen.at(-1)!.headers['x-ratelimited-by'], 'rls');
});

test('a route\'s own descriptors replace the virtual host\'s; global.disabled sends none', async () => {
  rls.handler = () => ({});
  rls.requests.length = 0;
  await get(p.port(), '/own', H('routes.test'));
  await get(p.port(), '/off', H('routes.test'));
  await get(p.port(), '/other', H('routes.test'));
  assert.deepEqual(rls.requests.map((q) => q.descriptors[0]!.entries[0]!.value), ['route', 'vhost']);
});

test('enableXRateLimitHeaders: X-RateLimit-Limit, -Remaining, -Reset from the tightest descriptor, on answers and on limited requests', async () => {
  rls.handler = countingLimits(1);
  const ok = await get(p.port(), '/', H('headers.test'));
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['x-ratelimit-limit'], '1, 1;w=60');
  assert.equal(ok.headers['x-ratelimit-remaining'], '0');
  assert.equal(ok.headers['x-ratelimit-reset'], '42');
  const over = await get(p.port(), '/', H('headers.test'));
  assert.equal(over.status, 429);
  assert.equal(over.headers['x-ratelimit-limit'], '1, 1;w=60');
  // Off by default (Contour's default).
  rls.handler = countingLimits(5);
  assert.equal((await get(p.port(), '/fresh', H('routes.test'))).headers['x-ratelimit-limit'], undefined);
});

test('a service that cannot be reached, is missing or answers late: 500 RLSE (fail closed); with failOpen the request goes on', async () => {
  for (const host of ['down.test', 'missing.test']) {
    const r = await get(p.port(), '/', H(host));
    assert.equal(r.status, 500, host);
  }
  assert.equal(p.logs.filter((l) => l.authority === 'down.test').at(-1)!.responseFlags, 'RLSE');
  assert.equal((await get(p.port(), '/', H('open.test'))).status, 200);
  rls.handler = () => HANG;
  const started = Date.now();
  assert.equal((await get(p.port(), '/', H('slow.test'))).status, 500);
  assert.ok(Date.now() - started < 5000);
  rls.handler = () => ({});
});

test('gRPC clients: UNAVAILABLE when limited, RESOURCE_EXHAUSTED with enableResourceExhaustedCode, with x-envoy-ratelimited; gRPC-Web alike', async () => {
  rls.handler = () => ({ overall_code: CODE.OVER_LIMIT });
  const grpc = { 'content-type': 'application/grpc' };
  const limited = await get(p.port(), '/svc/M', H('routes.test', grpc));
  assert.equal(limited.status, 200);
  assert.equal(limited.headers['grpc-status'], '14');
  assert.equal(limited.headers['content-type'], 'application/grpc');
  assert.equal(limited.headers['x-envoy-ratelimited'], 'true');
  assert.equal((await get(p.port(), '/svc/M', H('grpc.test', grpc))).headers['grpc-status'], '8');
  // The grpc_web filter runs first: the ratelimit filter sees a gRPC request.
  const web = await get(p.port(), '/svc/M', H('grpc.test', { 'content-type': 'application/grpc-web' }));
  assert.equal(web.status, 200);
  assert.equal(web.headers['grpc-status'], '8');
  assert.equal(web.headers['content-type'], 'application/grpc-web+proto');
  assert.equal(web.headers['x-envoy-ratelimited'], 'true');
  rls.handler = () => ({});
});

test("counters in the route target cluster's scope, as Envoy's cluster.<name>.ratelimit.*: ok, over_limit, error, failure_mode_allowed", async () => {
  const read = (): Record<string, number> => {
    const m = proxySeries(p.proxy.metricsSource(0));
    const out: Record<string, number> = {};
    for (const s of ['ok', 'over_limit', 'error', 'failure_mode_allowed']) out[s] = m.counters[seriesKey(`envoy_cluster_ratelimit_${s}`, { envoy_cluster_name: 'default_b_80' })] ?? 0;
    return out;
  };
  const before = read();
  rls.handler = countingLimits(2);
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await get(p.port(), '/count', H('routes.test'))).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.equal((await get(p.port(), '/', H('down.test'))).status, 500);
  assert.equal((await get(p.port(), '/', H('missing.test'))).status, 500);
  assert.equal((await get(p.port(), '/', H('open.test'))).status, 200);
  // No descriptor can be made: no call, nothing counted.
  assert.equal((await get(p.port(), '/', H('kinds.test', { 'x-bot': '1' }))).status, 200);
  const after = read();
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k]!]));
  assert.deepEqual(delta, { ok: 2, over_limit: 1, error: 3, failure_mode_allowed: 1 });
  rls.handler = () => ({});
});
