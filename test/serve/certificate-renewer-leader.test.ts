// In Kubernetes every replica runs serve, and only the Lease holder renews:
// two replicas renewing the same certificate would each replace the other's.
// A due certificate from the local CA is left alone while this replica is
// not the leader, and renewed once it is.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateStore } from '../../src/certs/index.ts';
import { quietRenewer } from '../support/renewer.ts';
import { waitFor } from '../support/wait.ts';

const ARN = 'arn:aws:acm:us-east-2:000000000000:certificate/1eade100-0000-4000-8000-000000000001';

test('a due certificate is renewed only while this replica holds the Lease', { timeout: 150_000 }, async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'isobar-renewer-leader-'));
  const store = await CertificateStore.open(stateDir);
  const issued = await store.request({ domain: 'leader.example.test', arn: ARN });
  // Due a minute ago (as ARI or a third of the lifetime left would make it).
  await store.updateRecord(ARN, (r) => ({ ...r, renewAt: new Date(Date.now() - 60_000).toISOString() }));

  let leader = false;
  const renewer = quietRenewer(stateDir, () => leader);
  t.after(async () => {
    await renewer.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  renewer.poke();
  // Long enough for a renewal from the local CA to have happened many times over.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await store.get(ARN))!.fingerprint, issued.fingerprint, 'a replica that is not the leader renews nothing');

  leader = true;
  renewer.poke();
  const renewed = await waitFor('the leader to renew', async () => {
    const r = await store.get(ARN);
    return r && r.fingerprint !== issued.fingerprint ? r : undefined;
  }, 90_000, 50);
  assert.equal(renewed.type, 'local-ca');
  assert.deepEqual(renewed.domains, ['leader.example.test']);
  assert.ok(Date.parse(renewed.notBefore) >= Date.parse(issued.notBefore), 'the new certificate is the newer one');
});
