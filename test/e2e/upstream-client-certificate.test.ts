// The per-Service upstream client certificate through the whole chain
// (balancer -> proxy -> TLS backend that requires a client certificate from
// its own CA): the config file's tls.envoy-client-certificate by default,
// the Service's own Secret when its annotation names one, and none at all
// with "none"; the backend's refusal reaches the client as Envoy's 503.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { prepareQuickstart, FQDN } from '../../scripts/quickstart-lib.ts';
import { waitFor, freeOffset, freePort, httpsGet, startSecureBackend, startQuickstartServe, type ServeProcess } from './support.ts';

test('upstream client certificate per Service: global by default, the Service\'s own Secret, or none', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-upstream-cert-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const servicePath = join(files.manifests, 'secure-backend.yaml');
  const original = await readFile(servicePath, 'utf8');
  const annotate = (value: string) =>
    writeFile(servicePath, original.replace('    projectcontour.io/upstream-protocol.tls: "8443"\n', `    projectcontour.io/upstream-protocol.tls: "8443"\n    isobar.dev/upstream-client-certificate: ${value}\n`));
  // Two Secrets in the Service's namespace: the same certificate as the
  // global one under another name, and one the backend does not trust.
  const secrets = parseAllDocuments(await readFile(join(files.manifests, 'secrets.yaml'), 'utf8')).map((d) => d.toJS() as { metadata: { name: string }; stringData: Record<string, string> });
  const envoy = secrets.find((s) => s.metadata.name === 'envoy-client-cert')!;
  const tlsSecret = (name: string, crt: string, key: string) =>
    stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'demo' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': crt, 'tls.key': key } });
  await writeFile(
    join(files.manifests, 'service-certs.yaml'),
    [tlsSecret('own-client', envoy.stringData['tls.crt']!, envoy.stringData['tls.key']!), tlsSecret('untrusted-client', await readFile(files.rogueCert, 'utf8'), await readFile(files.rogueKey, 'utf8'))].join('---\n'),
  );
  const backend = await startSecureBackend(files, backendPort);
  const offset = await freeOffset([80, 443]);
  const port = 443 + offset;
  const ca = await readFile(files.edgeCa, 'utf8');
  const statusOf = async () => (await httpsGet({ host: FQDN, port, ca })).status;
  let serve: ServeProcess | undefined;
  try {
    serve = await startQuickstartServe(files, offset);
    await waitFor('served with the global client certificate', async () => ((await statusOf()) === 200) || undefined, 10_000);

    await annotate('none');
    const refused = await waitFor('no client certificate presented', async () => {
      const r = await httpsGet({ host: FQDN, port, ca });
      return r.status === 503 ? r : undefined;
    }, 10_000);
    assert.match(refused.body, /^upstream connect error or disconnect\/reset before headers/);

    await annotate('own-client');
    await waitFor('the Service\'s own certificate presented', async () => ((await statusOf()) === 200) || undefined, 10_000);

    await annotate('untrusted-client');
    await waitFor('a certificate the backend does not trust', async () => ((await statusOf()) === 503) || undefined, 10_000);

    await writeFile(servicePath, original);
    await waitFor('back to the global certificate', async () => ((await statusOf()) === 200) || undefined, 10_000);
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
