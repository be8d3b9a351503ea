// Installs the benchmark's tools from Debian, idempotently, and creates its
// certificates. `node bench/setup.ts` runs it alone; bench/run.ts calls it
// first.

import { existsSync, writeFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { run } from './lib/procs.ts';
import { ensurePki, type BenchPki } from './lib/pki.ts';

/** Debian package -> a file it installs that proves it is there. */
const PACKAGES: Record<string, string> = {
  haproxy: '/usr/sbin/haproxy',
  nginx: '/usr/sbin/nginx',
  // Debian 12 ships nginx's stream module as a separate dynamic module.
  'libnginx-mod-stream': '/usr/lib/nginx/modules/ngx_stream_module.so',
  wrk: '/usr/bin/wrk',
  'nghttp2-client': '/usr/bin/h2load',
  curl: '/usr/bin/curl',
  openssl: '/usr/bin/openssl',
  // bench/instructions.ts: callgrind, callgrind_control, callgrind_annotate
  valgrind: '/usr/bin/valgrind',
};

export const NGINX_STREAM_MODULE = PACKAGES['libnginx-mod-stream']!;

const POLICY_RC = '/usr/sbin/policy-rc.d';

export async function ensureTools(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<void> {
  const missing = Object.entries(PACKAGES)
    .filter(([, file]) => !existsSync(file))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing tools: ${missing.join(', ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`);
  }
  log(`bench: installing ${missing.join(', ')} with apt-get`);
  // The packages' own services (nginx on port 80, haproxy) must not start:
  // the benchmark runs its own instances. policy-rc.d is Debian's switch.
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy) writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
    if (r.code !== 0) {
      await run('apt-get', ['update', '-qq'], { env });
      r = await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
    }
    if (r.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  } finally {
    if (ownPolicy) unlinkSync(POLICY_RC);
  }
  const still = Object.entries(PACKAGES).filter(([, f]) => !existsSync(f));
  if (still.length > 0) throw new Error(`after apt-get, still missing: ${still.map(([p, f]) => `${p} (${f})`).join(', ')}`);
}

export const WORK_DIR = path.join(import.meta.dirname, 'work');

export async function setup(): Promise<BenchPki> {
  await ensureTools();
  return ensurePki(path.join(WORK_DIR, 'pki'));
}

if (import.meta.main) {
  try {
    const pki = await setup();
    process.stdout.write(`tools installed; certificates in ${pki.dir}\n`);
  } catch (err) {
    process.stderr.write(`bench setup: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
