// One ACME order (RFC 8555 section 7.4) for a PENDING_VALIDATION
// certificate, or for the renewal of an issued one: account, order, one
// challenge per name (answered by the edge itself through `responder`),
// finalize with a new key, and the result written to the store under the
// same ARN. JWS, nonces and polling are acme-client's; what is isobar's is
// which challenge, who answers it, and what a failure is called.
//
// Failures end as an AcmeFailure: ACM's FailureReason, the CA's problem
// document on one line, and the Retry-After the CA sent (rate limits), so
// the caller decides when to try again; nothing here loops.

import { Agent, get as httpsGet } from 'node:https';
import type * as AcmeClient from 'acme-client';
import type { AcmeChallenge } from '../balancer/index.ts';
import { newPrivateKeyPem } from './acme-keys.ts';
import { asProblem, failureReason, oneLine, problemLine, problemName, type AcmeProblem, type FailureReason } from './acme-problem.ts';
import type { AcmeChallengeType } from './acme-settings.ts';
import type { CertificateRecord } from './record.ts';
import type { CertificateStore } from './store.ts';

/** Whoever answers challenges: balancer workers under `serve`, or the
 *  standalone challenge server of `certs request`. Resolves once every
 *  place that answers has the challenge. */
export interface ChallengeResponder {
  publish(c: AcmeChallenge): Promise<void>;
  withdraw(c: AcmeChallenge): Promise<void>;
}

/** DNS-01: sets and removes the TXT record _acme-challenge.<name>. */
export interface Dns01Publisher {
  setTxt(name: string, value: string): Promise<void>;
  removeTxt(name: string, value: string): Promise<void>;
}

export interface IssueOptions {
  responder: ChallengeResponder;
  dns?: Dns01Publisher;
  /** PEM CA certificates trusted for the ACME server itself (a private CA, Pebble). */
  caBundle?: string;
  /** External account binding for a new registration. */
  eab?: { kid: string; hmacKey: string };
  /** ARI certID of the certificate this order replaces (RFC 9773 section 5). */
  replaces?: string;
  /** How long to wait for one authorization or the order (default 60 s). */
  pollTimeoutMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export class AcmeFailure extends Error {
  readonly reason: FailureReason;
  readonly problem: AcmeProblem | undefined;
  /** The CA's Retry-After, when it sent one (429 rateLimited, 503). */
  readonly retryAfterMs: number | undefined;
  constructor(reason: FailureReason, message: string, o: { problem?: AcmeProblem; retryAfterMs?: number; cause?: unknown } = {}) {
    super(oneLine(message), { cause: o.cause });
    this.name = 'AcmeFailure';
    this.reason = reason;
    this.problem = o.problem;
    this.retryAfterMs = o.retryAfterMs;
  }
  get rateLimited(): boolean {
    return problemName(this.problem?.type) === 'rateLimited';
  }
}

type Acme = typeof AcmeClient.default;

// acme-client talks through one axios instance. Its own retries (5xx,
// 429, refused connections) are kept short and few: the caller's backoff
// is the one that counts. The last problem document and Retry-After seen
// are kept, since acme-client's errors carry only the detail text.
let last: { problem?: AcmeProblem; retryAfterMs?: number } = {};
const noteResponse = (r: { headers?: Record<string, unknown>; data?: unknown; status?: number } | undefined): void => {
  if (!r) return;
  const type = String(r.headers?.['content-type'] ?? '');
  if (type.includes('problem+json') || (r.status !== undefined && r.status >= 400)) {
    last = { problem: asProblem(r.data) ?? { detail: `HTTP ${r.status}` } };
    const ra = retryAfterMs(r.headers?.['retry-after']);
    if (ra !== undefined) last.retryAfterMs = ra;
  }
};

let loaded: Promise<Acme> | undefined;
/** acme-client, set up once, loaded on the first order. Every process that
 *  opens the store imports this module, the balancer workers too, which
 *  never order: acme-client with axios is about 9 MB of heap in each
 *  (bench/results/2026-12-03-gc.md). */
function acmeClient(): Promise<Acme> {
  return (loaded ??= import('acme-client').then((m) => {
    const acme = m.default;
    const settings = (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
    settings.retryMaxAttempts = 1;
    settings.retryDefaultDelay = 1;
    acme.axios.defaults.timeout = 15_000;
    acme.axios.interceptors.response.use(
      (r) => {
        noteResponse(r);
        return r;
      },
      (err: { response?: { headers?: Record<string, unknown>; data?: unknown; status?: number } }) => {
        noteResponse(err.response);
        return Promise.reject(err);
      },
    );
    return acme;
  }));
}

/** Retry-After as seconds or an HTTP date (RFC 9110 section 10.2.3). */
export function retryAfterMs(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v) * 1000;
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** Runs one order for `arn`; resolves with the ISSUED record. */
export async function issueAcme(store: CertificateStore, arn: string, o: IssueOptions): Promise<CertificateRecord> {
  const record = await store.get(arn);
  if (!record) throw new AcmeFailure('OTHER', `no certificate ${arn} in the store`);
  const settings = record.acme;
  if (!settings) throw new AcmeFailure('OTHER', `${arn} was not requested through ACME`);
  const log = o.log ?? (() => {});
  const acme = await acmeClient();
  acme.axios.defaults.httpsAgent = o.caBundle ? new Agent({ ca: o.caBundle, keepAlive: false }) : undefined;
  last = {};
  // Reachability first, in our words: acme-client loses a network error's cause.
  const unreachable = await probe(settings.directory, o.caBundle);
  if (unreachable) throw new AcmeFailure('OTHER', `the ACME directory ${settings.directory} cannot be reached (${unreachable})`);
  return step('the ACME server', async () => {
    const account = await store.acmeAccount(settings.directory, settings.email, o.eab);
    const client = new acme.Client({
      directoryUrl: settings.directory,
      accountKey: account.keyPem,
      ...(account.url ? { accountUrl: account.url } : {}),
      ...(account.eab ? { externalAccountBinding: { kid: account.eab.kid, hmacKey: account.eab.hmacKey } } : {}),
      backoffAttempts: 12,
      backoffMin: 250,
      backoffMax: 5_000,
    });
    if (!account.url) {
      await step('account registration', () => client.createAccount({ termsOfServiceAgreed: true, ...(settings.email ? { contact: [`mailto:${settings.email}`] } : {}) }));
      await store.saveAcmeAccountUrl(settings.directory, settings.email, client.getAccountUrl());
      log('ACME account registered', { directory: settings.directory, account: client.getAccountUrl() });
    }
    const identifiers = record.domains.map((value) => ({ type: 'dns' as const, value }));
    const order = await step('new order', () => client.createOrder({ identifiers, ...(o.replaces ? { replaces: o.replaces } : {}) } as Parameters<typeof client.createOrder>[0]));
    const authorizations = await step('authorizations', () => client.getAuthorizations(order));
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue;
      await validate(acme, client, authz, settings.challenges, o, log);
    }
    const keyPem = await newPrivateKeyPem(settings.keyType);
    const [, csr] = await acme.crypto.createCsr({ commonName: record.domains[0]!, altNames: record.domains }, keyPem);
    const finalized = await step('finalize', () => client.finalizeOrder(order, csr));
    const pem = await step('certificate download', () => client.getCertificate(finalized));
    const [leaf, ...chain] = acme.crypto.splitPemChain(pem);
    if (!leaf) throw new AcmeFailure('OTHER', 'the CA sent no certificate');
    const issued = await store.completeIssue(arn, { certPem: leaf, chainPem: chain.map((c) => c.trimEnd() + '\n').join(''), keyPem });
    log('certificate issued', { arn, notAfter: issued.notAfter });
    return issued;
  });
}

type Authz = Awaited<ReturnType<AcmeClient.Client['getAuthorizations']>>[number];
type Challenge = Authz['challenges'][number];

/** One name: the first challenge type of `order` the CA offers and isobar can answer. */
async function validate(acme: Acme, client: AcmeClient.Client, authz: Authz, order: readonly AcmeChallengeType[], o: IssueOptions, log: NonNullable<IssueOptions['log']>): Promise<void> {
  const name = authz.identifier.value;
  const wildcard = authz.wildcard === true;
  const usable = order.filter((t) => (t === 'dns-01' ? o.dns !== undefined : !wildcard));
  const challenge = usable.map((t) => authz.challenges.find((c) => c.type === t)).find((c): c is Challenge => c !== undefined);
  if (!challenge) {
    const offered = authz.challenges.map((c) => c.type).join(', ') || 'none';
    const why = wildcard && !o.dns ? 'a wildcard needs dns-01 and no DNS update server is configured (acme.dns)' : `isobar answers ${order.join(', ')}${order.includes('dns-01') && !o.dns ? ' (dns-01 needs acme.dns)' : ''}`;
    throw new AcmeFailure('DOMAIN_VALIDATION_DENIED', `${name}: no challenge isobar can answer (the CA offers ${offered}; ${why})`);
  }
  const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
  const published = await publish(acme, challenge, authz, keyAuthorization, o);
  log('answering ACME challenge', { domain: name, type: challenge.type });
  try {
    await step(`${challenge.type} for ${name}`, () => client.completeChallenge(challenge));
    try {
      await client.waitForValidStatus(authz);
    } catch (err) {
      // acme-client's error has the detail only: read the challenge's own problem.
      const fresh = await client.getAuthorizations({ authorizations: [authz.url] } as Parameters<typeof client.getAuthorizations>[0]).catch(() => []);
      const failed = fresh[0]?.challenges.find((c) => c.type === challenge.type);
      const problem = asProblem((failed as { error?: unknown } | undefined)?.error) ?? last.problem;
      if (problem) throw new AcmeFailure(failureReason(problem), `${challenge.type} for ${name} failed: ${problemLine(problem)}`, { problem, cause: err });
      throw new AcmeFailure('DOMAIN_VALIDATION_DENIED', `${challenge.type} for ${name} failed: ${(err as Error).message}`, { cause: err });
    }
  } finally {
    await published.withdraw().catch(() => {});
  }
}

async function publish(acme: Acme, ch: Challenge, authz: Authz, keyAuthorization: string, o: IssueOptions): Promise<{ withdraw(): Promise<void> }> {
  if (ch.type === 'dns-01') {
    const name = `_acme-challenge.${authz.identifier.value}`;
    try {
      await o.dns!.setTxt(name, keyAuthorization);
    } catch (err) {
      throw new AcmeFailure('OTHER', `dns-01 for ${authz.identifier.value}: ${(err as Error).message}`, { cause: err });
    }
    return { withdraw: () => o.dns!.removeTxt(name, keyAuthorization) };
  }
  let c: AcmeChallenge;
  if (ch.type === 'http-01') c = { type: 'http-01', token: (ch as { token: string }).token, keyAuthorization };
  else {
    const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
    c = { type: 'tls-alpn-01', domain: authz.identifier.value, certPem: cert.toString(), keyPem: key.toString() };
  }
  await o.responder.publish(c);
  return { withdraw: () => o.responder.withdraw(c) };
}

/** Runs one exchange with the CA; any error becomes an AcmeFailure naming the step. */
async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AcmeFailure) throw err;
    const seen = last;
    last = {};
    const code = (err as NodeJS.ErrnoException).code;
    if (seen.problem) {
      throw new AcmeFailure(failureReason(seen.problem), `${what}: ${problemLine(seen.problem)}`, { problem: seen.problem, retryAfterMs: seen.retryAfterMs, cause: err });
    }
    const msg = code && /^E[A-Z]+$/.test(code) ? `${what}: the CA cannot be reached (${code})` : `${what}: ${(err as Error).message}`;
    throw new AcmeFailure('OTHER', msg, { cause: err });
  }
}

/** Why the directory cannot be fetched (connection refused, a TLS chain the
 *  CA bundle does not cover, a timeout), or undefined when it can. */
async function probe(directory: string, caBundle: string | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = httpsGet(directory, { ...(caBundle ? { ca: caBundle } : {}), timeout: 10_000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode < 500 ? undefined : `HTTP ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const tls = /certificate|self.signed|verify/i.test(err.message);
      resolve(`${err.code ?? 'error'}${tls ? `: ${err.message}; give the CA of a private ACME server with acme.caBundle or --ca-bundle` : ''}`);
    });
  });
}
