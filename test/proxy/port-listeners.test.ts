// Port listeners (ProxyConfig.listeners: Gateway listener ports beyond the
// first HTTP and HTTPS one): the runtime opens them from a config, routes
// each on its own hosts, forwards a TCP one's connections to its backends,
// keeps those that stay (with their connections) when the config changes,
// closes those it drops, and reports a port it cannot bind instead of
// throwing. Real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import type { PortListener, ProxyConfig } from '../../src/dag/index.ts';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { createCa } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';
import { cluster, config, ep, get, httpBackend, route, secureVhost, startProxy, vhost, wc, type Backend, type Started } from './fixtures.ts';

let a: Backend;
let b: Backend;
let echo: net.Server;
let echoPort: number;
let p: Started;

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Writes `text` on a TCP connection and reads until `want` bytes came back. */
function echoOnce(port: number, text: string, prefix?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => s.destroy(new Error(`no echo on ${port} in 10 s (got ${JSON.stringify(got)})`)), 10_000);
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        clearTimeout(t);
        s.end();
        resolve(got);
      }
    });
    s.on('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(t);
      if (got.length < text.length) resolve(got);
    });
    s.on('connect', () => s.write(prefix ? Buffer.concat([prefix, Buffer.from(text)]) : text));
  });
}

let httpPort: number;
let tcpPort: number;
let extraPort: number;

const port = (name: string, bindPort: number, protocol: PortListener['protocol'], extra: Partial<PortListener> = {}): PortListener => ({ name, port: bindPort, bindPort, protocol, ...extra });

function cfg(listeners: PortListener[]): ProxyConfig {
  const onPort = { ...vhost('port.example.test', [route({ to: 'b' })]), listener: listeners.find((l) => l.protocol === 'http')?.name ?? 'none' };
  return config({
    clusters: [cluster('a', [ep(a)]), cluster('b', [ep(b)]), cluster('echo', [{ address: '127.0.0.1', port: echoPort }], { protocol: 'http1' })],
    httpVirtualHosts: [vhost('main.example.test', [route({ to: 'a' })]), onPort],
    listeners,
  });
}

before(async () => {
  a = await httpBackend('a');
  b = await httpBackend('b');
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as net.AddressInfo).port;
  httpPort = await freePort();
  tcpPort = await freePort();
  extraPort = await freePort();
  p = await startProxy(config(), [{}], { portListeners: { host: '127.0.0.1', proxyProtocol: false, reusePort: false, balancer: {} } });
});

after(async () => {
  await p.close();
  await a.close();
  await b.close();
  await new Promise<void>((r) => echo.close(() => r()));
});

test('a config opens its port listeners: each serves its own hosts, a TCP one forwards to its backends', async () => {
  p.proxy.apply(cfg([port(`http-${httpPort}`, httpPort, 'http'), port(`tcp-${tcpPort}`, tcpPort, 'tcp', { tcpProxy: { clusters: [wc('echo')] } })]));
  assert.deepEqual(await p.proxy.syncListeners(), {});
  const onPort = await get(httpPort, '/x', { host: 'port.example.test' });
  assert.equal(onPort.status, 200);
  assert.equal(b.seen.at(-1)!.url, '/x');
  // Hosts of the proxy's own listener are not served on the port listener, and the other way round.
  assert.equal((await get(httpPort, '/x', { host: 'main.example.test' })).status, 404);
  assert.equal((await get(p.port(), '/x', { host: 'port.example.test' })).status, 404);
  assert.equal((await get(p.port(), '/x', { host: 'main.example.test' })).status, 200);
  assert.equal(await echoOnce(tcpPort, 'hello over tcp'), 'hello over tcp');
  assert.equal(p.logs.at(-1)!.listener, 'http', 'the last HTTP request went to the proxy\'s own listener');
});

test('the balancer\'s listener of a port listener takes in-process flows, PROXY v2 first', async () => {
  const client = new net.Socket();
  // Two ends of a real connection: the balancer hands the accepted side over.
  const server = net.createServer((accepted) => {
    accepted.unshift(Buffer.concat([encodeV2({ command: 'PROXY', source: { address: '198.51.100.9', port: 4242 }, destination: { address: '10.0.0.1', port: tcpPort } })]));
    p.proxy.adopt(`lb-tcp-${tcpPort}`, accepted);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const got = await new Promise<string>((resolve, reject) => {
    let text = '';
    client.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.length >= 'via the balancer'.length) {
        client.end();
        resolve(text);
      }
    });
    client.on('error', reject);
    client.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => client.write('via the balancer'));
  });
  server.close();
  assert.equal(got, 'via the balancer');
});

test('a listener added keeps the others\' connections; one removed stops accepting; a TCP one without a route closes connections', async () => {
  // A connection to the TCP listener stays open across both changes.
  const held = net.connect(tcpPort, '127.0.0.1');
  await new Promise<void>((r, j) => held.once('connect', () => r()).once('error', j));
  const heldEcho = (text: string) =>
    new Promise<string>((resolve) => {
      let got = '';
      const on = (d: Buffer) => {
        got += d.toString();
        if (got.length >= text.length) {
          held.off('data', on);
          resolve(got);
        }
      };
      held.on('data', on);
      held.write(text);
    });
  assert.equal(await heldEcho('before'), 'before');

  const withExtra = [port(`http-${httpPort}`, httpPort, 'http'), port(`tcp-${tcpPort}`, tcpPort, 'tcp', { tcpProxy: { clusters: [wc('echo')] } }), port(`tcp-${extraPort}`, extraPort, 'tcp')];
  p.proxy.apply(cfg(withExtra));
  assert.deepEqual(await p.proxy.syncListeners(), {});
  assert.equal(await listening(extraPort), true);
  // No TCPRoute on it: accepted, then closed.
  assert.equal(await echoOnce(extraPort, 'nobody'), '');
  assert.equal(await heldEcho('during'), 'during');

  p.proxy.apply(cfg(withExtra.filter((l) => l.name !== `http-${httpPort}`)));
  assert.deepEqual(await p.proxy.syncListeners(), {});
  await waitFor('the removed HTTP port listener stops accepting', async () => !(await listening(httpPort)), 10_000);
  assert.equal(await heldEcho('after'), 'after', 'the TCP connection that was open is still served');
  held.end();
});

test('a port it cannot bind is reported by name, nothing throws, and a later sync tries again', async () => {
  const held = await freePort();
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(held, '127.0.0.1', () => r()));
  p.proxy.apply(cfg([port(`http-${held}`, held, 'http')]));
  const problems = await p.proxy.syncListeners();
  assert.deepEqual(Object.keys(problems), [`http-${held}`]);
  assert.match(problems[`http-${held}`]!, new RegExp(`port ${held} \\(bound at ${held}\\): .*address already in use`));
  await new Promise<void>((r) => squatter.close(() => r()));
  assert.deepEqual(await p.proxy.syncListeners(), {});
  assert.equal((await get(held, '/y', { host: 'port.example.test' })).status, 200);
  p.proxy.apply(cfg([]));
  await p.proxy.syncListeners();
});

test('an https port listener ends TLS with its own hosts\' certificates (by SNI) and passes others through; the proxy\'s own HTTPS listener serves neither', async () => {
  const ca = await createCa('port listener CA');
  const leaf = await ca.issue({ dnsNames: ['secure.example.test'] });
  const ptLeaf = await ca.issue({ dnsNames: ['pt.example.test'] });
  const ptServer = tls.createServer({ cert: ptLeaf.certPem, key: ptLeaf.keyPem }, (s) => s.end('passed through'));
  await new Promise<void>((r) => ptServer.listen(0, '127.0.0.1', () => r()));
  const tlsPort = await freePort();
  const own = await startProxy(config(), [{ name: 'https', tls: true }], { portListeners: { host: '127.0.0.1', proxyProtocol: false, reusePort: false } });
  try {
    const name = `https-${tlsPort}`;
    own.proxy.apply(
      config({
        clusters: [cluster('b', [ep(b)]), cluster('pt', [{ address: '127.0.0.1', port: (ptServer.address() as net.AddressInfo).port }])],
        secrets: [{ id: 'default/secure', ...leaf }],
        httpsVirtualHosts: [
          { ...secureVhost('secure.example.test', [route({ to: 'b' })], { secretId: 'default/secure' }), listener: name },
          { ...secureVhost('pt.example.test', [], { passthrough: { clusters: [wc('pt')] } }), listener: name },
        ],
        listeners: [port(name, tlsPort, 'https')],
      }),
    );
    assert.deepEqual(await own.proxy.syncListeners(), {});
    const hget = (portNo: number, servername: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: portNo, path: '/s', headers: { host: servername }, servername, ca: ca.certPem, agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal((await hget(tlsPort, 'secure.example.test')).status, 200);
    assert.equal(b.seen.at(-1)!.headers['x-forwarded-proto'], 'https');
    const passed = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'pt.example.test', ca: ca.certPem }, () => undefined);
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    assert.equal(passed, 'passed through', 'the backend\'s own TLS, through the port listener');
    await assert.rejects(hget(own.port('https'), 'secure.example.test'), 'the proxy\'s own HTTPS listener has no such host');
  } finally {
    await own.close();
    await new Promise<void>((r) => ptServer.close(() => r()));
  }
});

test('a TCP port listener spreads connections over its TCPRoute\'s backends by weight (3:1), none to a weight-0 one', async () => {
  const counts = new Map<string, number>();
  const servers = ['x', 'y', 'z'].map((name) =>
    net.createServer((s) => {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      // Read what comes (the client's FIN behind it closes the connection).
      s.resume();
      s.end(name);
    }),
  );
  for (const s of servers) await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const at = (i: number) => ({ address: '127.0.0.1', port: (servers[i]!.address() as net.AddressInfo).port });
  const tcp = await freePort();
  const own = await startProxy(config(), [{}], { portListeners: { host: '127.0.0.1', proxyProtocol: false, reusePort: false } });
  try {
    own.proxy.apply(
      config({
        clusters: [cluster('x', [at(0)]), cluster('y', [at(1)]), cluster('z', [at(2)])],
        listeners: [port(`tcp-${tcp}`, tcp, 'tcp', { tcpProxy: { clusters: [wc('x', 3), wc('y', 1), wc('z', 0)] } })],
      }),
    );
    assert.deepEqual(await own.proxy.syncListeners(), {});
    const n = 400;
    for (let i = 0; i < n; i++) await echoOnce(tcp, '.');
    const x = counts.get('x') ?? 0;
    const y = counts.get('y') ?? 0;
    assert.equal(x + y, n, 'every connection reached a backend');
    assert.equal(counts.get('z'), undefined, 'the weight-0 backend got none');
    // 3:1 is 75 %; 400 tries keep a fair pick within 65-85 % far beyond chance.
    assert.ok(x / n > 0.65 && x / n < 0.85, `x got ${x} of ${n}`);
  } finally {
    await own.close();
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  }
});
