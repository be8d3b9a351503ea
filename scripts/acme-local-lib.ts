// Real ACME and DNS servers on loopback, for the ACME tests and
// `npm start -- --acme`: Pebble (Let's Encrypt's test CA, Debian package
// `pebble`) with its validation authority resolving through Knot DNS
// (Debian package `knot`), which serves a zone whose names all point at
// 127.0.0.1 and takes RFC 2136 updates signed with TSIG. Never
// PEBBLE_VA_ALWAYS_VALID: Pebble really connects to the ports isobar
// answers on.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent, fetch } from 'undici';
import { createCa } from '../src/demo/pki.ts';

export const ZONE = 'acme.test';

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function need(tool: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
  if (r.status !== 0) throw new Error(`${tool} is not installed: apt-get install -y ${pkg} (.ci/run installs it)`);
}

interface Proc {
  child: ChildProcess;
  output: () => string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.child.once('exit', () => resolve());
    p.child.kill('SIGTERM');
  });
}

export interface Knot {
  port: number;
  tsig: { name: string; algorithm: 'hmac-sha256'; secret: string };
  output: () => string;
  stop(): Promise<void>;
}

/** Knot serving `zone` on 127.0.0.1:port, every name A 127.0.0.1. */
export async function startKnot(port: number, zone = ZONE): Promise<Knot> {
  need('knotd', 'knot');
  const dir = await mkdtemp(join(tmpdir(), 'isobar-knot-'));
  const secret = randomBytes(32).toString('base64');
  await writeFile(
    join(dir, 'knot.conf'),
    `server:
    rundir: "${dir}"
    listen: 127.0.0.1@${port}
database:
    storage: "${dir}"
log:
  - target: stderr
    any: info
key:
  - id: isobar-update
    algorithm: hmac-sha256
    secret: ${secret}
acl:
  - id: update
    key: isobar-update
    action: update
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: ${zone}
    file: "${zone}.zone"
    acl: update
`,
  );
  await writeFile(
    join(dir, `${zone}.zone`),
    `$ORIGIN ${zone}.
$TTL 5
@ IN SOA ns.${zone}. hostmaster.${zone}. 1 60 60 600 5
@ IN NS ns.${zone}.
ns IN A 127.0.0.1
@ IN A 127.0.0.1
* IN A 127.0.0.1
`,
  );
  const p = run('knotd', ['-c', join(dir, 'knot.conf')]);
  try {
    await waitFor('knotd to serve the zone', () => {
      if (p.child.exitCode !== null) throw new Error(`knotd exited: ${p.output()}`);
      return p.output().includes('server started');
    }, 10_000);
  } catch (err) {
    // A knotd left running would keep the caller's process alive for good.
    await stopProc(p);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    tsig: { name: 'isobar-update', algorithm: 'hmac-sha256', secret },
    output: p.output,
    async stop() {
      await stopProc(p);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Pebble {
  directory: string;
  /** PEM of the CA Pebble's own HTTPS listener chains to (acme.caBundle). */
  caBundle: string;
  caBundleFile: string;
  /** Pebble's current root, from its management endpoint. */
  root(): Promise<string>;
  output: () => string;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  port: number;
  managementPort: number;
  dnsPort: number;
  /** Where the VA connects for HTTP-01 and TLS-ALPN-01. */
  httpPort: number;
  tlsPort: number;
  /** Lifetime of the certificates it issues (seconds). */
  validitySeconds?: number;
  externalAccountMACKeys?: Record<string, string>;
}

export async function startPebble(o: PebbleOptions): Promise<Pebble> {
  need('pebble', 'pebble');
  const dir = await mkdtemp(join(tmpdir(), 'isobar-pebble-'));
  const ca = await createCa('pebble listener test CA');
  const leaf = await ca.issue({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  await writeFile(join(dir, 'cert.pem'), leaf.certPem);
  await writeFile(join(dir, 'key.pem'), leaf.keyPem);
  const caBundleFile = join(dir, 'ca.pem');
  await writeFile(caBundleFile, ca.certPem);
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${o.port}`,
      managementListenAddress: `127.0.0.1:${o.managementPort}`,
      certificate: join(dir, 'cert.pem'),
      privateKey: join(dir, 'key.pem'),
      httpPort: o.httpPort,
      tlsPort: o.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: o.externalAccountMACKeys !== undefined,
      ...(o.externalAccountMACKeys ? { externalAccountMACKeys: o.externalAccountMACKeys } : {}),
      ...(o.validitySeconds ? { certificateValidityPeriod: o.validitySeconds } : {}),
    },
  };
  await writeFile(join(dir, 'pebble.json'), JSON.stringify(config));
  // Validation is real (no PEBBLE_VA_ALWAYS_VALID); no random sleeps or
  // nonce rejections, so a test's timing is the edge's.
  const p = run('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${o.dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' });
  const dispatcher = new Agent({ connect: { ca: ca.certPem } });
  const directory = `https://127.0.0.1:${o.port}/dir`;
  let stopped: Promise<void> | undefined;
  // Idempotent: a test may stop its CA early and again in its cleanup.
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await stopProc(p);
      await dispatcher.close();
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await waitFor('pebble to listen', async () => {
      if (p.child.exitCode !== null) throw new Error(`pebble exited: ${p.output()}`);
      return (await fetch(directory, { dispatcher })).ok;
    }, 30_000, 100);
  } catch (err) {
    // A Pebble left running would keep the caller's process alive for good.
    await stop();
    throw new Error(`${(err as Error).message}; its output:\n${p.output()}`);
  }
  return {
    directory,
    caBundle: ca.certPem,
    caBundleFile,
    async root() {
      const res = await fetch(`https://127.0.0.1:${o.managementPort}/roots/0`, { dispatcher });
      return res.text();
    },
    output: p.output,
    stop,
  };
}
