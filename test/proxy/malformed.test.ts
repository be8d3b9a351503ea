import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cluster, config, ep, httpBackend, raw, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;

before(async () => {
  app = await httpBackend('app');
  p = await startProxy(
    config({ clusters: [cluster('app', [ep(app)])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }),
    [{}],
    { maxHeaderSize: 4096, headersTimeoutMs: 400 },
  );
});

after(async () => {
  await p.close();
  await app.close();
});

function status(text: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}

const cases: [string, string, number][] = [
  ['invalid header bytes', 'GET / HTTP/1.1\r\nHost: app.test\r\nX-Bad: a\x01b\r\n\r\n', 400],
  ['invalid header name', 'GET / HTTP/1.1\r\nHost: app.test\r\nBad Name: x\r\n\r\n', 400],
  ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['two different Content-Length values', 'POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', 400],
  ['negative Content-Length', 'POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: -1\r\n\r\n', 400],
  ['bad chunk size', 'POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 400],
  ['garbage request line', 'HELLO THERE\r\n\r\n', 400],
  ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['oversized headers', `GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`, 431],
  ['bare LF in header value', 'GET / HTTP/1.1\r\nHost: app.test\r\nX-A: b\rc\r\n\r\n', 400],
];

for (const [name, bytes, want] of cases) {
  test(`${name}: ${want} and nothing reaches the upstream`, async () => {
    const before = app.seen.length;
    const r = await raw(p.port(), bytes);
    assert.equal(status(r.text), want, r.text);
    assert.equal(r.closed, true);
    assert.equal(app.seen.length, before);
  });
}

test('slow headers: 408 after the headers timeout, nothing upstream', async () => {
  const before = app.seen.length;
  const r = await raw(p.port(), 'GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ', 5000);
  assert.equal(r.closed, true);
  assert.equal(status(r.text), 408);
  assert.equal(app.seen.length, before);
});

test('a well-formed request on the same listener still works', async () => {
  const r = await raw(p.port(), 'GET /fine HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n');
  assert.equal(status(r.text), 200);
  assert.ok(p.proxy.stats().badRequests! >= cases.length);
});

test('a backend that resets mid-response never crashes the proxy', async () => {
  const rude = await httpBackend('rude', (req) => {
    req.socket.destroy();
  });
  const q = await startProxy(config({ clusters: [cluster('rude', [ep(rude)])], httpVirtualHosts: [vhost('x.test', [route({ to: 'rude' })])] }));
  try {
    const r = await raw(q.port(), 'GET / HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n');
    assert.equal(status(r.text), 503);
    assert.match(r.text, /reset reason: connection termination/);
    assert.equal(q.logs.at(-1)!.responseFlags, 'UC');
  } finally {
    await q.close();
    await rude.close();
  }
});

test('a GET whose connection the backend drops before answering is resent once on a fresh connection', async () => {
  let drops = 0;
  const once = await httpBackend('once', (req, res) => {
    if (drops === 0) {
      drops++;
      req.socket.destroy();
      return;
    }
    res.end('second');
  });
  const q = await startProxy(config({ clusters: [cluster('once', [ep(once)])], httpVirtualHosts: [vhost('o.test', [route({ to: 'once' })])] }));
  try {
    const r = await raw(q.port(), 'GET / HTTP/1.1\r\nHost: o.test\r\nConnection: close\r\n\r\n');
    assert.equal(status(r.text), 200);
    assert.equal(drops, 1);
    // A POST is never resent without a retry policy.
    drops = 0;
    const post = await raw(q.port(), 'POST / HTTP/1.1\r\nHost: o.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
    assert.equal(status(post.text), 503);
  } finally {
    await q.close();
    await once.close();
  }
});
