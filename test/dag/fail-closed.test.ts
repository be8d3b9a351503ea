// The fail-closed rule: a field that restricts who may reach what, or how
// much, and that isobar does not enforce, makes the HTTPProxy invalid and
// serves nothing of it; fields that restrict nothing stay warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { assertStatuses, endpoints, invalid, invalidSame, ORPHANED, proxy, root, run, service, tlsSecret, VALID, vhost, type Err, type Row } from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const pair = await (await createCa('fail-closed CA')).issue({ dnsNames: [FQDN] });
const notServed = (where: string, field: string): Err => [
  'SpecError',
  'NotSupported',
  `${where}${field} is not supported by isobar; this HTTPProxy is not served, rather than served without it`,
];
const noHttp = (r: ReturnType<typeof run>) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);

const rows: Row[] = [
  {
    name: 'an orphan with a rate limit is only orphaned (it is never processed)',
    objects: [root('p', FQDN, { routes: [{ services: [svc] }] }), proxy('o', { routes: [{ services: [svc], rateLimitPolicy: {} } as never] }), ...base],
    expect: { p: VALID, o: ORPHANED },
  },
];

for (const row of rows) {
  test(`fail closed: ${row.name}`, () => {
    const r = run(row.objects, row.config);
    assertStatuses(r, row.expect);
    row.check?.(r);
  });
}
