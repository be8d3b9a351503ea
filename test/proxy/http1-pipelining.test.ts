// Pipelined requests are processed strictly in order (RFC 9112 §9.3.2
// allows parallel processing only when every request is safe; Envoy's codec
// takes the next request once the current response is complete). A slow
// POST followed by a GET in the same bytes used to reach the upstream GET
// first, on another upstream connection.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

const SLOW_MS = 300;
let upstream: RawUpstream;
let p: Started;

before(async () => {
  upstream = await rawUpstream({ delay: (r) => (r.target.startsWith('/slow') ? SLOW_MS : 0) });
  p = await startProxy(config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }));
});

after(async () => {
  await p.close();
  await upstream.close();
});

const post = (path: string): string => `POST ${path} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi`;
const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: app.test\r\n\r\n`;

test('a slow POST, then a GET: the GET reaches the upstream only after the POST was answered', async () => {
  upstream.reset();
  const r = await wire(p.port(), `${post('/slow')}${get('/after')}`, { expect: 2 });
  assert.deepEqual(r.responses.map((x) => x.body), ['ok POST /slow', 'ok GET /after']);
  const [first, second] = upstream.requests;
  assert.deepEqual([first?.target, second?.target], ['/slow', '/after']);
  assert.ok(second!.at >= first!.answeredAt!, `the GET arrived ${Math.round(first!.answeredAt! - second!.at)} ms before the POST was answered`);
});

test('a GET, a slow DELETE, a PUT, a GET: one at a time, in order', async () => {
  upstream.reset();
  const bytes = `${get('/1')}DELETE /slow-2 HTTP/1.1\r\nHost: app.test\r\n\r\nPUT /3 HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n${get('/4')}`;
  const r = await wire(p.port(), bytes, { expect: 4 });
  assert.deepEqual(r.responses.map((x) => x.body), ['ok GET /1', 'ok DELETE /slow-2', 'ok PUT /3', 'ok GET /4']);
  const got = upstream.requests;
  assert.deepEqual(got.map((x) => x.target), ['/1', '/slow-2', '/3', '/4']);
  for (let i = 1; i < got.length; i++) assert.ok(got[i]!.at >= got[i - 1]!.answeredAt!, `request ${i} overlapped the one before`);
});

test('a pipeline of slow requests on one connection does not hold up another connection', async () => {
  upstream.reset();
  const busy = wire(p.port(), `${post('/slow-a')}${post('/slow-b')}`, { expect: 2, probe: get('/probe') });
  while (!upstream.requests.some((r) => r.target === '/slow-a')) await new Promise((r) => setTimeout(r, 5));
  const other = await wire(p.port(), get('/other').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
  assert.equal(other.responses[0]?.body, 'ok GET /other');
  const slowA = upstream.requests.find((r) => r.target === '/slow-a')!;
  const otherAt = upstream.requests.find((r) => r.target === '/other')!.at;
  assert.ok(slowA.answeredAt === undefined || otherAt < slowA.answeredAt, 'the other connection went upstream while the pipeline waited');
  assert.deepEqual((await busy).responses.map((x) => x.body), ['ok POST /slow-a', 'ok POST /slow-b']);
});
