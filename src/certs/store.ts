// The certificate store: ACM's role. Layout of the state dir (0700 dirs,
// 0600 files, every write atomic):
//
//   <state>/master.key        32 random bytes; everything else is sealed under it
//   <state>/certs/<uuid>.json  one certificate: public parts, sealed private key, MAC
//   <state>/ca/ca.json         the local CA: certificate, sealed key, MAC
//   <state>/usage.json         which listeners use which ARN (written by `serve`)
//   <state>/.lock              writer lock (pid), absent when nobody writes
//
// Readers take no lock: files are only ever replaced by rename.

import { readdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { CertsError } from './errors.ts';
import { checkAccount, checkRegion, DEFAULT_ACCOUNT, DEFAULT_REGION, newArn, parseArn } from './arn.ts';
import { ensureDir, fsyncDir, readIfExists, sweepTempFiles, writeFileAtomic } from './atomic-file.ts';
import { withLock, pidAlive, tryHoldLock } from './lock.ts';
import { loadOrCreateMasterKey, readMasterKey, Sealer, type SealedBlob } from './sealing.ts';
import { createLocalCa, issueLeaf, type KeyedCertificate } from './local-ca.ts';
import { normalizeDomains } from './names.ts';
import { checkKeyMatches, checkNotExpired, facts, keyToPem, parseCertificate, parsePrivateKey, splitCertificates, verifyChain } from './x509-info.ts';
import type { CertificateRecord } from './record.ts';
import type { AcmeSettings } from './acme-settings.ts';
import { FAILURE_REASONS } from './acme-problem.ts';
import { createHash } from 'node:crypto';
import { newPrivateKeyPem } from './acme-keys.ts';

export interface OpenOptions {
  /** Never create the state dir, master key or CA; refuse certificate writes.
   *  recordUsage() still works (serve runs read-only). */
  readOnly?: boolean;
  /** Region and account for new ARNs (defaults local / 000000000000). */
  region?: string;
  account?: string;
  /** How long a writer waits for another writer's lock (default 10 s). */
  lockWaitMs?: number;
}

export interface RequestOptions {
  domain: string;
  sans?: string[];
  arn?: string;
}

export interface AcmeRequestOptions extends RequestOptions {
  acme: AcmeSettings;
}

/** An ACME account: its key (sealed at rest), its URL once registered, and
 *  the external account binding the CA asked for, if any. */
export interface AcmeAccount {
  directory: string;
  email?: string;
  keyPem: string;
  url?: string;
  eab?: { kid: string; hmacKey: string };
}

/** What an ACME order produced. */
export interface IssuedCertificate {
  certPem: string;
  chainPem: string;
  keyPem: string;
}

export interface ImportOptions {
  certPem: string;
  keyPem: string;
  chainPem?: string;
  arn?: string;
  allowExpired?: boolean;
  /** Where the PEM texts came from (file names), for error messages. */
  sources?: { cert?: string; key?: string; chain?: string };
}

export interface StoreProblem {
  file: string;
  message: string;
  /** The id part of the ARN a certificate file is stored under (its name). */
  certificateId?: string;
  /** Nothing in the store can be read (the master key is missing or damaged). */
  wholeStore?: boolean;
}

interface RecordFile {
  version: 1;
  record: CertificateRecord;
  key: SealedBlob;
  mac: string;
}

interface CaFile {
  version: 1;
  certPem: string;
  key: SealedBlob;
  createdAt: string;
  mac: string;
}

interface AccountFile {
  version: 1;
  directory: string;
  email?: string;
  url?: string;
  key: SealedBlob;
  eab?: { kid: string; hmacKey: SealedBlob };
  mac: string;
}

interface UsageFile {
  version: 1;
  pid: number;
  updatedAt: string;
  listeners: Record<string, string[]>;
}

const CA_AAD = 'isobar local CA';
const RECORD_FILE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

export class CertificateStore {
  readonly stateDir: string;
  readonly readOnly: boolean;
  readonly region: string;
  readonly account: string;
  readonly #lockWaitMs: number | undefined;
  #sealer: Sealer | undefined;
  /** Serialises this process's own writers before they contend for the file lock. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(stateDir: string, o: OpenOptions) {
    this.stateDir = stateDir;
    this.readOnly = o.readOnly ?? false;
    this.region = checkRegion(o.region ?? DEFAULT_REGION);
    this.account = checkAccount(o.account ?? DEFAULT_ACCOUNT);
    this.#lockWaitMs = o.lockWaitMs;
  }

  static async open(stateDir: string, opts: OpenOptions = {}): Promise<CertificateStore> {
    const dir = resolve(stateDir);
    const store = new CertificateStore(dir, opts);
    let st;
    try {
      st = await stat(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(dir, err);
    }
    if (st && !st.isDirectory()) throw new CertsError('BAD_INPUT', `state dir ${dir} is not a directory; choose another --state-dir`);
    if (!store.readOnly) {
      try {
        await ensureDir(dir);
        await ensureDir(store.#certsDir);
      } catch (err) {
        throw new CertsError('BAD_INPUT', `cannot create the state dir ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); choose a writable --state-dir`, { cause: err });
      }
    }
    return store;
  }

  get #certsDir(): string {
    return join(this.stateDir, 'certs');
  }
  get #masterKeyPath(): string {
    return join(this.stateDir, 'master.key');
  }
  get #caPath(): string {
    return join(this.stateDir, 'ca', 'ca.json');
  }
  #accountPath(directory: string, email: string | undefined): string {
    const id = createHash('sha256').update(`${directory}\n${email ?? ''}`).digest('hex').slice(0, 32);
    return join(this.stateDir, 'acme', `${id}.json`);
  }
  get #usagePath(): string {
    return join(this.stateDir, 'usage.json');
  }
  #recordPath(arn: string): string {
    return join(this.#certsDir, `${parseArn(arn).id}.json`);
  }

  // ------------------------------------------------------------ reading

  /** All readable certificates; unreadable or tampered files are skipped
   *  here and reported by scan(). */
  async list(): Promise<CertificateRecord[]> {
    return (await this.scan()).records;
  }

  /** Every certificate file, with a problem for each one that cannot be trusted. */
  async scan(): Promise<{ records: CertificateRecord[]; problems: StoreProblem[] }> {
    let names: string[];
    try {
      names = await readdir(this.#certsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], problems: [] };
      throw unreadable(this.#certsDir, err);
    }
    const records: CertificateRecord[] = [];
    const problems: StoreProblem[] = [];
    const files = names.filter((n) => RECORD_FILE.test(n)).sort();
    // Without the master key no file can be trusted: one problem, naming
    // master.key, rather than the same one for every certificate.
    if (files.length > 0) {
      try {
        await this.#readSealer(join(this.#certsDir, files[0]!));
      } catch (err) {
        if (!(err instanceof CertsError)) throw err;
        return { records: [], problems: [{ file: this.#masterKeyPath, message: err.message, wholeStore: true }] };
      }
    }
    for (const name of files) {
      const file = join(this.#certsDir, name);
      try {
        const f = await this.#readRecordFile(file);
        if (f) records.push(f.record);
      } catch (err) {
        if (!(err instanceof CertsError)) throw err;
        problems.push({ file, message: err.message, certificateId: name.slice(0, -'.json'.length) });
      }
    }
    records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.arn.localeCompare(b.arn));
    return { records, problems };
  }

  async get(arn: string): Promise<CertificateRecord | undefined> {
    const f = await this.#readRecordFile(this.#recordPath(arn));
    return f && f.record.arn === arn ? f.record : undefined;
  }

  /** The certificate's private key (PKCS#8 PEM). Only balancer processes call this. */
  async readPrivateKey(arn: string): Promise<string> {
    const file = this.#recordPath(arn);
    const f = await this.#readRecordFile(file);
    if (!f || f.record.arn !== arn) throw notFound(arn);
    return (await this.#readSealer(file))!.open(f.key, arn, file);
  }

  async usage(): Promise<Record<string, string[]>> {
    const file = this.#usagePath;
    const bytes = await readOrCorrupt(file);
    if (bytes === undefined) return {};
    let u: UsageFile;
    try {
      u = JSON.parse(bytes.toString('utf8')) as UsageFile;
      if (u.version !== 1 || typeof u.pid !== 'number' || !isUsageMap(u.listeners)) throw new Error('unexpected shape');
    } catch {
      throw new CertsError('CORRUPT', `${file} is not a valid usage record; delete it (the running \`isobar serve\` writes it again on its next change)`);
    }
    // Usage left behind by a server that is no longer running binds nothing.
    if (!pidAlive(u.pid)) return {};
    return u.listeners;
  }

  async caCertificatePem(): Promise<string> {
    const existing = await this.#readCa();
    if (existing) return existing.certPem;
    if (this.readOnly) throw new CertsError('NOT_FOUND', `no local CA in ${this.stateDir} yet; it is created by the first \`isobar certs request\``);
    return this.#write(async (sealer) => (await this.#caUnlocked(sealer)).certPem);
  }

  // ------------------------------------------------------------ writing

  async request(o: RequestOptions): Promise<CertificateRecord> {
    const domains = normalizeDomains([o.domain, ...(o.sans ?? [])]);
    const arn = o.arn ?? newArn(this.region, this.account);
    parseArn(arn);
    return this.#write(async (sealer) => {
      await this.#refuseTaken(arn);
      const ca = await this.#caUnlocked(sealer);
      const now = new Date();
      const leaf = await issueLeaf(ca, domains, now);
      const record = recordFor(arn, 'local-ca', leaf.certPem, ca.certPem, now.toISOString());
      await this.#writeRecord(sealer, record, leaf.keyPem);
      return record;
    });
  }

  /** An ACME certificate, requested: PENDING_VALIDATION with no
   *  certificate or key yet, until an issuer completes (or fails) it. */
  async requestAcme(o: AcmeRequestOptions): Promise<CertificateRecord> {
    const domains = normalizeDomains([o.domain, ...(o.sans ?? [])]);
    const arn = o.arn ?? newArn(this.region, this.account);
    parseArn(arn);
    return this.#write(async (sealer) => {
      const existing = await this.#readRecordFile(this.#recordPath(arn));
      // A request that failed is asked again under its ARN; anything else is taken.
      const again = existing?.record.arn === arn && existing.record.type === 'acme' && existing.record.status === 'FAILED';
      if (!again) await this.#refuseTaken(arn);
      const record: CertificateRecord = {
        arn,
        domains,
        subject: `CN=${domains[0]!}`,
        issuer: '',
        notBefore: '',
        notAfter: '',
        fingerprint: '',
        type: 'acme',
        status: 'PENDING_VALIDATION',
        acme: { ...o.acme, challenges: [...o.acme.challenges] },
        certPem: '',
        chainPem: '',
        createdAt: again ? existing.record.createdAt : new Date().toISOString(),
      };
      await this.#writeRecord(sealer, record, '');
      return record;
    });
  }

  /** An issuer's result under the ARN: the new certificate and key replace
   *  the old ones in one atomic write (the old one serves until then). */
  async completeIssue(arn: string, issued: IssuedCertificate, patch: Partial<CertificateRecord> = {}): Promise<CertificateRecord> {
    const leaf = parseCertificate(issued.certPem, 'the issued certificate');
    checkKeyMatches(leaf, parsePrivateKey(issued.keyPem, 'the issued key'), 'the issued key');
    return this.#write(async (sealer) => {
      const f = await this.#readRecordFile(this.#recordPath(arn));
      if (!f || f.record.arn !== arn) throw notFound(arn);
      const now = new Date().toISOString();
      const record: CertificateRecord = { ...f.record, ...recordFor(arn, f.record.type, issued.certPem, issued.chainPem, f.record.createdAt), ...patch, status: 'ISSUED' };
      delete record.failureReason;
      delete record.failureDetail;
      if (f.record.certPem !== '') record.updatedAt = now;
      await this.#writeRecord(sealer, record, issued.keyPem);
      return record;
    });
  }

  /** Changes a record's metadata (status, failure, renewal summary); the key stays as it is. */
  async updateRecord(arn: string, change: (r: CertificateRecord) => CertificateRecord): Promise<CertificateRecord> {
    return this.#write(async (sealer) => {
      const file = this.#recordPath(arn);
      const f = await this.#readRecordFile(file);
      if (!f || f.record.arn !== arn) throw notFound(arn);
      const record = change(structuredClone(f.record));
      if (record.arn !== arn || record.certPem !== f.record.certPem) throw new Error('updateRecord changes metadata only');
      const body = { version: 1 as const, record, key: f.key };
      await writeFileAtomic(file, JSON.stringify({ ...body, mac: sealer.mac(body) }, null, 2) + '\n');
      return record;
    });
  }

  /** The ACME account for a directory and contact, with a new key (sealed)
   *  on first use; `eab` is kept (sealed) for the registration. */
  async acmeAccount(directory: string, email: string | undefined, eab?: { kid: string; hmacKey: string }): Promise<AcmeAccount> {
    const file = this.#accountPath(directory, email);
    const aad = `isobar acme account ${directory}`;
    return this.#write(async (sealer) => {
      const existing = await this.#readAccountFile(file, sealer);
      // A registered account keeps its binding: it is needed only to register.
      if (existing && (!eab || existing.url !== undefined)) {
        const a: AcmeAccount = { directory, keyPem: sealer.open(existing.key, aad, file) };
        if (existing.email !== undefined) a.email = existing.email;
        if (existing.url !== undefined) a.url = existing.url;
        if (existing.eab) a.eab = { kid: existing.eab.kid, hmacKey: sealer.open(existing.eab.hmacKey, `${aad} eab`, file) };
        return a;
      }
      const keyPem = existing ? sealer.open(existing.key, aad, file) : await newPrivateKeyPem('ec256');
      const body: Omit<AccountFile, 'mac'> = { version: 1, directory, key: sealer.seal(keyPem, aad) };
      if (email !== undefined) body.email = email;
      if (eab) body.eab = { kid: eab.kid, hmacKey: sealer.seal(eab.hmacKey, `${aad} eab`) };
      await ensureDir(join(this.stateDir, 'acme'));
      await writeFileAtomic(file, JSON.stringify({ ...body, mac: sealer.mac(body) }, null, 2) + '\n');
      const a: AcmeAccount = { directory, keyPem };
      if (email !== undefined) a.email = email;
      if (body.url !== undefined) a.url = body.url;
      if (eab) a.eab = eab;
      return a;
    });
  }

  /** Becomes this machine's one renewer of managed certificates (several
   *  `serve` on one store renew nothing twice); undefined while another
   *  live process is. Returns what gives the role up. */
  async tryBecomeRenewer(): Promise<(() => Promise<void>) | undefined> {
    await ensureDir(this.stateDir);
    return tryHoldLock(join(this.stateDir, 'renewer.lock'));
  }

  /** The pid of the live renewer (an \`isobar serve\`) on this store, if any. */
  async renewerPid(): Promise<number | undefined> {
    const bytes = await readIfExists(join(this.stateDir, 'renewer.lock')).catch(() => undefined);
    const pid = bytes ? Number(bytes.toString('utf8').split('\n')[0]) : NaN;
    return pidAlive(pid) && pid !== process.pid ? pid : undefined;
  }

  /** Remembers the account URL the CA registered the key under. */
  async saveAcmeAccountUrl(directory: string, email: string | undefined, url: string): Promise<void> {
    const file = this.#accountPath(directory, email);
    await this.#write(async (sealer) => {
      const existing = await this.#readAccountFile(file, sealer);
      if (!existing || existing.url === url) return;
      const { mac: _mac, ...rest } = existing;
      const body = { ...rest, url };
      await writeFileAtomic(file, JSON.stringify({ ...body, mac: sealer.mac(body) }, null, 2) + '\n');
    });
  }

  async importCertificate(o: ImportOptions): Promise<CertificateRecord> {
    const now = new Date();
    const src = o.sources ?? {};
    const certWhere = src.cert ? `the certificate file ${src.cert}` : 'the certificate';
    const keyWhere = src.key ? `the private key file ${src.key}` : 'the private key';
    const chainWhere = src.chain ? `the chain file ${src.chain}` : 'the chain';
    const certBlocks = splitCertificates(o.certPem, certWhere);
    const leaf = parseCertificate(certBlocks[0]!, certWhere);
    // A full-chain file (leaf first) carries its chain along.
    const chainBlocks = [...certBlocks.slice(1), ...(o.chainPem && o.chainPem.trim() !== '' ? splitCertificates(o.chainPem, chainWhere) : [])];
    const chain = chainBlocks.map((b, i) => parseCertificate(b, `chain certificate ${i + 1}`));
    const key = parsePrivateKey(o.keyPem, keyWhere);
    checkKeyMatches(leaf, key, keyWhere);
    if (!o.allowExpired) checkNotExpired(leaf, `the certificate "${facts(leaf).subject}"`, now);
    const ordered = verifyChain(leaf, chain, { allowExpired: o.allowExpired ?? false, now });
    const arn = o.arn ?? newArn(this.region, this.account);
    parseArn(arn);
    const chainPem = ordered.map((c) => c.toString().trimEnd() + '\n').join('');
    return this.#write(async (sealer) => {
      const existing = await this.#readRecordFile(this.#recordPath(arn));
      let createdAt = now.toISOString();
      if (existing) {
        // Re-import under the same ARN replaces an imported certificate (as
        // ACM's ImportCertificate with CertificateArn does).
        if (existing.record.arn !== arn) throw idTaken(arn, existing.record.arn);
        if (existing.record.type !== 'imported') {
          throw new CertsError('EXISTS', `${arn} holds a certificate from the local CA; renew it with \`isobar certs renew\`, or delete it first`);
        }
        createdAt = existing.record.createdAt;
      }
      const record = recordFor(arn, 'imported', leaf.toString(), chainPem, createdAt);
      if (existing) record.updatedAt = now.toISOString();
      await this.#writeRecord(sealer, record, keyToPem(key));
      return record;
    });
  }

  async renew(arn: string): Promise<CertificateRecord> {
    parseArn(arn);
    return this.#write(async (sealer) => {
      const f = await this.#readRecordFile(this.#recordPath(arn));
      if (!f || f.record.arn !== arn) throw notFound(arn);
      if (f.record.type !== 'local-ca') {
        if (f.record.type === 'acme') throw new CertsError('NOT_RENEWABLE', `${arn} is an ACME certificate: \`isobar serve\` renews it when a third of its lifetime is left (or when the CA suggests); \`isobar certs describe ${arn}\` shows when`);
        throw new CertsError('NOT_RENEWABLE', `${arn} is an imported certificate; only the local CA's certificates renew here. Import its successor with \`isobar certs import --arn ${arn} --cert F --key F\``);
      }
      const ca = await this.#caUnlocked(sealer);
      const now = new Date();
      // A new key as well as a new certificate: renewal never extends the life of a key.
      const leaf = await issueLeaf(ca, f.record.domains, now);
      const record = recordFor(arn, 'local-ca', leaf.certPem, ca.certPem, f.record.createdAt);
      record.updatedAt = now.toISOString();
      await this.#writeRecord(sealer, record, leaf.keyPem);
      return record;
    });
  }

  async delete(arn: string, o: { force?: boolean } = {}): Promise<void> {
    parseArn(arn);
    const file = this.#recordPath(arn);
    await this.#write(async () => {
      let f: RecordFile | undefined;
      try {
        f = await this.#readRecordFile(file);
      } catch (err) {
        // A damaged file can still be removed, but only on purpose.
        if (!(err instanceof CertsError && err.code === 'CORRUPT' && o.force)) throw err;
      }
      if (f && f.record.arn !== arn) throw notFound(arn);
      if (!f && !o.force) throw notFound(arn);
      if (!o.force) {
        const users = (await this.usage())[arn] ?? [];
        if (users.length > 0) {
          throw new CertsError('IN_USE', `${arn} is used by listener${users.length > 1 ? 's' : ''} ${users.join(', ')}; remove it from their aws-load-balancer-ssl-cert annotation first, or pass --force`);
        }
      }
      try {
        await unlink(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        throw notFound(arn);
      }
      await fsyncDir(this.#certsDir);
    });
  }

  async recordUsage(usage: Record<string, string[]>): Promise<void> {
    if (!isUsageMap(usage)) throw new TypeError('recordUsage: expected { [arn]: listenerId[] }');
    const sorted: Record<string, string[]> = {};
    for (const arn of Object.keys(usage).sort()) sorted[arn] = [...usage[arn]!].sort();
    const body: UsageFile = { version: 1, pid: process.pid, updatedAt: new Date().toISOString(), listeners: sorted };
    await ensureDir(this.stateDir);
    await this.#locked(() => writeFileAtomic(this.#usagePath, JSON.stringify(body, null, 2) + '\n'));
  }

  // ------------------------------------------------------------ internals

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => withLock(join(this.stateDir, '.lock'), fn, { waitMs: this.#lockWaitMs }));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Runs a certificate write under the lock with the (possibly new) master key. */
  #write<T>(fn: (sealer: Sealer) => Promise<T>): Promise<T> {
    if (this.readOnly) return Promise.reject(new CertsError('READ_ONLY', `the certificate store at ${this.stateDir} was opened read-only`));
    return this.#locked(async () => {
      if (!this.#sealer) {
        await ensureDir(this.#certsDir);
        await ensureDir(join(this.stateDir, 'ca'));
        // Creating a master key while sealed files exist would orphan them.
        const existing = await readMasterKey(this.#masterKeyPath);
        if (!existing && ((await this.#hasRecords()) || (await readIfExists(this.#caPath)))) throw this.#missingMasterKey();
        this.#sealer = new Sealer(existing ?? (await loadOrCreateMasterKey(this.#masterKeyPath)));
      }
      for (const d of [this.stateDir, this.#certsDir, join(this.stateDir, 'ca')]) await sweepTempFiles(d, pidAlive);
      return fn(this.#sealer);
    });
  }

  async #readSealer(file: string): Promise<Sealer> {
    if (this.#sealer) return this.#sealer;
    const key = await readMasterKey(this.#masterKeyPath);
    if (!key) throw this.#missingMasterKey(file);
    this.#sealer = new Sealer(key);
    return this.#sealer;
  }

  #missingMasterKey(file?: string): CertsError {
    return new CertsError('CORRUPT', `${this.#masterKeyPath} is missing${file ? ` but ${file} was sealed with it` : ' but sealed files exist'}; restore it from a backup (the stored private keys cannot be decrypted without it)`);
  }

  async #hasRecords(): Promise<boolean> {
    try {
      return (await readdir(this.#certsDir)).some((n) => RECORD_FILE.test(n));
    } catch {
      return false;
    }
  }

  async #readRecordFile(file: string): Promise<RecordFile | undefined> {
    const bytes = await readOrCorrupt(file);
    if (bytes === undefined) return undefined;
    const f = parseJson(bytes, file) as RecordFile;
    const r = f?.record;
    if (f?.version !== 1 || !isRecord(r) || typeof f.key !== 'object' || f.key === null) {
      throw new CertsError('CORRUPT', `${file} is not a certificate record (unexpected structure); restore it from a backup or remove it with \`isobar certs delete ARN --force\``);
    }
    const sealer = await this.#readSealer(file);
    if (!sealer.verifyMac({ version: f.version, record: r, key: f.key }, f.mac)) {
      throw new CertsError('CORRUPT', `${file} was modified outside isobar (its authentication code does not match); restore it from a backup or remove it with \`isobar certs delete ${r.arn} --force\``);
    }
    if (`${parseArn(r.arn).id}.json` !== file.slice(file.lastIndexOf('/') + 1)) {
      throw new CertsError('CORRUPT', `${file} holds ${r.arn}, whose id does not match the file name; it was renamed or copied by hand`);
    }
    return f;
  }

  async #readAccountFile(file: string, sealer: Sealer): Promise<AccountFile | undefined> {
    const bytes = await readOrCorrupt(file);
    if (bytes === undefined) return undefined;
    const f = parseJson(bytes, file) as AccountFile;
    if (f?.version !== 1 || typeof f.directory !== 'string' || typeof f.key !== 'object' || f.key === null || typeof f.mac !== 'string') {
      throw new CertsError('CORRUPT', `${file} is not an ACME account file (unexpected structure); remove it to register a new account`);
    }
    const { mac, ...body } = f;
    if (!sealer.verifyMac(body, mac)) throw new CertsError('CORRUPT', `${file} was modified outside isobar (its authentication code does not match); remove it to register a new account`);
    return f;
  }

  async #writeRecord(sealer: Sealer, record: CertificateRecord, keyPem: string): Promise<void> {
    const key = sealer.seal(keyPem, record.arn);
    const body = { version: 1 as const, record, key };
    const file: RecordFile = { ...body, mac: sealer.mac(body) };
    await writeFileAtomic(this.#recordPath(record.arn), JSON.stringify(file, null, 2) + '\n');
  }

  async #refuseTaken(arn: string): Promise<void> {
    const existing = await this.#readRecordFile(this.#recordPath(arn));
    if (!existing) return;
    if (existing.record.arn !== arn) throw idTaken(arn, existing.record.arn);
    throw new CertsError('EXISTS', `${arn} already holds a certificate; renew it with \`isobar certs renew\`, or delete it first`);
  }

  async #readCa(): Promise<{ certPem: string; file: CaFile } | undefined> {
    const file = this.#caPath;
    const bytes = await readOrCorrupt(file);
    if (bytes === undefined) return undefined;
    const f = parseJson(bytes, file) as CaFile;
    if (f?.version !== 1 || typeof f.certPem !== 'string' || typeof f.createdAt !== 'string' || typeof f.key !== 'object' || f.key === null) {
      throw new CertsError('CORRUPT', `${file} is not a local CA file (unexpected structure); restore it from a backup`);
    }
    const sealer = await this.#readSealer(file);
    if (!sealer.verifyMac({ version: f.version, certPem: f.certPem, key: f.key, createdAt: f.createdAt }, f.mac)) {
      throw new CertsError('CORRUPT', `${file} was modified outside isobar (its authentication code does not match); restore it from a backup`);
    }
    return { certPem: f.certPem, file: f };
  }

  /** The local CA with its key, created on first use. Call under the lock. */
  async #caUnlocked(sealer: Sealer): Promise<KeyedCertificate> {
    const existing = await this.#readCa();
    if (existing) return { certPem: existing.certPem, keyPem: sealer.open(existing.file.key, CA_AAD, this.#caPath) };
    const now = new Date();
    const ca = await createLocalCa(this.account, now);
    const body = { version: 1 as const, certPem: ca.certPem, key: sealer.seal(ca.keyPem, CA_AAD), createdAt: now.toISOString() };
    await ensureDir(join(this.stateDir, 'ca'));
    await writeFileAtomic(this.#caPath, JSON.stringify({ ...body, mac: sealer.mac(body) }, null, 2) + '\n');
    return ca;
  }
}

function recordFor(arn: string, type: CertificateRecord['type'], certPem: string, chainPem: string, createdAt: string): CertificateRecord {
  const pem = certPem.trimEnd() + '\n';
  const f = facts(new X509Certificate(pem));
  return { arn, ...f, type, certPem: pem, chainPem, createdAt };
}

function isRecord(r: unknown): r is CertificateRecord {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as Record<string, unknown>;
  const strings = ['arn', 'subject', 'issuer', 'notBefore', 'notAfter', 'fingerprint', 'certPem', 'chainPem', 'createdAt'];
  return (
    strings.every((k) => typeof o[k] === 'string') &&
    Array.isArray(o.domains) &&
    o.domains.every((d) => typeof d === 'string') &&
    (o.type === 'local-ca' || o.type === 'imported' || o.type === 'acme') &&
    (o.updatedAt === undefined || typeof o.updatedAt === 'string') &&
    (o.status === undefined || o.status === 'PENDING_VALIDATION' || o.status === 'ISSUED' || o.status === 'FAILED') &&
    (o.failureReason === undefined || (FAILURE_REASONS as readonly unknown[]).includes(o.failureReason)) &&
    (o.failureDetail === undefined || typeof o.failureDetail === 'string') &&
    (o.renewAt === undefined || typeof o.renewAt === 'string') &&
    (o.acme === undefined || (typeof o.acme === 'object' && o.acme !== null && typeof (o.acme as Record<string, unknown>).directory === 'string')) &&
    (o.renewal === undefined || (typeof o.renewal === 'object' && o.renewal !== null))
  );
}

function isUsageMap(u: unknown): u is Record<string, string[]> {
  return typeof u === 'object' && u !== null && !Array.isArray(u) && Object.values(u).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'));
}

function parseJson(bytes: Buffer, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CertsError('CORRUPT', `${file} is not valid JSON (truncated or edited by hand); restore it from a backup`);
  }
}

async function readOrCorrupt(file: string): Promise<Buffer | undefined> {
  try {
    return await readIfExists(file);
  } catch (err) {
    throw unreadable(file, err);
  }
}

function unreadable(file: string, err: unknown): CertsError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new CertsError('CORRUPT', `${file} cannot be read (${code}); check its owner and permissions`, { cause: err });
}

function notFound(arn: string): CertsError {
  return new CertsError('NOT_FOUND', `no certificate ${arn} in the store; \`isobar certs list\` shows what is there`);
}

function idTaken(arn: string, other: string): CertsError {
  return new CertsError('EXISTS', `the certificate id of ${arn} is already used by ${other}; choose another ARN`);
}
