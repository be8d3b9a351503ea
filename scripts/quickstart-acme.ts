// `npm start -- --acme`: the walkthrough with a certificate from an ACME CA
// instead of the local one. A local Pebble (Let's Encrypt's test CA) and a
// Knot DNS zone for example.test play the public CA and DNS; `certs request
// --acme` asks for tls-demo.example.test while serve runs, serve's load
// balancer answers HTTP-01 on port 80 (80 + offset here, where Pebble is told
// to connect), and the Service is switched to the issued certificate.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateStore } from '../src/certs/index.ts';
import { freePort as freePortOn } from '../src/serve/ports.ts';
import { startKnot, startPebble } from './acme-local-lib.ts';
import { EDGE_ARN, FQDN, type QuickstartFiles } from './quickstart-lib.ts';

export const ACME_ARN = 'arn:aws:acm:us-east-2:185309785115:certificate/acacacac-0000-4000-8000-000000000001';

const freePort = (): Promise<number> => freePortOn('127.0.0.1');

export interface LocalAcme {
  /** The config file to serve with: the quickstart's plus acme.*. */
  config: string;
  /** Pebble's root, for curl --cacert. */
  rootFile: string;
  stop(): Promise<void>;
}

/** Pebble and Knot on loopback, Pebble validating on the balancer's 80 and 443 (+ offset). */
export async function startLocalAcme(work: string, files: QuickstartFiles, offset: number): Promise<LocalAcme> {
  const knot = await startKnot(await freePort(), 'example.test');
  const pebble = await startPebble({ port: await freePort(), managementPort: await freePort(), dnsPort: knot.port, httpPort: 80 + offset, tlsPort: 443 + offset }).catch(async (err: unknown) => {
    await knot.stop();
    throw err;
  });
  const config = join(work, 'isobar-acme.yaml');
  await writeFile(config, `${await readFile(files.config, 'utf8')}\nacme:\n  directory: ${pebble.directory}\n  email: quickstart@example.test\n  caBundle: ${pebble.caBundleFile}\n  challenges: [http-01]\n`);
  const rootFile = join(work, 'pki', 'pebble-root.pem');
  await writeFile(rootFile, await pebble.root());
  // A request left from an earlier run belongs to an earlier Pebble.
  const store = await CertificateStore.open(files.stateDir);
  if (await store.get(ACME_ARN)) await store.delete(ACME_ARN, { force: true });
  return {
    config,
    rootFile,
    async stop() {
      await pebble.stop();
      await knot.stop();
    },
  };
}

/** Waits for the request to be ISSUED (or says why it FAILED), then points the Service at it. */
export async function switchToAcme(files: QuickstartFiles, timeoutMs: number): Promise<{ ms: number }> {
  const store = await CertificateStore.open(files.stateDir, { readOnly: true });
  const t0 = Date.now();
  for (;;) {
    const r = await store.get(ACME_ARN);
    if (r?.status === 'ISSUED') break;
    if (r?.status === 'FAILED') throw new Error(`the ACME request FAILED (${r.failureReason}): ${r.failureDetail}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`the ACME request is still ${r?.status ?? 'missing'} after ${timeoutMs / 1000} s`);
    await new Promise((res) => setTimeout(res, 100));
  }
  const ms = Date.now() - t0;
  const svc = join(files.manifests, 'envoy-service.yaml');
  // The ACME certificate first (the default, and tls-demo's), the local one
  // still there for the other names the walkthrough shows (its wildcard).
  await writeFile(svc, (await readFile(svc, 'utf8')).replace(EDGE_ARN, `${ACME_ARN},${EDGE_ARN}`));
  return { ms };
}

export const ACME_DOMAIN = FQDN;
