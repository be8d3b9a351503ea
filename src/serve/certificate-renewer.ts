// Managed certificates under `serve`: ACME requests left PENDING_VALIDATION
// (by `certs request --acme` while this server runs) are validated here,
// with the balancer workers answering the challenges, and issued
// certificates from ACME or the local CA are renewed when due (a third of
// the lifetime left, or the CA's ARI time; failures back off). One renewer
// per store on a machine (the store's renewer lock) and, in Kubernetes, only
// the Lease holder. A renewed certificate reaches the listeners through the
// store watch, as any other certificate change: the old one serves until
// the new one is applied, and open connections keep theirs.

import { existsSync } from 'node:fs';
import type pino from 'pino';
import type { AcmeChallenge } from '../balancer/index.ts';
import { attemptIssue, CertificateStore, readCaBundle, renewalDueAt, Rfc2136Publisher, rfc2136From, type Backoff, type CertificateRecord, type ChallengeResponder } from '../certs/index.ts';
import type { IsobarConfig } from '../config/index.ts';
import type { ControlPlaneMetrics } from '../metrics/index.ts';

export interface RenewerOptions {
  stateDir: string;
  config: IsobarConfig;
  /** Publishes the whole set of challenges to every balancer worker. */
  setChallenges(list: AcmeChallenge[]): Promise<void>;
  logger: pino.Logger;
  metrics: ControlPlaneMetrics;
  /** Kubernetes: renew only while holding the Lease. */
  isLeader?: () => boolean;
  backoff?: Backoff;
}

/** Re-scan at least this often (a store change pokes sooner). */
const MAX_SLEEP_MS = 5 * 60_000;
/** While another process is the renewer, look again after this long. */
const STANDBY_MS = 30_000;

export class CertificateRenewer {
  readonly #o: RenewerOptions;
  #store: CertificateStore | undefined;
  #release: (() => Promise<void>) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #disabled = false;
  readonly #challenges: AcmeChallenge[] = [];

  constructor(o: RenewerOptions) {
    this.#o = o;
  }

  /** Checks now (and then as due). Coalesces calls made while a check runs. */
  readonly poke = (): void => {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#loop().finally(() => (this.#running = undefined));
  };

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#release?.();
    this.#release = undefined;
  }

  async #loop(): Promise<void> {
    let sleep = MAX_SLEEP_MS;
    do {
      this.#again = false;
      try {
        sleep = await this.#check();
      } catch (err) {
        this.#o.logger.error({ err: (err as Error).message }, 'certificate renewal check failed; trying again later');
        sleep = STANDBY_MS;
      }
    } while (this.#again && !this.#stopped);
    if (this.#stopped) return;
    this.#timer = setTimeout(this.poke, Math.max(0, Math.min(sleep, MAX_SLEEP_MS)));
    this.#timer.unref();
  }

  /** Does what is due; returns how long until the next thing is. */
  async #check(): Promise<number> {
    if (this.#disabled || (this.#o.isLeader && !this.#o.isLeader())) return STANDBY_MS;
    // A store that does not exist yet is not created by serve (it runs the
    // store read-only): nothing to renew until a certificate is added.
    if (!existsSync(this.#o.stateDir)) return MAX_SLEEP_MS;
    if (!this.#release) {
      try {
        this.#store ??= await CertificateStore.open(this.#o.stateDir);
        this.#release = await this.#store.tryBecomeRenewer();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? ((err as { cause?: NodeJS.ErrnoException }).cause?.code);
        if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') {
          this.#disabled = true;
          this.#o.logger.warn({ stateDir: this.#o.stateDir }, `managed certificate renewal is off: the state dir is not writable (${code}); certificates are served as they are`);
          return MAX_SLEEP_MS;
        }
        throw err;
      }
      if (!this.#release) return STANDBY_MS;
    }
    const { records } = await this.#store!.scan();
    this.#o.metrics.renewalFailures(new Map(records.filter((r) => r.renewal).map((r) => [r.arn, r.renewal!.status === 'FAILED' ? r.renewal!.attempts : 0])));
    let next = MAX_SLEEP_MS;
    for (const r of records) {
      if (this.#stopped || (this.#o.isLeader && !this.#o.isLeader())) break;
      const due = r.type === 'acme' && r.status === 'PENDING_VALIDATION' ? 0 : renewalDueAt(r);
      if (due === undefined) continue;
      const wait = due - Date.now();
      if (wait > 0) {
        next = Math.min(next, wait);
        continue;
      }
      const after = await this.#attempt(r);
      const again = after && renewalDueAt(after);
      if (again !== undefined && again !== null) next = Math.min(next, Math.max(0, again - Date.now()));
    }
    return next;
  }

  async #attempt(r: CertificateRecord): Promise<CertificateRecord | undefined> {
    const log = this.#o.logger;
    const kind = r.certPem === '' ? 'issue' : 'renew';
    const caBundle = await readCaBundle(r.acme?.caBundle ?? this.#o.config.acme.caBundle, r.acme?.caBundle ? 'the request\'s --ca-bundle' : 'acme.caBundle');
    const eab = this.#o.config.acme.externalAccountBinding;
    const dnsConfig = this.#o.config.acme.dns;
    const dns = dnsConfig ? new Rfc2136Publisher(await rfc2136From(dnsConfig)) : undefined;
    log.info({ arn: r.arn, domains: r.domains, kind }, kind === 'issue' ? 'requesting the certificate from the ACME CA' : 'renewing the certificate');
    const t0 = performance.now();
    const result = await attemptIssue(this.#store!, r.arn, {
      responder: this.#responder,
      ...(caBundle ? { caBundle } : {}),
      ...(eab ? { eab: { kid: eab.keyId, hmacKey: eab.hmacKey } } : {}),
      ...(dns ? { dns } : {}),
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
      log: (msg, fields) => log.info({ ...fields, arn: r.arn }, msg),
    });
    this.#o.metrics.issuance(kind, result.ok);
    const ms = Math.round(performance.now() - t0);
    if (result.ok) log.info({ arn: r.arn, kind, ms, notAfter: result.record.notAfter }, kind === 'issue' ? 'certificate issued' : 'certificate renewed');
    else if (kind === 'issue') log.error({ arn: r.arn, reason: result.failure.reason, ms }, `certificate request failed: ${result.failure.message}`);
    else log.warn({ arn: r.arn, reason: result.failure.reason, attempts: result.record.renewal?.attempts, nextAttemptAt: result.record.renewal?.nextAttemptAt }, `certificate renewal failed; the current certificate keeps serving: ${result.failure.message}`);
    return result.record;
  }

  readonly #responder: ChallengeResponder = {
    publish: async (c) => {
      this.#challenges.push(c);
      await this.#o.setChallenges([...this.#challenges]);
    },
    withdraw: async (c) => {
      const i = this.#challenges.indexOf(c);
      if (i >= 0) this.#challenges.splice(i, 1);
      await this.#o.setChallenges([...this.#challenges]);
    },
  };
}
