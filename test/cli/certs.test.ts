// `isobar certs` end to end: the real binary in child processes, on
// temporary state dirs. Behaviour in depth is covered by test/certs/; here
// every command, its output format and its exit codes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { CertificateStore } from '../../src/certs/index.ts';
import { createCa } from '../support/pki.ts';
import { allFiles } from '../certs/support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules/.bin/node');
const BIN = join(ROOT, 'bin/isobar.js');
const EXAMPLE_ARN = 'arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e';
// Node's compile cache roughly halves CLI start-up across the many runs below.
const COMPILE_CACHE = join(tmpdir(), 'isobar-test-compile-cache');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Everything any command printed, to prove no private key ever shows up. */
const printed: string[] = [];

function isobar(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(NODE, [BIN, ...args], { env: { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE, ...env }, cwd: ROOT }, (err, stdout, stderr) => {
      printed.push(stdout, stderr);
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function workspace(t: TestContext) {
  const base = await mkdtemp(join(tmpdir(), 'isobar-certs-cli-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const state = join(base, 'state');
  // HOME points into the sandbox so the default ~/.isobar is never touched.
  const env = { HOME: base, ISOBAR_STATE_DIR: '' };
  const certs = (...args: string[]) => isobar(['certs', ...args, '--state-dir', state], env);
  const file = async (name: string, text: string) => {
    const p = join(base, name);
    await writeFile(p, text);
    return p;
  };
  return { base, state, env, certs, file };
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, (err, out, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(out))));
}

describe('isobar certs', { concurrency: true }, () => {
  test('request, list, describe, export and ca work together, and openssl agrees', async (t) => {
    const w = await workspace(t);
    const req = await w.certs('request', '--domain', 'www.example.test', '--san', '*.example.test', '--region', 'eu-central-1', '--account', '123456789012');
    assert.equal(req.code, 0, req.stderr);
    const arn = req.stdout.trim();
    assert.match(arn, /^arn:aws:acm:eu-central-1:123456789012:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const [list, describeText, describeJson, exported, ca] = await Promise.all([
      w.certs('list'),
      w.certs('describe', arn),
      w.certs('describe', arn, '-o', 'json'),
      w.certs('export', arn),
      w.certs('ca'),
    ]);
    for (const r of [list, describeText, describeJson, exported, ca]) assert.equal(r.code, 0, r.stderr);
    assert.match(list.stdout, /^ARN +DOMAIN +TYPE +STATUS +NOT AFTER +IN USE\n/);
    assert.match(list.stdout, new RegExp(`\\n${arn} +www\\.example\\.test +local-ca +ISSUED +\\d{4}-\\d\\d-\\d\\dT[^ ]+ +0\\n$`));
    assert.match(describeText.stdout, /^ARN: +arn:aws:acm:eu-central-1:/);
    assert.match(describeText.stdout, /\nDomains: +www\.example\.test, \*\.example\.test\n/);
    assert.match(describeText.stdout, /\nIssuer: +CN=isobar local CA 123456789012, O=isobar\n/);
    assert.match(describeText.stdout, /\nFingerprint: +SHA256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\n/);
    assert.match(describeText.stdout, /\nIn use by: +\(no listener\)\n$/);
    const d = JSON.parse(describeJson.stdout) as { domains: string[]; certPem: string; chainPem: string; fingerprint: string; warnings: string[]; inUseBy: string[] };
    assert.deepEqual([d.domains, d.warnings, d.inUseBy], [['www.example.test', '*.example.test'], [], []]);
    assert.equal(exported.stdout, d.certPem + d.chainPem);
    assert.equal(d.chainPem, ca.stdout);

    const certFile = await w.file('cert.pem', d.certPem);
    const caFile = await w.file('ca.pem', ca.stdout);
    assert.equal((await run('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslserver', certFile])).trim(), `${certFile}: OK`);
    assert.equal((await run('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'])).trim().split('=')[1], d.fingerprint);

    assert.equal((await stat(w.state)).mode & 0o777, 0o700);
    for (const f of await allFiles(w.state)) assert.equal((await stat(f)).mode & 0o777, 0o600, f);
  });

  test('request --arn and --config; malformed ARN, bad config and missing flags exit 2; a taken ARN exits 1', async (t) => {
    const w = await workspace(t);
    const withArn = await w.certs('request', '--domain', 'edge.example.test', '--arn', EXAMPLE_ARN);
    assert.equal(withArn.code, 0, withArn.stderr);
    assert.equal(withArn.stdout, `${EXAMPLE_ARN}\n`);
    const config = await w.file('isobar.yaml', 'aws:\n  region: ap-south-1\n  account: "111122223333"\n');
    const badConfig = await w.file('bad.yaml', 'aws:\n  regoin: ap-south-1\n');
    const [again, badArn, noDomain, fromConfig, configTypo] = await Promise.all([
      w.certs('request', '--domain', 'edge.example.test', '--arn', EXAMPLE_ARN),
      w.certs('describe', 'arn:aws:acm:us-east-2:185309785115:certificate/not-a-uuid'),
      w.certs('request'),
      w.certs('request', '--domain', 'cfg.example.test', '--config', config),
      w.certs('request', '--domain', 'cfg.example.test', '--config', badConfig),
    ]);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.match(fromConfig.stdout, /^arn:aws:acm:ap-south-1:111122223333:certificate\//);
    assert.equal(configTypo.code, 2);
    assert.match(configTypo.stderr, /bad\.yaml:2: unknown key "aws\.regoin"/);
    assert.equal(again.code, 1);
    assert.equal(again.stdout, '');
    assert.match(again.stderr, /^isobar: arn:aws:acm:us-east-2:185309785115:certificate\/7610ed7d-.* already holds a certificate; renew it/);
    assert.equal(badArn.code, 2);
    assert.match(badArn.stderr, /^isobar: "arn:aws:acm:us-east-2:185309785115:certificate\/not-a-uuid" is not a certificate ARN: expected arn:aws:acm:<region>:<12-digit account>:certificate\/<lower-case uuid>/);
    assert.equal(noDomain.code, 2);
    assert.match(noDomain.stderr, /--domain/);
  });

  test('import: accepted with chain; wrong key and expired refused (1); --allow-expired stores it and describe warns; missing file (2)', async (t) => {
    const w = await workspace(t);
    const root = await createCa('CLI Root');
    const inter = await root.intermediate('CLI Intermediate');
    const leaf = await inter.issue({ dnsNames: ['shop.example.test'] });
    const stranger = await inter.issue({ dnsNames: ['shop.example.test'] });
    const expired = await inter.issue({ dnsNames: ['old.example.test'], notBeforeDays: -90, notAfterDays: -2 });
    const f = {
      cert: await w.file('leaf.crt', leaf.certPem),
      key: await w.file('leaf.key', leaf.keyPem),
      chain: await w.file('chain.pem', inter.certPem + root.certPem),
      wrongKey: await w.file('stranger.key', stranger.keyPem),
      expired: await w.file('old.crt', expired.certPem),
      expiredKey: await w.file('old.key', expired.keyPem),
    };
    const [ok, wrongKey, exp, expAllowed, missing] = await Promise.all([
      w.certs('import', '--cert', f.cert, '--key', f.key, '--chain', f.chain, '--arn', EXAMPLE_ARN),
      w.certs('import', '--cert', f.cert, '--key', f.wrongKey),
      w.certs('import', '--cert', f.expired, '--key', f.expiredKey, '--chain', f.chain),
      w.certs('import', '--cert', f.expired, '--key', f.expiredKey, '--chain', f.chain, '--allow-expired'),
      w.certs('import', '--cert', join(w.base, 'nope.crt'), '--key', f.key),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${EXAMPLE_ARN}\n`);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /^isobar: the private key file .*stranger\.key: the private key does not belong to the certificate/);
    assert.equal(exp.code, 1);
    assert.match(exp.stderr, /expired on .*--allow-expired/);
    assert.equal(expAllowed.code, 0, expAllowed.stderr);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--cert .*nope\.crt does not exist/);

    const describeExpired = await w.certs('describe', expAllowed.stdout.trim());
    assert.match(describeExpired.stdout, /\nWarning: certificate expired on .*isobar certs import --arn/);
    const store = await CertificateStore.open(w.state, { readOnly: true });
    assert.equal((await store.get(EXAMPLE_ARN))?.chainPem, inter.certPem + root.certPem);
    const body = leaf.keyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    for (const file of await allFiles(w.state)) assert.ok(!(await readFile(file, 'latin1')).includes(body.slice(10, 50)), file);
  });

  test('delete is refused (1) while a listener uses the certificate; describe names it and warns within 30 days; --force, renew', async (t) => {
    const w = await workspace(t);
    const ca = await createCa();
    const soon = await ca.issue({ dnsNames: ['soon.example.test'], notAfterDays: 10 });
    const store = await CertificateStore.open(w.state);
    const arn = (await store.importCertificate({ certPem: soon.certPem, keyPem: soon.keyPem })).arn;
    const issued = await store.request({ domain: 'n.example.test' });
    // What `isobar serve` records while its listeners use the certificate (this process stays alive).
    await store.recordUsage({ [arn]: ['projectcontour/envoy:443'] });

    const [del, describeText, renew] = await Promise.all([w.certs('delete', arn), w.certs('describe', arn), w.certs('renew', issued.arn)]);
    assert.equal(del.code, 1);
    assert.match(del.stderr, /is used by listener projectcontour\/envoy:443; remove it from their aws-load-balancer-ssl-cert annotation first, or pass --force/);
    assert.match(describeText.stdout, /\nIn use by: +projectcontour\/envoy:443\n/);
    assert.match(describeText.stdout, /\nWarning: certificate expires in (9|10) day\(s\).*used by projectcontour\/envoy:443/);
    assert.equal(renew.code, 0, renew.stderr);
    assert.match(renew.stdout, new RegExp(`^${issued.arn} renewed, valid until \\d{4}-`));
    assert.notEqual((await store.get(issued.arn))?.fingerprint, issued.fingerprint);

    const forced = await w.certs('delete', arn, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, `deleted ${arn}\n`);
    assert.equal(await store.get(arn), undefined);
  });

  test('a tampered file is named and the rest still listed (2); a stale lock is taken over; $ISOBAR_STATE_DIR is honoured', async (t) => {
    const w = await workspace(t);
    const store = await CertificateStore.open(w.state);
    const a = await store.request({ domain: 'a.example.test' });
    const b = await store.request({ domain: 'b.example.test' });
    const fileA = join(w.state, 'certs', `${a.arn.split('/')[1]}.json`);
    await writeFile(fileA, (await readFile(fileA, 'utf8')).replace('a.example.test', 'z.example.test'));
    await writeFile(join(w.state, '.lock'), '999999999\n');

    const [list, req, viaEnv] = await Promise.all([
      w.certs('list'),
      w.certs('request', '--domain', 'c.example.test'),
      isobar(['certs', 'list', '-o', 'json'], { ...w.env, ISOBAR_STATE_DIR: w.state }),
    ]);
    assert.equal(list.code, 2);
    assert.match(list.stdout, new RegExp(b.arn));
    assert.doesNotMatch(list.stdout, new RegExp(a.arn));
    assert.ok(list.stderr.startsWith(`isobar: ${fileA} was modified outside isobar`), list.stderr);
    assert.equal(req.code, 0, req.stderr);
    assert.equal(viaEnv.code, 2);
    assert.ok((JSON.parse(viaEnv.stdout) as Array<{ arn: string }>).some((c) => c.arn === b.arn));
  });
});

test('no command ever printed a private key', () => {
  assert.ok(printed.length >= 20);
  for (const out of printed) assert.doesNotMatch(out, /PRIVATE KEY/);
});
