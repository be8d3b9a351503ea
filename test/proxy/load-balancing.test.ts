import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { after, before, test } from 'node:test';
import { cluster, config, ep, h2Backend, httpBackend, route, startProxy, vhost, wc, type Backend, type Started } from './fixtures.ts';

let a: Backend;
let b: Backend;
let c: Backend;
let h2c: Backend;
let p: Started;
let agent: Agent;

before(async () => {
  a = await httpBackend('a', (_req, res) => res.end('a'));
  b = await httpBackend('b', (_req, res) => res.end('b'));
  c = await httpBackend('c', (_req, res) => res.end('c'));
  h2c = await h2Backend('h2c');
  const eps = [ep(a), ep(b), ep(c)];
  p = await startProxy(
    config({
      clusters: [
        cluster('a', [ep(a)]),
        cluster('b', [ep(b)]),
        cluster('c', [ep(c)]),
        cluster('rr', eps),
        cluster('random', eps, { loadBalancer: { strategy: 'Random', hashPolicies: [] } }),
        cluster('wlr', eps, { loadBalancer: { strategy: 'WeightedLeastRequest', hashPolicies: [] } }),
        cluster('cookie', eps, { loadBalancer: { strategy: 'Cookie', hashPolicies: [] } }),
        cluster('hash', eps, { loadBalancer: { strategy: 'RequestHash', hashPolicies: [{ header: 'X-User' }] } }),
        cluster('srcip', eps, { loadBalancer: { strategy: 'RequestHash', hashPolicies: [{ sourceIp: true }] } }),
        cluster('h2c', [ep(h2c)], { protocol: 'h2c' }),
        cluster('empty', []),
      ],
      httpVirtualHosts: [
        vhost('lb.test', [
          route({ path: { kind: 'prefix', value: '/weighted' }, to: [wc('a', 20), wc('b', 30), wc('c', 50)] }),
          route({ path: { kind: 'prefix', value: '/zero' }, to: [wc('a', 0), wc('b', 1)] }),
          route({ path: { kind: 'prefix', value: '/rr' }, to: 'rr' }),
          route({ path: { kind: 'prefix', value: '/random' }, to: 'random' }),
          route({ path: { kind: 'prefix', value: '/wlr' }, to: 'wlr' }),
          route({ path: { kind: 'prefix', value: '/cookie' }, to: 'cookie' }),
          route({ path: { kind: 'prefix', value: '/hash' }, to: 'hash' }),
          route({ path: { kind: 'prefix', value: '/srcip' }, to: 'srcip' }),
          route({ path: { kind: 'prefix', value: '/h2c' }, to: 'h2c' }),
          route({ path: { kind: 'prefix', value: '/empty' }, to: 'empty' }),
          route({ path: { kind: 'prefix', value: '/mirror2' }, to: 'a', action: { kind: 'forward', clusters: [wc('a')], mirrors: [{ cluster: 'b', percent: 100 }, { cluster: 'c', percent: 100 }] } }),
          route({ path: { kind: 'prefix', value: '/mirror' }, to: 'a', action: { kind: 'forward', clusters: [wc('a')], mirrors: [{ cluster: 'b', percent: 100 }] } }),
        ]),
      ],
    }),
  );
  agent = new Agent({ connections: 8, pipelining: 8 });
});

after(async () => {
  await agent.close();
  await p.close();
  await Promise.all([a.close(), b.close(), c.close(), h2c.close()]);
});

async function hit(path: string, headers: Record<string, string> = {}): Promise<{ body: string; headers: Record<string, string | string[] | undefined> }> {
  const r = await request(`http://127.0.0.1:${p.port()}${path}`, { headers: { host: 'lb.test', ...headers }, dispatcher: agent });
  return { body: await r.body.text(), headers: r.headers };
}

async function counts(path: string, n: number, concurrency = 64): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < n) {
        i++;
        const { body } = await hit(path);
        out[body] = (out[body] ?? 0) + 1;
      }
    }),
  );
  return out;
}

test('weighted clusters split traffic within ±5% over 10k requests', async () => {
  const n = 10_000;
  const got = await counts('/weighted', n);
  const total = (got.a ?? 0) + (got.b ?? 0) + (got.c ?? 0);
  assert.equal(total, n);
  for (const [k, share] of [['a', 0.2], ['b', 0.3], ['c', 0.5]] as const) {
    const observed = (got[k] ?? 0) / n;
    assert.ok(Math.abs(observed - share) <= 0.05, `${k}: ${observed} vs ${share}`);
  }
});

test('a zero-weight cluster gets no traffic', async () => {
  const got = await counts('/zero', 200);
  assert.deepEqual(got, { b: 200 });
});

test('round robin spreads evenly across endpoints', async () => {
  const got = await counts('/rr', 300, 1);
  assert.deepEqual(got, { a: 100, b: 100, c: 100 });
});

test('random and least-request reach every endpoint', async () => {
  for (const path of ['/random', '/wlr']) {
    const got = await counts(path, 300);
    assert.deepEqual(Object.keys(got).sort(), ['a', 'b', 'c'], path);
  }
});

test('cookie affinity sets X-Contour-Session-Affinity and sticks to one endpoint', async () => {
  const first = await hit('/cookie');
  const setCookie = String(first.headers['set-cookie']);
  const m = /X-Contour-Session-Affinity=([^;]+); Path=\//.exec(setCookie);
  assert.ok(m, setCookie);
  const cookie = `X-Contour-Session-Affinity=${m[1]}`;
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const r = await hit('/cookie', { cookie });
    assert.equal(r.headers['set-cookie'], undefined);
    seen.add(r.body);
  }
  assert.equal(seen.size, 1);
  assert.ok(seen.has(first.body));
});

test('request hash on a header is stable per value and spreads values', async () => {
  const owners = new Set<string>();
  for (let u = 0; u < 40; u++) {
    const r1 = await hit('/hash', { 'x-user': `user-${u}` });
    const r2 = await hit('/hash', { 'x-user': `user-${u}` });
    assert.equal(r1.body, r2.body);
    owners.add(r1.body);
  }
  assert.ok(owners.size >= 2);
  const ip = new Set<string>();
  for (let i = 0; i < 10; i++) ip.add((await hit('/srcip')).body);
  assert.equal(ip.size, 1);
});

test('h2c upstream speaks HTTP/2 with prior knowledge', async () => {
  const r = await hit('/h2c/x');
  const seen = JSON.parse(r.body) as { httpVersion: string; url: string; headers: Record<string, string> };
  assert.equal(seen.httpVersion, '2.0');
  assert.equal(seen.url, '/h2c/x');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
});

test('a cluster with no endpoints answers 503 no healthy upstream', async () => {
  const r = await request(`http://127.0.0.1:${p.port()}/empty`, { headers: { host: 'lb.test' }, dispatcher: agent });
  assert.equal(r.statusCode, 503);
  assert.equal(await r.body.text(), 'no healthy upstream');
  assert.equal(p.logs.at(-1)!.responseFlags, 'UH');
});

test('mirror sends a copy to the shadow cluster; the client sees only the primary', async () => {
  const before = b.seen.filter((s) => s.url === '/mirror/x').length;
  const r = await hit('/mirror/x');
  assert.equal(r.body, 'a');
  for (let i = 0; i < 100 && b.seen.filter((s) => s.url === '/mirror/x').length === before; i++) {
    await new Promise((res) => setImmediate(res));
    await new Promise((res) => setTimeout(res, 5));
  }
  const copy = b.seen.filter((s) => s.url === '/mirror/x');
  assert.equal(copy.length, before + 1);
  assert.equal(copy.at(-1)!.headers.host, 'lb.test-shadow');
});

test('a mirror gets a copy of a streamed request body too', async () => {
  const body = 'm'.repeat(150_000);
  const r = await request(`http://127.0.0.1:${p.port()}/mirror/post`, { method: 'POST', body, headers: { host: 'lb.test' }, dispatcher: agent });
  assert.equal(await r.body.text(), 'a');
  assert.equal(a.seen.findLast((s) => s.url === '/mirror/post')!.body.length, body.length);
  for (let i = 0; i < 200 && !b.seen.some((s) => s.url === '/mirror/post'); i++) await new Promise((res) => setTimeout(res, 10));
  const copy = b.seen.find((s) => s.url === '/mirror/post')!;
  assert.equal(copy.body, body);
});

test('two mirrors: each gets its own copy, of a streamed body too (HTTPRouteRequestMultipleMirrors)', async () => {
  const body = 'n'.repeat(150_000);
  const r = await request(`http://127.0.0.1:${p.port()}/mirror2/post`, { method: 'POST', body, headers: { host: 'lb.test' }, dispatcher: agent });
  assert.equal(await r.body.text(), 'a');
  assert.equal(a.seen.findLast((s) => s.url === '/mirror2/post')!.body.length, body.length);
  for (let i = 0; i < 200 && !(b.seen.some((s) => s.url === '/mirror2/post') && c.seen.some((s) => s.url === '/mirror2/post')); i++) await new Promise((res) => setTimeout(res, 10));
  for (const shadow of [b, c]) {
    const copy = shadow.seen.find((s) => s.url === '/mirror2/post');
    assert.equal(copy?.body, body);
    assert.equal(copy?.headers.host, 'lb.test-shadow');
  }
});
