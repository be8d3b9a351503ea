// The primary's exact connection balancer with real proxy worker processes:
// a connection handed to a worker that stops answering and is then killed
// goes to the other worker and is answered (nothing lost, nothing left open
// in the primary, the dead worker counts nothing); TLS connections are
// handed over unread and the worker does the handshake; the balancer's Unix
// socket hop keeps its PROXY header and its peer reads as 127.0.0.1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { ProxyConfig } from '../../src/dag/proxy-config.ts';
import { ProxyConfigDeltas } from '../../src/serve/config-delta.ts';
import { ExactBalancer } from '../../src/serve/exact-balancer.ts';
import type { ToProxyWorker } from '../../src/serve/messages.ts';
import { WorkerPool } from '../../src/serve/workers.ts';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { createCa } from '../support/pki.ts';
import { waitFor, freePort } from '../e2e/support.ts';
import { cluster, config, ep, httpBackend, route, secureVhost, vhost } from '../proxy/fixtures.ts';

const HOST = 'app.example.test';

/** One request on a fresh connection (written as soon as it connects), and the whole answer. */
function ask(to: net.NetConnectOpts, request: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(to);
    const chunks: Buffer[] = [];
    const t = setTimeout(() => s.destroy(new Error('no answer in 20 s')), 20_000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.on('error', reject);
    s.on('connect', () => s.write(request));
  });
}

test('exact balancing with real workers: a hand-off to a worker that dies is served by another; TLS and the Unix hop', { timeout: 90_000 }, async () => {
  const app = await httpBackend('app');
  const ca = await createCa('edge CA');
  const cert = await ca.issue({ dnsNames: [HOST] });
  const dir = mkdtempSync(path.join(tmpdir(), 'isobar-exact-'));
  const lbPath = path.join(dir, 'lb-http.sock');
  const logger = pino({ level: 'silent' });
  const balancer = new ExactBalancer(
    [
      { name: 'http', host: '127.0.0.1', port: 0 },
      { name: 'https', host: '127.0.0.1', port: 0 },
      { name: 'lb-http', path: lbPath },
    ],
    logger,
  );
  const lbPort = await freePort();
  const deltas = new ProxyConfigDeltas();
  const whole = (v: number): ToProxyWorker => ({ type: 'config', version: v, config: deltas.whole(v).text });
  let pool: WorkerPool<ToProxyWorker, ProxyConfig> | undefined;
  try {
    await balancer.bind();
    const httpPort = balancer.port('http')!;
    const httpsPort = balancer.port('https')!;
    pool = new WorkerPool<ToProxyWorker, ProxyConfig>({
      role: 'proxy',
      count: 2,
      logger,
      init: (workerIndex) => ({
        type: 'init',
        workerIndex,
        logFormat: 'json',
        accessLog: false,
        ticketKeys: randomBytes(48),
        listeners: [
          { name: 'http', host: '127.0.0.1', port: httpPort, tls: false, proxyProtocol: false, handedOff: true },
          { name: 'https', host: '127.0.0.1', port: httpsPort, tls: true, proxyProtocol: false, handedOff: true },
          { name: 'lb-http', host: '127.0.0.1', port: lbPort, tls: false, proxyProtocol: true, reusePort: true },
        ],
      }),
      configMessage: (v, c) => {
        deltas.next(v, c);
        return whole(v);
      },
      wholeConfigMessage: whole,
      onFatal: () => {},
      onListening: (index, child) => balancer.workerReady(index, child),
      onGone: (child) => balancer.workerGone(child),
      onHandOff: (msg, child) => (msg.type === 'adopted' ? balancer.adopted(child, msg.id) : balancer.closed(child, msg.listener)),
    });
    await pool.start();
    await pool.apply(
      1,
      config({
        clusters: [cluster('app', [ep(app)])],
        secrets: [{ id: 'default/app', ...cert }],
        httpVirtualHosts: [vhost(HOST, [route({ to: 'app' })])],
        httpsVirtualHosts: [secureVhost(HOST, [route({ to: 'app' })], { secretId: 'default/app' })],
      }),
    );
    const GET = `GET /x HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`;
    assert.match(await ask({ host: '127.0.0.1', port: httpPort }, GET), /^HTTP\/1\.1 200 /);

    await waitFor('its close reported', () => balancer.counts('http').every((n) => n === 0));

    // Worker 0 stops answering (SIGSTOP): with both at 0 the next connection
    // is its (the first worker on a tie), and waits there unadopted.
    const [first] = pool.pids();
    process.kill(first!, 'SIGSTOP');
    const answer = ask({ host: '127.0.0.1', port: httpPort }, GET);
    await waitFor('the connection assigned to worker 0', () => balancer.counts('http')[0] === 1);
    assert.equal(await balancer.heldConnections(), 1, 'the primary holds it until the worker says it has it');
    // It dies without having taken it: the other worker serves it.
    process.kill(first!, 'SIGKILL');
    assert.match(await answer, /^HTTP\/1\.1 200 /);
    await waitFor('the replacement listens', () => pool!.pids()[0] !== first && pool!.upToDate(), 20_000);
    await waitFor('nothing counted once closed', () => balancer.counts('http').every((n) => n === 0));
    assert.equal(await balancer.heldConnections(), 0, 'no socket left open in the primary');

    // TLS: handed over before the ClientHello is read; the worker's SNI
    // inspection picks the virtual host and terminates it.
    const tlsAnswer = await new Promise<{ status: number; backend: string }>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: httpsPort, path: '/t', servername: HOST, headers: { host: HOST }, ca: ca.certPem, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, backend: String(res.headers['x-backend']) }));
      });
      req.on('error', reject);
    });
    assert.deepEqual(tlsAnswer, { status: 200, backend: 'app' });

    // The load balancer's hop over the primary's Unix socket: the PROXY
    // header names the client, the peer reads as the loopback hop's.
    const header = encodeV2({ command: 'PROXY', source: { address: '198.51.100.7', port: 40000 }, destination: { address: '10.0.0.1', port: 80 } });
    assert.match(await ask({ path: lbPath }, Buffer.concat([header, Buffer.from(GET)])), /^HTTP\/1\.1 200 /);
    const seen = app.seen.at(-1)!.headers;
    assert.equal(seen['x-forwarded-for'], '198.51.100.7');
    await waitFor('every hand-off closed', () => ['http', 'https', 'lb-http'].every((l) => balancer.counts(l).every((n) => n === 0)));
    assert.equal(await balancer.heldConnections(), 0);
  } finally {
    balancer.close();
    await pool?.stop(1000);
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
