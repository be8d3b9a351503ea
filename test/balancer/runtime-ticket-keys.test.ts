// TLS session ticket keys given to the balancer runtime: two runtimes on one
// port (SO_REUSEPORT, as two balancer workers) resume each other's TLS 1.3
// sessions when they hold the same keys; after a rotation to new keys an
// old ticket gets a full handshake and new ones resume again; keys of the
// wrong size are refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { BalancerRuntime } from '../../src/balancer/index.ts';
import { createCa } from '../support/pki.ts';
import { configOf, edgeCertificate, keyProvider, listener, startTarget, tlsOf } from './support.ts';

const ca = await createCa();
const cert = edgeCertificate(await ca.issue({ dnsNames: ['a.test'] }), ['a.test']);

async function connect(port: number, session?: Buffer): Promise<{ resumed: boolean; session?: Buffer }> {
  const s = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', ca: ca.certPem, ...(session ? { session } : {}) });
  try {
    const ticket = once(s, 'session') as Promise<[Buffer]>;
    await once(s, 'secureConnect');
    if (session) return { resumed: s.isSessionReused() };
    const [next] = await ticket;
    return { resumed: s.isSessionReused(), session: next };
  } finally {
    s.destroy();
  }
}

async function resumedOf(port: number, session: Buffer, n: number): Promise<number> {
  let resumed = 0;
  for (let i = 0; i < n; i++) if ((await connect(port, session)).resumed) resumed++;
  return resumed;
}

test('two runtimes with the same ticket keys resume each other; a rotation retires old tickets', async (t) => {
  const target = await startTarget('t');
  const keys = randomBytes(48);
  const a = new BalancerRuntime({ keys: keyProvider([cert]), reusePort: true, ticketKeys: keys });
  const b = new BalancerRuntime({ keys: keyProvider([cert]), reusePort: true, ticketKeys: keys });
  t.after(async () => {
    await Promise.all([a.close(0), b.close(0)]);
    await target.close();
  });
  await a.apply(configOf(listener({ protocol: 'TLS', tls: tlsOf([cert]), targets: [target.target] })));
  const port = a.address('default/web:443')!.port;
  await b.apply(configOf(listener({ protocol: 'TLS', tls: tlsOf([cert]), targets: [target.target], bindPort: port })));
  assert.equal(b.address('default/web:443')?.port, port);

  const first = await connect(port);
  assert.equal(first.resumed, false);
  assert.equal(await resumedOf(port, first.session!, 10), 10, 'every reconnection resumed, on either runtime');

  const rotated = randomBytes(48);
  a.setTicketKeys(rotated);
  b.setTicketKeys(rotated);
  assert.equal(await resumedOf(port, first.session!, 10), 0, 'a ticket of the old keys gets a full handshake');
  const fresh = await connect(port);
  assert.equal(await resumedOf(port, fresh.session!, 10), 10, 'a ticket of the new keys resumes');
});

test('ticket keys of the wrong size are refused', () => {
  assert.throws(() => new BalancerRuntime({ keys: keyProvider([cert]), ticketKeys: randomBytes(32) }), /48 bytes, got 32/);
  const rt = new BalancerRuntime({ keys: keyProvider([cert]) });
  assert.throws(() => rt.setTicketKeys(Buffer.alloc(0)), /48 bytes, got 0/);
});
