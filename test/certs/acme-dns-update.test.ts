// RFC 2136 updates with TSIG against a real Knot DNS on loopback: a TXT
// record added and deleted, a wrong secret or key refused with the
// server's reason, and malformed answers (untrusted bytes) refused with a
// DnsUpdateError, never another exception.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as dns } from 'node:dns';
import fc from 'fast-check';
import { Rfc2136Publisher } from '../../src/certs/dns01-rfc2136.ts';
import { checkAnswer, DnsUpdateError, encodeName, signMessage, updateMessage, type TsigKey } from '../../src/certs/dns-update.ts';
import { freePort } from '../e2e/support.ts';
import { startKnot, ZONE } from '../../scripts/acme-local-lib.ts';
import { waitFor } from '../support/wait.ts';

test('add and delete a TXT record in Knot with TSIG; a wrong secret or key name is refused with the reason', async (t) => {
  const knot = await startKnot(await freePort());
  t.after(() => knot.stop());
  const key: TsigKey = { name: knot.tsig.name, algorithm: knot.tsig.algorithm, secret: Buffer.from(knot.tsig.secret, 'base64') };
  const pub = new Rfc2136Publisher({ server: `127.0.0.1:${knot.port}`, zone: ZONE, key });
  const resolver = new dns.Resolver();
  resolver.setServers([`127.0.0.1:${knot.port}`]);
  const name = `_acme-challenge.www.${ZONE}`;
  const value = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
  await pub.setTxt(name, value);
  assert.deepEqual(await resolver.resolveTxt(name), [[value]]);
  const long = 'x'.repeat(300); // more than one character-string
  await pub.setTxt(name, long);
  await pub.removeTxt(name, value);
  assert.deepEqual(await resolver.resolveTxt(name), [['x'.repeat(255), 'x'.repeat(45)]]);
  await pub.removeTxt(name, long);
  await waitFor('the record gone', async () => (await resolver.resolveTxt(name).catch((e: NodeJS.ErrnoException) => e.code)) === 'ENODATA' || (await resolver.resolveTxt(name).catch((e: NodeJS.ErrnoException) => e.code)) === 'ENOTFOUND');

  const wrongSecret = new Rfc2136Publisher({ server: `127.0.0.1:${knot.port}`, zone: ZONE, key: { ...key, secret: Buffer.alloc(32, 7) } });
  await assert.rejects(wrongSecret.setTxt(name, value), (e: unknown) => e instanceof DnsUpdateError && /NOTAUTH|BADSIG/.test(e.message));
  const wrongName = new Rfc2136Publisher({ server: `127.0.0.1:${knot.port}`, zone: ZONE, key: { ...key, name: 'nobody' } });
  await assert.rejects(wrongName.setTxt(name, value), (e: unknown) => e instanceof DnsUpdateError && /NOTAUTH|BADKEY/.test(e.message));
  const otherZone = new Rfc2136Publisher({ server: `127.0.0.1:${knot.port}`, zone: 'example.org', key });
  await assert.rejects(otherZone.setTxt('_acme-challenge.example.org', value), (e: unknown) => e instanceof DnsUpdateError && /NOTAUTH|REFUSED/.test(e.message));
  const down = new Rfc2136Publisher({ server: `127.0.0.1:${await freePort()}`, zone: ZONE, key });
  await assert.rejects(down.setTxt(name, value), /ECONNREFUSED/);
  assert.throws(() => updateMessage({ zone: ZONE, name: '_acme-challenge.example.org', value, ttl: 60, op: 'add' }, 1), /is not in the zone/);
});

test('answers are untrusted: random, truncated and unsigned ones are refused with a DnsUpdateError', () => {
  const key: TsigKey = { name: 'k', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 1) };
  const { signed, mac } = signMessage(updateMessage({ zone: ZONE, name: `a.${ZONE}`, value: 'v', ttl: 60, op: 'add' }, 4660), key);
  // The request itself, turned into a response with QR set: unsigned by the server's key => refused.
  const echoed = Buffer.from(signed);
  echoed[2]! |= 0x80;
  assert.throws(() => checkAnswer(echoed, 4660, key, mac), /signature does not verify|signed with another key/);
  const unsigned = Buffer.from(signed.subarray(0, 12 + encodeName(ZONE).length + 4));
  unsigned[2]! |= 0x80;
  unsigned.writeUInt16BE(0, 8);
  unsigned.writeUInt16BE(0, 10);
  assert.throws(() => checkAnswer(unsigned, 4660, key, mac), /not signed \(TSIG\); refusing to trust it/);
  unsigned[3] = (unsigned[3]! & 0xf0) | 5;
  assert.throws(() => checkAnswer(unsigned, 4660, key, mac), /REFUSED/);
  assert.throws(() => checkAnswer(unsigned, 1, key, mac), /ID mismatch/);
  for (let n = 0; n < echoed.length; n++) {
    assert.throws(() => checkAnswer(echoed.subarray(0, n), 4660, key, mac), DnsUpdateError);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(echoed.length), (bytes, at) => {
      const mutated = Buffer.concat([echoed.subarray(0, at), Buffer.from(bytes)]);
      try {
        checkAnswer(mutated, 4660, key, mac);
        assert.fail('a mutated answer verified');
      } catch (err) {
        assert.ok(err instanceof DnsUpdateError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});
