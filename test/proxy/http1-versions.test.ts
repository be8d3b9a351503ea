// Request lines with an HTTP version other than 1.0 and 1.1 on the HTTP/1
// listener: `GET / HTTP/2.0` used to reach the HTTP/2 branch of request
// handling and throw (the worker died with every connection on it). Each
// is refused and closed, nothing reaches the upstream, and the listener
// keeps serving. HTTP/0.9 (no version, or `HTTP/0.9`) is refused too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

let upstream: RawUpstream;
let p: Started;

before(async () => {
  upstream = await rawUpstream();
  p = await startProxy(config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }));
});

after(async () => {
  await p.close();
  await upstream.close();
});

/** Every version line and what it is answered with. */
const BAD_VERSIONS: [line: string, status: number][] = [
  ['GET / HTTP/2.0', 505],
  ['POST / HTTP/2.0', 505],
  ['GET / HTTP/0.9', 400],
  ['GET /', 400],
  ['GET / HTTP/1.2', 400],
  ['GET / HTTP/3.0', 400],
  ['GET / HTTP/1.10', 400],
  ['GET / HTTP/9', 400],
  ['GET / JUNK/1.1', 400],
];

for (const [line, status] of BAD_VERSIONS) {
  test(`${JSON.stringify(line)}: ${status}, closed, nothing upstream`, async () => {
    upstream.reset();
    const r = await wire(p.port(), `${line}\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n`);
    assert.deepEqual(r.responses.map((x) => x.status), [status]);
    assert.equal(r.closed, true);
    assert.equal(r.responses[0]!.headers.connection, 'close');
    assert.deepEqual(upstream.requests, []);
    // The listener still serves.
    const ok = await wire(p.port(), 'GET /ok HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n');
    assert.equal(ok.responses[0]?.status, 200);
  });
}
