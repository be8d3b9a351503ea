// Negotiation policies and ALPN policies on a real listener, checked with
// openssl s_client and Node's TLS client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { BalancerRuntime } from '../../src/balancer/index.ts';
import { createCa } from '../support/pki.ts';
import { configOf, edgeCertificate, keyProvider, listener, startTarget, tlsOf } from './support.ts';

const ca = await createCa();
const cert = edgeCertificate(await ca.issue({ dnsNames: ['a.test'] }), ['a.test']);

function sClient(port: number, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'a.test', ...args],
      { timeout: 10_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
    child.stdin?.end('');
  });
}

async function withListener(policy: string, alpn: string[] | null, fn: (port: number) => Promise<void>): Promise<void> {
  const target = await startTarget('t');
  const rt = new BalancerRuntime({ keys: keyProvider([cert]) });
  try {
    await rt.apply(configOf(listener({ protocol: 'TLS', tls: tlsOf([cert], policy, alpn), targets: [target.target] })));
    const a = rt.address('default/web:443');
    assert.ok(a);
    await fn(a.port);
  } finally {
    await rt.close(0);
    await target.close();
  }
}

test('default policy refuses a TLS 1.1 client and accepts TLS 1.2 and 1.3', async () => {
  await withListener('ELBSecurityPolicy-TLS13-1-2-2021-06', null, async (port) => {
    const old = await sClient(port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.notEqual(old.code, 0, old.out);
    assert.match(old.out, /alert protocol version/);
    assert.match(old.out, /Cipher is \(NONE\)/);
    const t12 = await sClient(port, ['-tls1_2']);
    assert.equal(t12.code, 0, t12.out);
    assert.match(t12.out, /Protocol\s*:\s*TLSv1\.2/);
    assert.match(t12.out, /Cipher\s*:\s*ECDHE-ECDSA-AES128-GCM-SHA256/, 'the policy order wins');
    const t13 = await sClient(port, ['-tls1_3']);
    assert.match(t13.out, /TLSv1\.3/);
  });
});

test('ELBSecurityPolicy-2016-08 accepts TLS 1.1 (security level lowered for that listener only)', async () => {
  await withListener('ELBSecurityPolicy-2016-08', null, async (port) => {
    const old = await sClient(port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.equal(old.code, 0, old.out);
    assert.match(old.out, /Protocol\s*:\s*TLSv1\.1/);
    const t13 = await sClient(port, ['-tls1_3']);
    assert.notEqual(t13.code, 0, 'this policy has no TLS 1.3');
  });
});

test('TLS 1.3-only policy refuses TLS 1.2', async () => {
  await withListener('ELBSecurityPolicy-TLS13-1-3-2021-06', null, async (port) => {
    const t12 = await sClient(port, ['-tls1_2']);
    assert.notEqual(t12.code, 0, t12.out);
    const t13 = await sClient(port, ['-tls1_3']);
    assert.equal(t13.code, 0, t13.out);
  });
});

async function alpnOf(port: number, offer: string[] | undefined): Promise<string | false> {
  const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', ca: ca.certPem, ...(offer ? { ALPNProtocols: offer } : {}) });
  await once(s, 'secureConnect');
  const p = s.alpnProtocol ?? false;
  s.destroy();
  return p;
}

test('ALPN follows the policy: its order wins, no overlap means no ALPN and the handshake goes on', async () => {
  const rows: [string, string[] | null, string[] | undefined, string | false][] = [
    ['HTTP2Preferred', ['h2', 'http/1.1', 'http/1.0'], ['http/1.1', 'h2'], 'h2'],
    ['HTTP2Optional', ['http/1.1', 'http/1.0', 'h2'], ['h2', 'http/1.1'], 'http/1.1'],
    ['HTTP2Optional', ['http/1.1', 'http/1.0', 'h2'], ['h2'], 'h2'],
    ['HTTP1Only', ['http/1.1', 'http/1.0'], ['h2'], false],
    ['HTTP2Only', ['h2'], ['http/1.1'], false],
    ['HTTP2Only', ['h2'], undefined, false],
    ['None', null, ['h2', 'http/1.1'], false],
  ];
  for (const [name, list, offer, want] of rows) {
    await withListener('ELBSecurityPolicy-TLS13-1-2-2021-06', list, async (port) => {
      assert.equal(await alpnOf(port, offer), want, `${name} with client ${JSON.stringify(offer)}`);
    });
  }
});

test('openssl s_client -alpn sees the policy choice', async () => {
  await withListener('ELBSecurityPolicy-TLS13-1-2-2021-06', ['h2', 'http/1.1', 'http/1.0'], async (port) => {
    const r = await sClient(port, ['-alpn', 'http/1.1,h2']);
    assert.match(r.out, /ALPN protocol: h2/);
    const none = await sClient(port, ['-alpn', 'spdy/3']);
    assert.equal(none.code, 0, none.out);
    assert.match(none.out, /No ALPN negotiated/);
  });
});

test('post-quantum policies negotiate hybrid ML-KEM key exchange; classical policies do not', async () => {
  const groupOf = async (port: number) => {
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', ca: ca.certPem });
    await once(s, 'secureConnect');
    const name = s.getEphemeralKeyInfo() && (s.getEphemeralKeyInfo() as { name?: string }).name;
    s.destroy();
    return name;
  };
  await withListener('ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09', null, async (port) => {
    assert.equal(await groupOf(port), 'X25519MLKEM768');
  });
  await withListener('ELBSecurityPolicy-TLS13-1-2-2021-06', null, async (port) => {
    assert.equal(await groupOf(port), 'X25519');
  });
});
