// The primary's TLS ticket keys: 48 random bytes, replaced by new ones each
// period (handed to the callback that sends them to the workers); a period
// outside 1 s to 24 h is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TicketKeys } from '../../src/serve/ticket-keys.ts';
import { waitFor } from '../support/wait.ts';

test('ticket keys rotate each period to new 48-byte keys', async () => {
  const seen: Buffer[] = [];
  const keys = new TicketKeys(1000, (k) => seen.push(k));
  try {
    const initial = keys.current;
    assert.equal(initial.length, 48);
    await waitFor('two rotations', () => seen.length >= 2, 20_000);
    assert.equal(seen[0]!.length, 48);
    assert.notDeepEqual(seen[0], initial);
    assert.notDeepEqual(seen[1], seen[0]);
    assert.deepEqual(keys.current, seen.at(-1));
  } finally {
    keys.stop();
  }
});

test('a rotation period outside 1 s to 24 h is refused', () => {
  for (const ms of [0, 999, -1, Number.NaN, 24 * 3600 * 1000 + 1]) {
    assert.throws(() => new TicketKeys(ms, () => {}), /1s to 24h/, String(ms));
  }
});
