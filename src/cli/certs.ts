// `isobar certs`: the certificate manager (request, import, list, describe,
// export, delete, renew, ca). State lives in --state-dir (default ~/.isobar,
// or $ISOBAR_STATE_DIR). Exit codes: 0 ok; 1 refused (not found, in use,
// key mismatch, expired, chain does not verify, ARN taken, store locked);
// 2 bad usage, unreadable input or a damaged state file.

import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import {
  CertificateStore,
  CertsError,
  daysUntilExpiry,
  defaultStateDir,
  EXPIRY_WARNING_DAYS,
  expiresSoon,
  REFUSAL_CODES,
  renewalDueAt,
  statusOf,
  type CertificateRecord,
} from '../certs/index.ts';
import { ConfigError, defaultConfig, formatProblem, loadConfigFile, type IsobarConfig } from '../config/index.ts';
import { requestAcme, type AcmeRequestFlags } from './certs-acme.ts';
import { CliError, EXIT_INVALID, EXIT_USAGE } from './errors.ts';

interface GlobalOpts {
  stateDir?: string;
  config?: string;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  const certs = program
    .command('certs')
    .description('certificate manager: issue certificates from a local CA or import your own, under ACM-style ARNs')
    .option('--state-dir <dir>', 'where certificates, keys and the local CA are kept (default: $ISOBAR_STATE_DIR or ~/.isobar)')
    .option('--config <file>', 'isobar config file: aws.region and aws.account name new ARNs');

  const output = () => new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');
  const sub = (name: string) => certs.command(name).exitOverride();

  sub('request')
    .description('issue a certificate from the local CA (created on first use), or with --acme from an ACME CA, and print its ARN')
    .requiredOption('--domain <name>', 'primary domain name (subject CN); wildcards like *.example.com allowed')
    .option('--san <name>', 'additional domain name (repeatable)', collect)
    .option('--arn <arn>', 'store it under this ARN instead of a new one (so manifests that carry an ARN work unchanged)')
    .option('--region <region>', 'region for a new ARN (default: aws.region from --config, else local)')
    .option('--account <account>', 'account for a new ARN (default: aws.account from --config, else 000000000000)')
    .option('--acme [directory]', 'from an ACME CA: its directory URL, letsencrypt-staging or letsencrypt (default: acme.directory from --config)')
    .option('--email <address>', 'ACME account contact (default: acme.email)')
    .option('--eab-kid <kid>', 'ACME external account binding key id (CAs such as ZeroSSL)')
    .option('--eab-hmac-key <key>', 'ACME external account binding HMAC key (base64url)')
    .option('--key-type <type>', 'certificate key: ec256 (default), ec384, rsa2048, rsa4096')
    .option('--challenge <type>', 'ACME challenge type to use, in order (repeatable): http-01, tls-alpn-01, dns-01', collect)
    .option('--ca-bundle <file>', 'PEM CA certificates the ACME server itself chains to (a private CA; default: acme.caBundle)')
    .option('--http-01-port <port>', 'without serve: where this command answers HTTP-01 (default 80)')
    .option('--tls-alpn-01-port <port>', 'without serve: where this command answers TLS-ALPN-01 (default 443)')
    .option('--challenge-address <addr>', 'without serve: the address the challenge ports bind (default 0.0.0.0)')
    .action(async (o: AcmeRequestFlags & { acme?: string | true; region?: string; account?: string }, cmd: Command) => {
      const store = await openStore(cmd, { region: o.region, account: o.account });
      if (o.acme !== undefined) {
        const { config, file } = await loadConfig(cmd);
        const code = await run(() => requestAcme(store, { ...o, acme: o.acme! }, config, file, (l) => process.stdout.write(`${l}\n`), (l) => process.stderr.write(`isobar: ${l}\n`)));
        if (code !== 0) setExitCode(code);
        return;
      }
      const r = await run(() => store.request({ domain: o.domain, sans: o.san ?? [], arn: o.arn }));
      process.stdout.write(`${r.arn}\n`);
    });

  sub('import')
    .description('store your own certificate and private key and print the ARN')
    .requiredOption('--cert <file>', 'PEM certificate (may be followed by its chain)')
    .requiredOption('--key <file>', 'PEM private key (unencrypted)')
    .option('--chain <file>', 'PEM intermediate (and root) certificates, from the issuer upwards')
    .option('--arn <arn>', 'store it under this ARN (re-importing an imported certificate replaces it)')
    .option('--allow-expired', 'store the certificate even if it has expired')
    .option('--region <region>', 'region for a new ARN (default: aws.region from --config, else local)')
    .option('--account <account>', 'account for a new ARN (default: aws.account from --config, else 000000000000)')
    .action(async (o: { cert: string; key: string; chain?: string; arn?: string; allowExpired?: boolean; region?: string; account?: string }, cmd: Command) => {
      const certPem = await readInput(o.cert, '--cert');
      const keyPem = await readInput(o.key, '--key');
      const chainPem = o.chain === undefined ? undefined : await readInput(o.chain, '--chain');
      const store = await openStore(cmd, { region: o.region, account: o.account });
      const r = await run(() => store.importCertificate({ certPem, keyPem, chainPem, arn: o.arn, allowExpired: o.allowExpired === true, sources: { cert: o.cert, key: o.key, chain: o.chain } }));
      process.stdout.write(`${r.arn}\n`);
    });

  sub('list')
    .description('list the stored certificates')
    .addOption(output())
    .action(async (o: { output: 'table' | 'json' }, cmd: Command) => {
      const store = await openStore(cmd, { readOnly: true });
      const { records, problems } = await run(() => store.scan());
      const usage = await run(() => store.usage());
      if (o.output === 'json') {
        const items = records.map((r) => ({ ...summary(r), inUseBy: usage[r.arn] ?? [] }));
        process.stdout.write(JSON.stringify(items, null, 2) + '\n');
      } else {
        process.stdout.write(
          table(
            ['ARN', 'DOMAIN', 'TYPE', 'STATUS', 'NOT AFTER', 'IN USE'],
            records.map((r) => [r.arn, r.domains[0] ?? r.subject, r.type, statusOf(r), r.notAfter || '-', String((usage[r.arn] ?? []).length)]),
          ),
        );
      }
      for (const p of problems) process.stderr.write(`isobar: ${p.message}\n`);
      if (problems.length > 0) setExitCode(EXIT_USAGE);
    });

  sub('describe')
    .description('show a certificate: domains, issuer, validity, fingerprint and the listeners that use it')
    .argument('<arn>', 'certificate ARN')
    .addOption(output())
    .action(async (arn: string, o: { output: 'table' | 'json' }, cmd: Command) => {
      const store = await openStore(cmd, { readOnly: true });
      const r = await found(arn, () => store.get(arn));
      const users = (await run(() => store.usage()))[arn] ?? [];
      const warnings = expiryWarnings(r, users);
      if (o.output === 'json') {
        process.stdout.write(JSON.stringify({ ...summary(r), certPem: r.certPem, chainPem: r.chainPem, inUseBy: users, warnings }, null, 2) + '\n');
        return;
      }
      const rows: [string, string][] = [
        ['ARN', r.arn],
        ['Type', r.type === 'local-ca' ? 'issued by the local CA' : r.type === 'acme' ? `ACME (${r.acme?.directory ?? '?'})` : 'imported'],
        ['Status', statusOf(r)],
      ];
      if (r.failureReason) rows.push(['Failure reason', `${r.failureReason}: ${r.failureDetail ?? ''}`]);
      rows.push(['Domains', r.domains.join(', ') || '(none)'], ['Subject', r.subject]);
      if (r.certPem !== '') {
        rows.push(
          ['Issuer', r.issuer],
          ['Not before', r.notBefore],
          ['Not after', `${r.notAfter} (${daysUntilExpiry(r)} days left)`],
          ['Fingerprint', `SHA256 ${r.fingerprint}`],
          ['Chain', `${countCerts(r.chainPem)} certificate(s)`],
        );
      }
      if (r.acme) rows.push(['Challenges', r.acme.challenges.join(', ')], ['Key type', r.acme.keyType]);
      rows.push(['Created', r.createdAt]);
      if (r.updatedAt) rows.push([r.type === 'imported' ? 'Re-imported' : 'Renewed', r.updatedAt]);
      const due = renewalDueAt(r);
      if (due !== undefined) rows.push(['Renewal', `managed by serve, due ${new Date(due).toISOString()}${r.renewAt ? ' (the CA suggested it, RFC 9773)' : ''}`]);
      if (r.renewal) {
        const rn = r.renewal;
        rows.push(['Renewal status', `${rn.status}${rn.reason ? ` (${rn.reason}): ${rn.detail ?? ''}` : ''}${rn.status === 'FAILED' ? `; ${rn.attempts} failed attempt(s), next at ${rn.nextAttemptAt ?? '?'}` : ''}`]);
      }
      rows.push(['In use by', users.length ? users.join(', ') : '(no listener)']);
      const width = Math.max(...rows.map(([k]) => k.length)) + 1;
      let text = rows.map(([k, v]) => `${(k + ':').padEnd(width)} ${v}\n`).join('');
      for (const w of warnings) text += `Warning: ${w}\n`;
      process.stdout.write(text);
    });

  sub('export')
    .description('print the certificate and its chain as PEM (never the private key)')
    .argument('<arn>', 'certificate ARN')
    .action(async (arn: string, _o: unknown, cmd: Command) => {
      const store = await openStore(cmd, { readOnly: true });
      const r = await found(arn, () => store.get(arn));
      process.stdout.write(r.certPem + r.chainPem);
    });

  sub('delete')
    .description('delete a certificate (refused while a listener uses it)')
    .argument('<arn>', 'certificate ARN')
    .option('--force', 'delete even if listeners use it (or its file is damaged)')
    .action(async (arn: string, o: { force?: boolean }, cmd: Command) => {
      const store = await openStore(cmd);
      await run(() => store.delete(arn, { force: o.force === true }));
      process.stdout.write(`deleted ${arn}\n`);
    });

  sub('renew')
    .description('renew a local-CA certificate: new key and certificate, same ARN and domains')
    .argument('<arn>', 'certificate ARN')
    .action(async (arn: string, _o: unknown, cmd: Command) => {
      const store = await openStore(cmd);
      const r = await run(() => store.renew(arn));
      process.stdout.write(`${r.arn} renewed, valid until ${r.notAfter}\n`);
    });

  sub('ca')
    .description("print the local CA certificate (PEM), for clients' --cacert")
    .action(async (_o: unknown, cmd: Command) => {
      const store = await openStore(cmd);
      process.stdout.write(await run(() => store.caCertificatePem()));
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function openStore(cmd: Command, o: { readOnly?: boolean; region?: string; account?: string } = {}): Promise<CertificateStore> {
  const g = cmd.optsWithGlobals() as GlobalOpts;
  const dir = g.stateDir ?? defaultStateDir();
  let region = o.region;
  let account = o.account;
  if (g.config !== undefined && (region === undefined || account === undefined)) {
    try {
      const config = await loadConfigFile(g.config, { onWarning: (p) => process.stderr.write(`isobar: warning: ${formatProblem(p)}\n`) });
      region ??= config.aws.region;
      account ??= config.aws.account;
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message, EXIT_USAGE);
      throw err;
    }
  }
  return run(() => CertificateStore.open(dir, { readOnly: o.readOnly, region, account }));
}

async function loadConfig(cmd: Command): Promise<{ config: IsobarConfig; file: string | undefined }> {
  const g = cmd.optsWithGlobals() as GlobalOpts;
  if (g.config === undefined) return { config: defaultConfig(), file: undefined };
  try {
    return { config: await loadConfigFile(g.config, { onWarning: (p) => process.stderr.write(`isobar: warning: ${formatProblem(p)}\n`) }), file: g.config };
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}

/** Maps store errors to one-line CLI errors with the documented exit codes. */
async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CertsError) throw new CliError(err.message, REFUSAL_CODES.has(err.code) || err.code === 'LOCKED' ? EXIT_INVALID : EXIT_USAGE);
    throw err;
  }
}

async function found(arn: string, fn: () => Promise<CertificateRecord | undefined>): Promise<CertificateRecord> {
  const r = await run(fn);
  if (!r) throw new CliError(`no certificate ${arn} in the store; \`isobar certs list\` shows what is there`, EXIT_INVALID);
  return r;
}

async function readInput(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(err)})`;
    throw new CliError(`${flag} ${file} ${why}`, EXIT_USAGE);
  }
}

function summary(r: CertificateRecord) {
  return {
    arn: r.arn,
    type: r.type,
    domains: r.domains,
    subject: r.subject,
    issuer: r.issuer,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    fingerprint: r.fingerprint,
    status: statusOf(r),
    ...(r.failureReason ? { failureReason: r.failureReason, failureDetail: r.failureDetail } : {}),
    ...(r.acme ? { acme: r.acme } : {}),
    ...(r.renewal ? { renewalSummary: r.renewal } : {}),
    ...(r.renewAt ? { renewAt: r.renewAt } : {}),
    createdAt: r.createdAt,
    ...(r.updatedAt ? { updatedAt: r.updatedAt } : {}),
  };
}

function expiryWarnings(r: CertificateRecord, users: string[]): string[] {
  if (r.certPem === '' || !expiresSoon(r)) return [];
  const days = daysUntilExpiry(r);
  const when = days < 0 ? `expired on ${r.notAfter}` : `expires in ${days} day(s), on ${r.notAfter} (less than ${EXPIRY_WARNING_DAYS} days)`;
  const use = users.length ? `; used by ${users.join(', ')}` : '';
  const fix = r.type === 'local-ca' ? `isobar certs renew ${r.arn}` : `isobar certs import --arn ${r.arn} --cert NEW.crt --key NEW.key`;
  return [`certificate ${when}${use}; replace it: ${fix}`];
}

function countCerts(pem: string): number {
  return (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ') + '\n';
  return [header, ...rows].map(line).join('');
}
