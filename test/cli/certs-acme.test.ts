// `isobar certs request --acme` as a user runs it: bad input refused with
// exit 2 and one line naming the flag; with no serve on the store, the
// command answers the challenge itself and ends ISSUED (exit 0) or FAILED
// (exit 1, the reason said), against a real Pebble.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { freePort } from '../e2e/support.ts';
import { startKnot, startPebble, ZONE } from '../../scripts/acme-local-lib.ts';

const BIN = fileURLToPath(new URL('../../bin/isobar.js', import.meta.url));

/** A command that has not finished in this long is killed and its output
 *  shown, so a hang fails the test with the command's words, not never. */
const COMMAND_MS = 120_000;

function isobar(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: COMMAND_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const killed = err && (err as { killed?: boolean }).killed ? `\n(killed after ${COMMAND_MS / 1000} s: isobar ${args.join(' ')})` : '';
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr: stderr + killed });
    });
  });
}

test('request --acme: bad input exits 2 with one line naming what is wrong', { timeout: 300_000 }, async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'isobar-acme-cli-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const state = ['--state-dir', join(base, 'state')];
  const cases: [string[], RegExp][] = [
    [['--domain', 'a.example', '--acme'], /^isobar: --acme needs a directory URL/],
    [['--domain', 'a.example', '--acme', 'http://ca.example/dir'], /^isobar: --acme "http:\/\/ca\.example\/dir" must be an https URL/],
    [['--domain', 'a.example', '--acme', 'letsencrypt', '--key-type', 'dsa'], /^isobar: --key-type "dsa" is not a key type/],
    [['--domain', '*.a.example', '--acme', 'letsencrypt'], /^isobar: \*\.a\.example is a wildcard: ACME validates wildcards only by dns-01/],
    [['--domain', '*.a.example', '--acme', 'letsencrypt', '--challenge', 'dns-01'], /^isobar: --challenge dns-01 needs acme\.dns in the config file/],
    [['--domain', 'a.example', '--acme', 'letsencrypt', '--eab-kid', 'k'], /^isobar: --eab-kid and --eab-hmac-key go together/],
    [['--domain', 'a.example', '--acme', 'letsencrypt', '--http-01-port', '99999'], /^isobar: --http-01-port "99999" is not a port/],
    [['--domain', 'a.example', '--acme', 'letsencrypt', '--ca-bundle', join(base, 'none.pem')], /^isobar: --ca-bundle .*none\.pem cannot be read \(ENOENT\)/],
  ];
  const runs = await Promise.all(cases.map(([args]) => isobar(['certs', ...state, 'request', ...args])));
  runs.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i]![0].join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, cases[i]![1]);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(r.stdout, '');
  });
});

test('request --acme without serve: answers HTTP-01 itself, ISSUED; a challenge port taken: FAILED with the reason, exit 1', { timeout: 600_000 }, async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'isobar-acme-cli-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const knot = await startKnot(await freePort());
  t.after(() => knot.stop());
  const httpPort = await freePort();
  const pebble = await startPebble({ port: await freePort(), managementPort: await freePort(), dnsPort: knot.port, httpPort, tlsPort: await freePort() });
  t.after(() => pebble.stop());
  const common = ['certs', '--state-dir', join(base, 'state'), 'request', '--acme', pebble.directory, '--ca-bundle', pebble.caBundleFile, '--challenge', 'http-01', '--challenge-address', '127.0.0.1', '--http-01-port', String(httpPort)];
  const ok = await isobar([...common, '--domain', `cli.${ZONE}`, '--email', 'ops@example.org']);
  assert.equal(ok.code, 0, ok.stderr);
  const arn = ok.stdout.trim();
  assert.match(arn, /^arn:aws:acm:local:000000000000:certificate\//);
  assert.match(ok.stderr, new RegExp(`^isobar: ${arn.replace(/[/.]/g, '\\$&')} is ISSUED \\(in [\\d.]+ s\\), valid until \\d{4}-`));
  const described = await isobar(['certs', '--state-dir', join(base, 'state'), 'describe', arn]);
  assert.match(described.stdout, /\nStatus: +ISSUED\n/);
  assert.match(described.stdout, /\nType: +ACME \(https:\/\/127\.0\.0\.1:\d+\/dir\)\n/);
  assert.match(described.stdout, /\nRenewal: +managed by serve, due \d{4}-/);

  const holder = createServer().listen(httpPort, '127.0.0.1');
  t.after(() => holder.close());
  await new Promise((r) => holder.once('listening', r));
  const taken = await isobar([...common, '--domain', `taken.${ZONE}`]);
  assert.equal(taken.code, 2, taken.stderr);
  assert.match(taken.stderr, new RegExp(`isobar: cannot answer http-01 on 127\\.0\\.0\\.1:${httpPort}: port ${httpPort} is in use`));
  const listed = await isobar(['certs', '--state-dir', join(base, 'state'), 'list']);
  assert.match(listed.stdout, /acme +FAILED +- +0\n/);
  holder.close();

  // Nothing answers where Pebble connects: FAILED, exit 1, the CA's words.
  const elsewhere = await freePort();
  const failed = await isobar([...common.slice(0, -1), String(elsewhere), '--domain', `unreached.${ZONE}`]);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /is FAILED \(DOMAIN_VALIDATION_DENIED\): http-01 for unreached\.acme\.test failed: acme error connection: /);
});
