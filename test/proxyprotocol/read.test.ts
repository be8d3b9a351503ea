import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { encodeV1, encodeV2, readProxyHeader, ProxyProtocolError, type ProxyHeader } from '../../src/proxyprotocol/index.ts';
import { createCa } from '../support/pki.ts';

type Outcome = { header: ProxyHeader; rest: Buffer; socket: net.Socket } | { error: unknown; socket: net.Socket };

/** A server that reads one PROXY header per connection and reports it. */
async function server(opts: { timeoutMs: number; maxLength?: number }) {
  const outcomes: Outcome[] = [];
  const waiters: Array<(o: Outcome) => void> = [];
  const srv = net.createServer((socket) => {
    readProxyHeader(socket, opts).then(
      (r) => deliver({ ...r, socket }),
      (error: unknown) => deliver({ error, socket }),
    );
  });
  const deliver = (o: Outcome) => {
    const w = waiters.shift();
    if (w) w(o);
    else outcomes.push(o);
  };
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  return {
    port,
    next: () => new Promise<Outcome>((resolve) => (outcomes.length ? resolve(outcomes.shift()!) : waiters.push(resolve))),
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

async function connect(port: number): Promise<net.Socket> {
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  return c;
}

test('header split across writes, followed by application bytes: rest is returned intact', async () => {
  const s = await server({ timeoutMs: 5000 });
  const c = await connect(s.port);
  const header = encodeV2({ command: 'PROXY', source: { address: '203.0.113.9', port: 40000 }, destination: { address: '127.0.0.1', port: 443 }, crc32c: true });
  c.write(header.subarray(0, 5));
  await new Promise((r) => setImmediate(r));
  c.write(Buffer.concat([header.subarray(5), Buffer.from('GET / HTTP/1.1\r\n')]));
  const o = await s.next();
  assert.ok('header' in o, String((o as { error?: unknown }).error));
  assert.deepEqual(o.header.source, { address: '203.0.113.9', port: 40000 });
  // The caller unshifts rest and the stream continues as if the header was never there.
  o.socket.unshift(o.rest);
  let got = '';
  o.socket.setEncoding('latin1');
  o.socket.on('data', (d: string) => (got += d));
  c.end('Host: x\r\n\r\n');
  await once(o.socket, 'end');
  assert.equal(got, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await s.close();
});

test('TLS handshake after a v1 header works through unshift', async () => {
  const ca = await createCa();
  const leaf = await ca.issue({ dnsNames: ['edge.test'] });
  const srv = net.createServer(async (raw) => {
    try {
      const { header, rest } = await readProxyHeader(raw, { timeoutMs: 5000 });
      raw.unshift(rest);
      const t = new tls.TLSSocket(raw, { isServer: true, cert: leaf.certPem, key: leaf.keyPem });
      t.on('error', () => {});
      t.end(`${header.source?.address}:${header.source?.port}`);
    } catch {
      raw.destroy();
    }
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  const rawClient = await connect(port);
  rawClient.write(encodeV1({ address: '198.51.100.3', port: 1234 }, { address: '127.0.0.1', port }));
  const t = tls.connect({ socket: rawClient, servername: 'edge.test', ca: ca.certPem });
  let body = '';
  t.setEncoding('utf8');
  t.on('data', (d: string) => (body += d));
  await once(t, 'end');
  assert.equal(body, '198.51.100.3:1234');
  t.destroy();
  await new Promise<void>((r) => srv.close(() => r()));
});

test('timeout, garbage, oversized and early close reject with ProxyProtocolError codes', async () => {
  const s = await server({ timeoutMs: 200, maxLength: 64 });
  const expect = async (send: (c: net.Socket) => void, code: string) => {
    const c = await connect(s.port);
    send(c);
    const o = await s.next();
    assert.ok('error' in o, `expected ${code}`);
    assert.ok(o.error instanceof ProxyProtocolError);
    assert.equal(o.error.code, code);
    o.socket.destroy();
    c.destroy();
  };
  await expect((c) => c.write('PROXY TCP4 1.2.3.4'), 'TIMEOUT');
  await expect((c) => c.write('GET / HTTP/1.1\r\n'), 'INVALID_SIGNATURE');
  await expect((c) => c.write(encodeV2({ command: 'PROXY', tlvs: [{ type: 4, value: Buffer.alloc(100) }] }).subarray(0, 16)), 'TOO_LONG');
  await expect((c) => c.end('PROXY TCP4 1.2.3.4 '), 'CLOSED');
  await s.close();
});

test('any split of header and payload across TCP writes yields the same header and the exact remaining bytes', async () => {
  const fc = (await import('fast-check')).default;
  const s = await server({ timeoutMs: 5000 });
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
        async (v2, payload, cuts) => {
          const header = v2
            ? encodeV2({ command: 'PROXY', source: { address: '2001:db8::7', port: 1111 }, destination: { address: '::1', port: 443 }, authority: 'a.example', crc32c: true })
            : encodeV1({ address: '198.51.100.1', port: 2222 }, { address: '127.0.0.1', port: 80 });
          const bytes = Buffer.concat([header, Buffer.from(payload)]);
          const c = await connect(s.port);
          let at = 0;
          for (const n of cuts) {
            if (at >= bytes.length) break;
            c.write(bytes.subarray(at, at + n));
            at += n;
            await new Promise((r) => setImmediate(r));
          }
          c.end(bytes.subarray(at));
          const o = await s.next();
          assert.ok('header' in o, String((o as { error?: unknown }).error));
          assert.equal(o.header.source?.port, v2 ? 1111 : 2222);
          const chunks: Buffer[] = [o.rest];
          o.socket.on('data', (d: Buffer) => chunks.push(d));
          await once(o.socket, 'end');
          assert.deepEqual(Buffer.concat(chunks), Buffer.from(payload));
          o.socket.destroy();
          c.destroy();
        },
      ),
      { numRuns: 40 },
    );
  } finally {
    await s.close();
  }
});
