// Flow handling: half-close passes through, idle connections are closed,
// close() drains, proxy targets resolve through proxyTargets, and several
// runtimes can share ports with reusePort (balancer workers).

import { test, type TestContext } from 'node:test';
import type { Server } from 'node:net';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BalancerRuntime } from '../../src/balancer/index.ts';
import { createCa } from '../support/pki.ts';
import { configOf, edgeCertificate, keyProvider, listener, readUntil, startTarget, tcpConnect, tlsOf, waitFor } from './support.ts';

const ca = await createCa();
const certA = edgeCertificate(await ca.issue({ dnsNames: ['a.test'] }), ['a.test']);

test('half-close: the client ends its side and still reads the reply', async (t) => {
  const tg = await startTarget('t');
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    await tg.close();
  });
  const l = listener({ targets: [tg.target] });
  await rt.apply(configOf(l));
  const s = await tcpConnect(rt.address(l.id)!.port);
  s.end('last words\n');
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString()));
  await once(s, 'end');
  assert.equal(text, 'hello from t\nlast words\n');
  s.destroy();
});

test('idle connections are closed after the idle timeout; connections are counted', async (t) => {
  const tg = await startTarget('t');
  const rt = new BalancerRuntime({ keys: keyProvider([certA]) });
  t.after(async () => {
    await rt.close(0);
    await tg.close();
  });
  const tcp = listener({ id: 'tcp', targets: [tg.target], idleTimeoutMs: 200 });
  const tls = listener({ id: 'tls', targets: [tg.target], idleTimeoutMs: 200, protocol: 'TLS', tls: tlsOf([certA]) });
  await rt.apply(configOf(tcp, tls));
  const s = await tcpConnect(rt.address('tcp')!.port);
  await readUntil(s, (x) => x.includes('hello'));
  assert.equal(rt.health().listeners.tcp.connections, 1);
  await once(s, 'close');
  const c = tlsConnect({ host: '127.0.0.1', port: rt.address('tls')!.port, servername: 'a.test', ca: ca.certPem });
  await readUntil(c, (x) => x.includes('hello'));
  assert.equal(rt.health().listeners.tls.connections, 1);
  await once(c, 'close');
  await waitFor('connections released', () => rt.health().listeners.tls.connections === 0 && rt.health().listeners.tcp.connections === 0);
});

test('close() stops accepting and lets open flows finish within the drain time', async (t) => {
  const tg = await startTarget('t');
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(() => tg.close());
  const l = listener({ targets: [tg.target] });
  await rt.apply(configOf(l));
  const port = rt.address(l.id)!.port;
  const s = await tcpConnect(port);
  await readUntil(s, (x) => x.includes('hello'));
  const closing = rt.close(30_000);
  // New connections are refused at once; the open flow still works.
  await waitFor('unbound', () => rt.address(l.id) === undefined);
  await assert.rejects(tcpConnect(port));
  s.write('bye\n');
  await readUntil(s, (x) => x.includes('bye\n'));
  s.destroy();
  await closing;
});

test('proxy targets resolve through proxyTargets; without them the listener says why', async (t) => {
  const http = await startTarget('proxy-http', { proxy: true });
  const https = await startTarget('proxy-https', { proxy: true });
  const rt = new BalancerRuntime({
    keys: keyProvider([]),
    proxyTargets: { http: { address: '127.0.0.1', port: http.port }, https: { address: '127.0.0.1', port: https.port } },
  });
  const bare = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    await bare.close(0);
    await http.close();
    await https.close();
  });
  const a = listener({ id: 'a', targets: [{ kind: 'proxy-http', address: '', port: 0 }], proxyProtocol: true });
  const b = listener({ id: 'b', targets: [{ kind: 'proxy-https', address: '', port: 0 }], proxyProtocol: true });
  await rt.apply(configOf(a, b));
  const s = await tcpConnect(rt.address('a')!.port);
  await readUntil(s, (x) => x.includes('hello from proxy-http'));
  s.destroy();
  const s2 = await tcpConnect(rt.address('b')!.port);
  await readUntil(s2, (x) => x.includes('hello from proxy-https'));
  s2.destroy();
  assert.deepEqual(rt.health().listeners.a.targets.map((x) => x.port), [http.port]);
  await bare.apply(configOf(a));
  assert.deepEqual(bare.health().listeners.a.problems, ["target proxy-http: the proxy's listener address is not known to the balancer, so this target is skipped"]);
});

test('proxy targets with Unix sockets: flows go over them in turn, the PROXY header first, skipping a dead one; none left: TCP', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'isobar-lb-'));
  const tcpHttp = await startTarget('proxy-http over tcp', { proxy: true });
  const tcp = await startTarget('proxy-https over tcp', { proxy: true });
  const w0 = await startTarget('proxy worker 0', { proxy: true, path: path.join(dir, 'w0.sock') });
  const w1 = await startTarget('proxy worker 1', { proxy: true, path: path.join(dir, 'w1.sock') });
  // A worker that died: its socket file is left, nobody accepts on it.
  const dead = path.join(dir, 'dead.sock');
  const rt = new BalancerRuntime({
    keys: keyProvider([]),
    proxyTargets: {
      http: { address: '127.0.0.1', port: tcpHttp.port },
      https: { address: '127.0.0.1', port: tcp.port },
      unixPaths: { http: [w0.path!, dead, w1.path!], https: [path.join(dir, 'missing.sock')] },
    },
  });
  t.after(async () => {
    await rt.close(0);
    for (const x of [tcpHttp, tcp, w0, w1]) await x.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const a = listener({ id: 'a', targets: [{ kind: 'proxy-http', address: '', port: 0 }], proxyProtocol: true });
  const b = listener({ id: 'b', targets: [{ kind: 'proxy-https', address: '', port: 0 }], proxyProtocol: true });
  await rt.apply(configOf(a, b));
  const greeted: string[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await tcpConnect(rt.address('a')!.port);
    greeted.push((await readUntil(s, (x) => x.includes('\n'))).trim());
    s.destroy();
  }
  // In turn from the first path; the dead one is passed over to the next.
  assert.deepEqual(greeted, ['hello from proxy worker 0', 'hello from proxy worker 1', 'hello from proxy worker 1']);
  const rec = w0.received[0]!;
  assert.equal(rec.header?.command, 'PROXY');
  assert.equal(rec.header?.source?.address, '127.0.0.1');
  // Health checks (PROXY LOCAL) still go to the TCP address; no flow did.
  const flowsOverTcp = () => [...tcpHttp.received, ...tcp.received].filter((r) => r.header?.command === 'PROXY').length;
  assert.equal(flowsOverTcp(), 0);
  // No Unix socket answers: the flow goes to the TCP address.
  const s = await tcpConnect(rt.address('b')!.port);
  await readUntil(s, (x) => x.includes('hello from proxy-https over tcp'));
  s.destroy();
  assert.equal(flowsOverTcp(), 1);
});

test('reusePort: two runtimes (workers) listen on the same port', async (t) => {
  const tg = await startTarget('t');
  const w1 = new BalancerRuntime({ keys: keyProvider([]), reusePort: true });
  const w2 = new BalancerRuntime({ keys: keyProvider([]), reusePort: true });
  t.after(async () => {
    await w1.close(0);
    await w2.close(0);
    await tg.close();
  });
  await w1.apply(configOf(listener({ targets: [tg.target] })));
  const port = w1.address('default/web:443')!.port;
  await w2.apply(configOf(listener({ targets: [tg.target], bindPort: port })));
  assert.equal(w2.address('default/web:443')?.port, port);
  assert.deepEqual(w2.health().listeners['default/web:443'].problems, []);
  await w1.close(0);
  const s = await tcpConnect(port);
  await readUntil(s, (x) => x.includes('hello'));
  s.destroy();
});

test('withRuntimeHealth puts bound addresses, target health and runtime problems into statuses', async (t) => {
  const { buildBalancerModel, withRuntimeHealth } = await import('../../src/balancer/index.ts');
  const { service, snapshot, options, endpoints, SBK } = await import('./model-fixtures.ts');
  const tg = await startTarget('t');
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    await tg.close();
  });
  const svc = service({
    annotations: {
      [`${SBK}aws-load-balancer-type`]: 'nlb-ip',
      [`${SBK}aws-load-balancer-healthcheck-interval`]: '5',
      [`${SBK}aws-load-balancer-healthcheck-healthy-threshold`]: '2',
    },
    ports: [{ port: 80 }],
  });
  const r = buildBalancerModel(snapshot({ services: [svc], endpoints: [endpoints('default', 'web', ['127.0.0.1'], [{ port: tg.port }])] }), options({ ephemeralPorts: true }));
  await rt.apply(r.balancerConfig);
  const merged = withRuntimeHealth(r.statuses, r.balancerConfig, rt.health());
  const port = rt.address('default/web:80')!.port;
  assert.equal(merged[0].listeners[0].address, `127.0.0.1:${port}`);
  assert.deepEqual(merged[0].listeners[0].targets, [{ address: '127.0.0.1', port: tg.port, health: 'initial' }]);
  assert.deepEqual(merged[0].problems, []);
  assert.equal(r.statuses[0].listeners[0].targets[0].health, 'unknown', 'the input is not modified');
});

/** `server` listening, and a runtime with a TCP listener ("tcp") and a TLS one ("tls", a.test) forwarding to it. */
async function tcpAndTlsListeners(t: TestContext, server: Server): Promise<BalancerRuntime> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const rt = new BalancerRuntime({ keys: keyProvider([certA]) });
  t.after(async () => {
    await rt.close(0);
    server.close();
  });
  const target = { kind: 'endpoint' as const, address: '127.0.0.1', port: (server.address() as { port: number }).port };
  await rt.apply(configOf(listener({ id: 'tcp', targets: [target] }), listener({ id: 'tls', targets: [target], protocol: 'TLS', tls: tlsOf([certA]) })));
  return rt;
}

test('a target that sends a large reply and closes: the client still gets every byte', async (t) => {
  const { createServer } = await import('node:net');
  // Small enough for socket buffers to take it all while the client does
  // not read, so the target can finish and close first.
  const size = 1024 * 1024;
  const closed: Promise<void>[] = [];
  const server = createServer((s) => {
    s.on('error', () => s.destroy());
    closed.push(once(s, 'close').then(() => undefined));
    // Close both directions as soon as the reply is handed to the kernel.
    s.end(Buffer.alloc(size, 7), () => s.destroy());
  });
  const rt = await tcpAndTlsListeners(t, server);
  const count = async (s: import('node:net').Socket) => {
    s.pause();
    // The target finishes and closes while the client is not reading.
    await waitFor('target connection', () => closed.length > 0);
    await closed.shift();
    await new Promise((r) => setTimeout(r, 50));
    let n = 0;
    s.on('data', (c: Buffer) => (n += c.length));
    s.resume();
    await once(s, 'close');
    return n;
  };
  const plain = await tcpConnect(rt.address('tcp')!.port);
  assert.equal(await count(plain), size);
  const c = tlsConnect({ host: '127.0.0.1', port: rt.address('tls')!.port, servername: 'a.test', ca: ca.certPem });
  await once(c, 'secureConnect');
  assert.equal(await count(c), size);
});

test("a target's bytes reach the client whole, in order and at the client's pace (TCP and TLS listeners)", async (t) => {
  const { createServer } = await import('node:net');
  const { createHash, randomBytes } = await import('node:crypto');
  // Random bytes, so a read relayed twice, dropped, or overwritten by a
  // later read (the relay reads into one buffer) changes the digest.
  const size = 16 * 1024 * 1024;
  const payload = randomBytes(size);
  const digest = createHash('sha256').update(payload).digest('hex');
  const sent: { n: number; done: boolean }[] = [];
  const server = createServer((s) => {
    s.on('error', () => s.destroy());
    // Sends only when asked: the target pool's health checks connect too.
    s.once('data', () => {
      const progress = { n: 0, done: false };
      sent.push(progress);
      pump(progress);
    });
    const step = 64 * 1024;
    const pump = (progress: { n: number; done: boolean }): void => {
      while (progress.n < size) {
        const chunk = payload.subarray(progress.n, progress.n + step);
        progress.n += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', () => pump(progress));
      }
      progress.done = true;
      s.end();
    };
  });
  const rt = await tcpAndTlsListeners(t, server);
  const receive = async (s: import('node:net').Socket): Promise<string> => {
    s.pause();
    s.write('go\n');
    await waitFor('target connection', () => sent.length > 0);
    const progress = sent.shift()!;
    // The client reads nothing for a while: the balancer must not read the
    // target dry into its own memory meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(progress.done, false, `the target wrote all ${size} bytes to a client that read none (${progress.n} written)`);
    const hash = createHash('sha256');
    let n = 0;
    s.on('data', (c: Buffer) => {
      hash.update(c);
      n += c.length;
      // Slow reads now and then, so the relay pauses and resumes many times.
      if (n % (1024 * 1024) < c.length) {
        s.pause();
        setTimeout(() => s.resume(), 5);
      }
    });
    s.resume();
    await once(s, 'end');
    assert.equal(n, size);
    s.destroy();
    return hash.digest('hex');
  };
  assert.equal(await receive(await tcpConnect(rt.address('tcp')!.port)), digest);
  const c = tlsConnect({ host: '127.0.0.1', port: rt.address('tls')!.port, servername: 'a.test', ca: ca.certPem });
  await once(c, 'secureConnect');
  assert.equal(await receive(c), digest);
});

test('closeAfterFlush: bytes still queued in the socket reach the peer before it closes', async (t) => {
  const { createServer, connect } = await import('node:net');
  const { closeAfterFlush } = await import('../../src/balancer/listener-runtime.ts');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const accepted = once(server, 'connection');
  const writer = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await once(writer, 'connect');
  const [reader] = (await accepted) as [import('node:net').Socket];
  reader.pause();
  // Fill the kernel buffers and leave bytes queued in the writer.
  const chunk = Buffer.alloc(256 * 1024, 1);
  let written = 0;
  while (writer.write(chunk)) written += chunk.length;
  written += chunk.length;
  for (let i = 0; i < 8; i++) {
    writer.write(chunk);
    written += chunk.length;
  }
  assert.ok(writer.writableLength > 0, 'bytes are queued');
  closeAfterFlush(writer, false);
  let got = 0;
  reader.on('data', (c: Buffer) => (got += c.length));
  reader.resume();
  await once(reader, 'end');
  assert.equal(got, written);
  reader.destroy();
});
