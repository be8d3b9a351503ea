// Targets: health checks with thresholds (ejection and recovery, PROXY LOCAL
// on checks), retry on connect errors, fail-open, draining, re-encryption
// and the opt-in TLVs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls';
import { once } from 'node:events';
import { BalancerRuntime } from '../../src/balancer/index.ts';
import { parseProxyHeader, type ProxyHeader } from '../../src/proxyprotocol/index.ts';
import { createCa } from '../support/pki.ts';
import { configOf, edgeCertificate, fastHealthCheck, keyProvider, listener, readUntil, startTarget, tcpConnect, tlsOf, waitFor } from './support.ts';

const ca = await createCa();
const certA = edgeCertificate(await ca.issue({ dnsNames: ['a.test'] }), ['a.test']);

function healthOf(rt: BalancerRuntime, id: string, port: number): string | undefined {
  return rt.health().listeners[id]?.targets.find((t) => t.port === port)?.health;
}

async function greeting(port: number): Promise<string> {
  const s = await tcpConnect(port);
  const text = await readUntil(s, (x) => x.includes('\n'));
  s.destroy();
  return text.trim();
}

async function unusedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

test('TCP health checks eject a dead target and take it back when it recovers', async (t) => {
  const t1 = await startTarget('t1');
  let t2 = await startTarget('t2');
  const t2port = t2.port;
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    await t1.close();
    await t2.close();
  });
  const l = listener({ targets: [t1.target, t2.target], healthCheck: fastHealthCheck, targetSelection: 'round-robin' });
  await rt.apply(configOf(l));
  const port = rt.address(l.id)!.port;
  await waitFor('both healthy', () => healthOf(rt, l.id, t1.port) === 'healthy' && healthOf(rt, l.id, t2port) === 'healthy');

  await t2.close();
  await waitFor('t2 unhealthy', () => healthOf(rt, l.id, t2port) === 'unhealthy');
  for (let i = 0; i < 6; i++) assert.equal(await greeting(port), 'hello from t1');

  // Back on the same port.
  t2 = await startTarget('t2-again', { port: t2port });
  await waitFor('t2 healthy again', () => healthOf(rt, l.id, t2port) === 'healthy');
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(await greeting(port));
  assert.deepEqual([...seen].sort(), ['hello from t1', 'hello from t2-again']);
});

/** An HTTP target behind PROXY v2 whose status code the test sets. */
async function httpTarget() {
  const headers: ProxyHeader[] = [];
  const paths: string[] = [];
  const state = { status: 200 };
  const server = createServer((s: Socket) => {
    s.on('error', () => s.destroy());
    let acc: Buffer = Buffer.alloc(0);
    let header: ProxyHeader | undefined;
    s.on('data', (c: Buffer) => {
      acc = Buffer.concat([acc, c]);
      if (!header) {
        const r = parseProxyHeader(acc);
        if (r.kind === 'incomplete') return;
        header = r.header;
        headers.push(header);
        acc = acc.subarray(r.length);
      }
      const text = acc.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        paths.push(text.split(' ')[1]);
        s.end(`HTTP/1.1 ${state.status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, headers, paths, state, port: (server.address() as { port: number }).port };
}

test('HTTP health checks: path, success codes, PROXY v2 LOCAL header first; all unhealthy fails open', async (t) => {
  const h = await httpTarget();
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    h.server.close();
  });
  const l = listener({
    targets: [{ kind: 'endpoint', address: '127.0.0.1', port: h.port }],
    proxyProtocol: true,
    healthCheck: { ...fastHealthCheck, protocol: 'HTTP', path: '/healthz', successCodes: '200-299' },
  });
  await rt.apply(configOf(l));
  await waitFor('healthy', () => healthOf(rt, l.id, h.port) === 'healthy');
  assert.equal(h.paths[0], '/healthz');
  assert.equal(h.headers[0].command, 'LOCAL');
  assert.equal(h.headers[0].source, undefined);
  h.state.status = 302; // outside 200-299
  await waitFor('unhealthy on 302', () => healthOf(rt, l.id, h.port) === 'unhealthy');
  // Every target unhealthy: traffic still flows (the NLB fails open).
  const s = await tcpConnect(rt.address(l.id)!.port);
  s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  const text = await readUntil(s, (x) => x.includes('\r\n\r\n'));
  assert.match(text, /^HTTP\/1\.1 302/);
  s.destroy();
  assert.equal(h.headers.at(-1)?.command, 'PROXY');
});

test('a connect error moves the flow to another target before the client sees anything', async (t) => {
  const good = await startTarget('good');
  const dead = await unusedPort();
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    await good.close();
  });
  const l = listener({ targets: [{ kind: 'endpoint', address: '127.0.0.1', port: dead }, good.target], targetSelection: 'round-robin' });
  await rt.apply(configOf(l));
  const port = rt.address(l.id)!.port;
  for (let i = 0; i < 4; i++) assert.equal(await greeting(port), 'hello from good');
});

test('deregistration: a removed target drains (open flows go on, new flows go elsewhere), termination at the delay when enabled', async (t) => {
  const t1 = await startTarget('t1');
  const t2 = await startTarget('t2');
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    await t1.close();
    await t2.close();
  });
  const l = listener({ targets: [t1.target], deregistrationDelayMs: 60_000 });
  await rt.apply(configOf(l));
  const port = rt.address(l.id)!.port;
  const open = await tcpConnect(port);
  await readUntil(open, (x) => x.includes('hello from t1'));

  await rt.apply(configOf({ ...l, targets: [t2.target] }));
  assert.equal(healthOf(rt, l.id, t1.port), 'draining');
  assert.equal(await greeting(port), 'hello from t2');
  open.write('still\n');
  await readUntil(open, (x) => x.includes('still\n'));
  open.destroy();

  // With connection termination, flows end when the delay ends.
  const l2 = { ...l, targets: [t1.target], deregistrationDelayMs: 100, drainTerminatesConnections: true };
  await rt.apply(configOf(l2));
  const open2 = await tcpConnect(port);
  await readUntil(open2, (x) => x.includes('hello from t1'));
  await rt.apply(configOf({ ...l2, targets: [t2.target] }));
  await once(open2, 'close');
  await waitFor('drained target gone', () => healthOf(rt, l.id, t1.port) === undefined);
});

/** A TLS target behind PROXY v2 (header first, then the handshake). */
async function tlsTarget(certPem: string, keyPem: string) {
  const headers: ProxyHeader[] = [];
  const ctx = createSecureContext({ cert: certPem, key: keyPem });
  const server = createServer((raw: Socket) => {
    raw.on('error', () => raw.destroy());
    let acc: Buffer = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      acc = Buffer.concat([acc, c]);
      const r = parseProxyHeader(acc);
      if (r.kind === 'incomplete') return;
      raw.off('data', onData);
      raw.pause();
      headers.push(r.header);
      const rest = acc.subarray(r.length);
      if (rest.length) raw.unshift(rest);
      const s = new TLSSocket(raw, { isServer: true, secureContext: ctx });
      s.on('error', () => raw.destroy());
      s.once('secure', () => {
        s.write('hello from tls target\n');
        s.pipe(s);
      });
    };
    raw.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, headers, port: (server.address() as { port: number }).port };
}

test('re-encryption: PROXY header before the target handshake; the target is verified when a CA is given', async (t) => {
  const backendCa = await createCa('backend CA');
  const leaf = await backendCa.issue({ dnsNames: ['backend.test'] });
  const tt = await tlsTarget(leaf.certPem, leaf.keyPem);
  const rt = new BalancerRuntime({ keys: keyProvider([certA]) });
  t.after(async () => {
    await rt.close(0);
    tt.server.close();
  });
  const target = { kind: 'endpoint' as const, address: '127.0.0.1', port: tt.port };
  const base = listener({ protocol: 'TLS', tls: tlsOf([certA]), targets: [target], targetProtocol: 'TLS', proxyProtocol: true });
  const run = async (targetTls: { caPem?: string }) => {
    await rt.apply(configOf({ ...base, targetTls }));
    const c = tlsConnect({ host: '127.0.0.1', port: rt.address(base.id)!.port, servername: 'a.test', ca: ca.certPem });
    await once(c, 'secureConnect');
    try {
      return (await readUntil(c, (x) => x.includes('\n'))).trim();
    } catch {
      return 'closed';
    } finally {
      c.destroy();
    }
  };
  assert.equal(await run({}), 'hello from tls target'); // as the NLB: not verified
  assert.equal(tt.headers.at(-1)?.command, 'PROXY');
  assert.equal(await run({ caPem: backendCa.certPem }), 'hello from tls target');
  assert.equal(await run({ caPem: ca.certPem }), 'closed', 'a target the CA did not sign is refused');
});

test('opt-in TLVs carry SSL, authority (SNI) and ALPN; IPv6 clients get a TCP6 header', async (t) => {
  const tg = await startTarget('t', { proxy: true });
  const rt = new BalancerRuntime({ keys: keyProvider([certA]) });
  t.after(async () => {
    await rt.close(0);
    await tg.close();
  });
  const l = listener({
    protocol: 'TLS',
    tls: tlsOf([certA], undefined, ['h2', 'http/1.1']),
    targets: [tg.target],
    proxyProtocol: true,
    proxyProtocolTlvs: ['ssl', 'authority', 'alpn'],
  });
  const l6 = listener({ id: 'v6', bindAddress: '::1', targets: [tg.target], proxyProtocol: true, proxyProtocolTlvs: ['ssl'] });
  await rt.apply(configOf(l, l6));
  const c = tlsConnect({ host: '127.0.0.1', port: rt.address(l.id)!.port, servername: 'a.test', ca: ca.certPem, ALPNProtocols: ['h2'] });
  await once(c, 'secureConnect');
  await readUntil(c, (x) => x.includes('hello'));
  c.destroy();
  const h = tg.received.at(-1)?.header;
  assert.ok(h);
  assert.equal(h.authority, 'a.test');
  assert.equal(h.alpn, 'h2');
  assert.equal(h.ssl?.connectedWithSsl, true);
  assert.equal(h.ssl?.version, 'TLSv1.3');
  assert.equal(h.ssl?.cipher, 'TLS_AES_128_GCM_SHA256', 'the policy order wins');

  const a6 = rt.address('v6');
  assert.ok(a6);
  const { connect } = await import('node:net');
  const s = connect({ host: '::1', port: a6.port });
  await readUntil(s, (x) => x.includes('hello'));
  const h6 = tg.received.at(-1)?.header;
  assert.equal(h6?.transport, 'TCP6');
  assert.equal(h6?.source?.address, '::1');
  assert.equal(h6?.source?.port, s.localPort);
  assert.equal(h6?.destination?.port, a6.port);
  assert.equal(h6?.ssl, undefined, 'no SSL TLV for a plain TCP listener');
  s.destroy();
});

test('HTTPS health checks speak TLS to the target (unverified, as the NLB) and read the status', async (t) => {
  const { createServer: createHttpsServer } = await import('node:https');
  const leaf = await ca.issue({ dnsNames: ['pod.test'] });
  const state = { status: 200 };
  const paths: string[] = [];
  const server = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(state.status).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    server.closeAllConnections();
    server.close();
  });
  const l = listener({ targets: [{ kind: 'endpoint', address: '127.0.0.1', port }], healthCheck: { ...fastHealthCheck, protocol: 'HTTPS', path: '/ready?x=1' } });
  await rt.apply(configOf(l));
  await waitFor('healthy over HTTPS', () => healthOf(rt, l.id, port) === 'healthy');
  assert.equal(paths[0], '/ready?x=1');
  state.status = 503;
  await waitFor('unhealthy on 503', () => healthOf(rt, l.id, port) === 'unhealthy');
});
