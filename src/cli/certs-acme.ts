// `isobar certs request --acme`: a certificate from an ACME CA. The record
// is written PENDING_VALIDATION and its ARN printed at once; then either
// the running `serve` on this store validates it (its load balancer
// answers the challenges) or, with no serve, this command answers them
// itself on the challenge ports and ends with ISSUED or FAILED.

import { acmeSettingsFrom, attemptIssue, ChallengeServer, checkWildcards, readCaBundle, Rfc2136Publisher, rfc2136From, type CertificateStore } from '../certs/index.ts';
import type { IsobarConfig } from '../config/index.ts';
import { resolve } from 'node:path';
import { CliError, EXIT_INVALID, EXIT_USAGE } from './errors.ts';

export interface AcmeRequestFlags {
  domain: string;
  san?: string[];
  arn?: string;
  acme: string | true;
  email?: string;
  eabKid?: string;
  eabHmacKey?: string;
  keyType?: string;
  challenge?: string[];
  caBundle?: string;
  http01Port?: string;
  tlsAlpn01Port?: string;
  challengeAddress?: string;
}

export async function requestAcme(store: CertificateStore, f: AcmeRequestFlags, config: IsobarConfig, configFile: string | undefined, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const settings = acmeSettingsFrom({ directory: f.acme === true ? undefined : f.acme, email: f.email, keyType: f.keyType, challenges: f.challenge }, config.acme, configFile);
  if ((f.eabKid === undefined) !== (f.eabHmacKey === undefined)) throw new CliError('--eab-kid and --eab-hmac-key go together', EXIT_USAGE);
  const eab = f.eabKid !== undefined ? { kid: f.eabKid, hmacKey: f.eabHmacKey! } : config.acme.externalAccountBinding && { kid: config.acme.externalAccountBinding.keyId, hmacKey: config.acme.externalAccountBinding.hmacKey };
  const caBundle = await readCaBundle(f.caBundle ?? config.acme.caBundle, f.caBundle !== undefined ? '--ca-bundle' : 'acme.caBundle');
  // Kept with the request, so the serve that validates or renews it uses it too.
  const caBundleFile = f.caBundle ?? config.acme.caBundle;
  if (caBundleFile !== undefined) settings.caBundle = resolve(caBundleFile);
  const httpPort = port(f.http01Port, '--http-01-port', 80);
  const tlsPort = port(f.tlsAlpn01Port, '--tls-alpn-01-port', 443);
  checkWildcards([f.domain, ...(f.san ?? [])].map((d) => d.trim().toLowerCase()), settings.challenges);
  const dns = config.acme.dns ? new Rfc2136Publisher(await rfc2136From(config.acme.dns)) : undefined;
  if (settings.challenges.includes('dns-01') && !dns && settings.challenges.length === 1) throw new CliError('--challenge dns-01 needs acme.dns in the config file (the zone\'s server and TSIG key)', EXIT_USAGE);
  const renewer = await store.renewerPid();
  if (eab) await store.acmeAccount(settings.directory, settings.email, eab);
  const record = await store.requestAcme({ domain: f.domain, sans: f.san ?? [], arn: f.arn, acme: settings });
  out(record.arn);
  if (renewer !== undefined) {
    err(`${record.arn} is PENDING_VALIDATION: isobar serve (pid ${renewer}) validates it with its load balancer; \`isobar certs describe ${record.arn}\` shows when it is ISSUED`);
    return 0;
  }
  const server = await ChallengeServer.start({
    address: f.challengeAddress ?? '0.0.0.0',
    ...(settings.challenges.includes('http-01') ? { httpPort } : {}),
    ...(settings.challenges.includes('tls-alpn-01') ? { tlsPort } : {}),
  }).catch(async (e: unknown) => {
    await store.updateRecord(record.arn, (r) => ({ ...r, status: 'FAILED', failureReason: 'OTHER', failureDetail: (e as Error).message }));
    throw e;
  });
  try {
    const t0 = performance.now();
    const result = await attemptIssue(store, record.arn, { responder: server, ...(caBundle ? { caBundle } : {}), ...(dns ? { dns } : {}) });
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    if (result.ok) {
      err(`${record.arn} is ISSUED (in ${seconds} s), valid until ${result.record.notAfter}`);
      return 0;
    }
    err(`${record.arn} is FAILED (${result.failure.reason}): ${result.failure.message}`);
    return EXIT_INVALID;
  } finally {
    await server.close();
  }
}

function port(value: string | undefined, flag: string, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n < 1 || n > 65535) throw new CliError(`${flag} ${JSON.stringify(value)} is not a port (1-65535)`, EXIT_USAGE);
  return n;
}
