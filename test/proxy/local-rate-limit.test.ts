// Local rate limits on real requests through the proxy runtime: requests +
// burst pass, the next gets the configured answer (Envoy's 429
// "local_rate_limited" by default, the policy's status and headers, the RL
// flag) and never reaches the upstream; the virtual host's bucket is shared
// by its routes, a route's own policy has its own; tokens come back per
// fill interval; a config swap keeps a bucket whose policy is unchanged.
// The bucket's arithmetic is checked on a clock the test drives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalRateLimitConfig, VirtualHost } from '../../src/dag/index.ts';
import { IntervalTokenBucket } from '../../src/proxy/local-rate-limit-bucket.ts';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;
const limit = (maxTokens: number, tokensPerFill: number, extra: Partial<LocalRateLimitConfig> = {}): LocalRateLimitConfig => ({
  maxTokens,
  tokensPerFill,
  fillIntervalMs: 1000,
  statusCode: 429,
  responseHeaders: [],
  ...extra,
});
const limited = (fqdn: string, policy: LocalRateLimitConfig, routes = [route({ to: 'app' })]): VirtualHost => ({ ...vhost(fqdn, routes), localRateLimit: policy });

/** Built fresh each time: a swap hands the runtime new objects. */
function vhosts(swapPolicy = limit(1, 1, { fillIntervalMs: 3_600_000 })): VirtualHost[] {
  return [
    // requests 2, burst 1, per second (hour-long for the exact count).
    limited('burst.test', limit(3, 2, { fillIntervalMs: 3_600_000 })),
    limited('shared.test', limit(2, 2, { fillIntervalMs: 3_600_000 }), [
      route({
        to: 'app',
        path: { kind: 'prefix', value: '/own' },
        localRateLimit: limit(1, 1, { fillIntervalMs: 3_600_000, statusCode: 503, responseHeaders: [{ name: 'X-Limited', value: 'yes' }, { name: 'Retry-After', value: '3600' }] }),
      }),
      route({ to: 'app', path: { kind: 'prefix', value: '/other' } }),
      route({ to: 'app' }),
    ]),
    limited('refill.test', limit(2, 1)),
    limited('swap.test', swapPolicy),
    vhost('open.test', [route({ to: 'app' })]),
  ];
}

before(async () => {
  app = await httpBackend('app');
  p = await startProxy(config({ httpVirtualHosts: vhosts(), clusters: [cluster('app', [ep(app)])] }));
});

after(async () => {
  await p.close();
  await app.close();
});

const hit = (host: string, path = '/') => get(p.port(), path, { host });

test('local rate limit: requests + burst pass, the next gets 429 local_rate_limited with the RL flag and never reaches the upstream', async () => {
  const seen = app.seen.length;
  for (let i = 0; i < 3; i++) assert.equal((await hit('burst.test', `/${i}`)).status, 200, `request ${i + 1} of 3`);
  const r = await hit('burst.test', '/over');
  assert.equal(r.status, 429);
  assert.equal(r.body, 'local_rate_limited');
  assert.equal(r.headers['x-ratelimit-limit'], undefined, 'no x-ratelimit-* headers');
  assert.equal(r.headers['x-ratelimit-remaining'], undefined);
  assert.equal(app.seen.length, seen + 3, 'the limited request never reached the upstream');
  assert.ok(!app.seen.some((s) => s.url === '/over'));
  assert.equal(p.logs.find((e) => e.path === '/over')?.responseFlags, 'RL');
  assert.equal((await hit('open.test')).status, 200, 'a virtual host without a limit is not limited');
});

test("local rate limit: a route's own policy has its own bucket, status and headers; the virtual host's bucket is shared by its other routes", async () => {
  assert.equal((await hit('shared.test', '/own')).status, 200);
  const own = await hit('shared.test', '/own/again');
  assert.equal(own.status, 503);
  assert.equal(own.body, 'local_rate_limited');
  assert.equal(own.headers['x-limited'], 'yes');
  assert.equal(own.headers['retry-after'], '3600');
  // The route's bucket is empty; the virtual host's (2 tokens) is untouched.
  assert.equal((await hit('shared.test', '/')).status, 200);
  assert.equal((await hit('shared.test', '/other')).status, 200);
  const vh = await hit('shared.test', '/other/again');
  assert.equal(vh.status, 429, 'the routes without a policy of their own share the virtual host bucket');
  assert.equal(vh.headers['x-limited'], undefined, "the route's headers are its own");
});

test('local rate limit: tokens come back after the fill interval, tokens_per_fill at a time', async () => {
  // Emptied by looping: a fill may land while the test runs (the bucket's
  // interval started when the config was applied).
  let before = 0;
  while ((await hit('refill.test')).status === 200) before++;
  assert.ok(before >= 2 && before <= 3, `passed before the refill: ${before}`);
  await sleep(1100);
  assert.equal((await hit('refill.test')).status, 200, 'a fill after one unit');
  let passed = 1;
  while ((await hit('refill.test')).status === 200) passed++;
  // One fill adds 1 (requests); a slow machine may see a second fill, never more than the bucket holds.
  assert.ok(passed <= 2, `passed after the refill: ${passed}`);
});

test('local rate limit: a config swap keeps a bucket whose policy is unchanged; a changed policy starts full', async () => {
  assert.equal((await hit('swap.test')).status, 200);
  assert.equal((await hit('swap.test')).status, 429);
  p.proxy.apply(config({ httpVirtualHosts: vhosts(), clusters: [cluster('app', [ep(app)])] }));
  assert.equal((await hit('swap.test')).status, 429, 'the same policy after a swap: still empty');
  p.proxy.apply(config({ httpVirtualHosts: vhosts(limit(2, 2, { fillIntervalMs: 3_600_000 })), clusters: [cluster('app', [ep(app)])] }));
  assert.equal((await hit('swap.test')).status, 200, 'a new policy: a new bucket');
  assert.equal((await hit('swap.test')).status, 200);
  assert.equal((await hit('swap.test')).status, 429);
});

test('local rate limit bucket: starts full, adds tokens_per_fill per whole interval, never above max_tokens', () => {
  const b = new IntervalTokenBucket(3, 2, 1000, 0);
  assert.deepEqual([b.take(0), b.take(1), b.take(2), b.take(3)], [true, true, true, false]);
  assert.equal(b.take(999), false, 'no token before the interval ends');
  assert.deepEqual([b.take(1000), b.take(1001), b.take(1002)], [true, true, false], 'one fill: tokens_per_fill');
  assert.deepEqual([b.take(5000), b.take(5000), b.take(5000), b.take(5000)], [true, true, true, false], 'many fills: capped at max_tokens');
  assert.equal(b.take(5999), false);
  assert.deepEqual([b.take(6000), b.take(6000), b.take(6000)], [true, true, false], 'fills stay on the interval grid');
  assert.equal(b.take(-1e9), false, 'a clock going back adds nothing');
  assert.equal(b.take(6999), false);
});
