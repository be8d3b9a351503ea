// `npm start`: the whole walkthrough on this machine. An NLB-style load
// balancer terminates TLS on 10443 with a certificate from the certificate
// store, passes the client's address on with PROXY v2, and the proxy routes
// tls-demo.example.test over validated TLS (with a client certificate) to
// a backend that answers with what it saw. Ctrl-C stops everything.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { prepareQuickstart, FQDN } from './quickstart-lib.ts';
import { ACME_ARN, startLocalAcme, switchToAcme, type LocalAcme } from './quickstart-acme.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'isobar.js');
// The ports a reader types in the walkthrough. The environment may move them
// (and the work folder), so a test can run this very script beside others.
const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`quickstart: ${name}=${JSON.stringify(v)} is not a port number (0-65535)`);
    process.exit(2);
  }
  return n;
};
const WORK = process.env.ISOBAR_QUICKSTART_WORK || join(ROOT, '.isobar', 'quickstart');
const OFFSET = env('ISOBAR_QUICKSTART_LB_PORT_OFFSET', 10000);
const ADMIN = env('ISOBAR_QUICKSTART_ADMIN_PORT', 8000);
const BACKEND_PORT = env('ISOBAR_QUICKSTART_BACKEND_PORT', 9443);
const HTTP_PORT = env('ISOBAR_QUICKSTART_HTTP_PORT', 8080);
const HTTPS_PORT = env('ISOBAR_QUICKSTART_HTTPS_PORT', 8443);

const children: ChildProcess[] = [];
/** --acme: the edge certificate from a local ACME CA (Pebble) instead of the local one. */
const ACME = process.argv.includes('--acme');
let acme: LocalAcme | undefined;

function run(args: string[], name: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`\nquickstart: ${name} exited (${code ?? signal}); stopping.\n`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await acme?.stop();
  process.exit(code);
}

async function waitReady(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(`http://127.0.0.1:${ADMIN}/readyz`);
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const rel = (p: string): string => relative(process.cwd(), p) || '.';

console.log('isobar quickstart: preparing certificates and manifests in', rel(WORK));
const files = await prepareQuickstart(WORK, { backendPort: BACKEND_PORT });

run(
  ['demo-backend', '--tls', '--port', String(BACKEND_PORT), '--name', 'secure-backend', '--cert', files.backendCert, '--key', files.backendKey, '--ca', files.clientCa, '--require-client-cert'],
  'demo-backend',
);
if (ACME) {
  console.log('isobar quickstart: starting Pebble (a local ACME CA) and Knot DNS for example.test');
  acme = await startLocalAcme(WORK, files, OFFSET);
}
run(
  ['serve', files.manifests, '--config', acme?.config ?? files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(OFFSET), '--admin-port', String(ADMIN), '--http-port', String(HTTP_PORT), '--https-port', String(HTTPS_PORT), '--log-format', 'text'],
  'isobar serve',
);

if (!(await waitReady(60_000))) {
  console.error('quickstart: isobar did not become ready within 60 s (see the log above)');
  await stop(1);
}

let cacert = files.edgeCa;
if (acme) {
  console.log(`\n--- ACME: isobar certs request --acme --domain ${FQDN} --arn ${ACME_ARN} ---`);
  execFileSync(process.execPath, [CLI, 'certs', '--state-dir', files.stateDir, '--config', acme.config, 'request', '--acme', '--domain', FQDN, '--arn', ACME_ARN], { stdio: 'inherit' });
  try {
    const { ms } = await switchToAcme(files, 60_000);
    console.log(`issued by Pebble in ${(ms / 1000).toFixed(1)} s (serve's load balancer answered HTTP-01 on ${80 + OFFSET}); the Service now names ${ACME_ARN}`);
  } catch (err) {
    console.error(`quickstart: ${(err as Error).message}`);
    await stop(1);
  }
  cacert = acme.rootFile;
  await new Promise((r) => setTimeout(r, 500));
}

console.log('\n--- status (isobar status) ---');
try {
  execFileSync(process.execPath, [CLI, 'status', files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(OFFSET)], {
    stdio: 'inherit',
  });
} catch {
  // status exits 1 when an object is invalid: the quickstart has one on purpose.
}

const port = 443 + OFFSET;
console.log(`
--- try it ---
The load balancer terminates TLS on ${port} with the certificate ${'\n'}issued into the certificate store; the backend answers with what it saw:

  curl --resolve ${FQDN}:${port}:127.0.0.1 --cacert ${rel(cacert)} https://${FQDN}:${port}/

Look for "clientAddress": "127.0.0.1" (carried by PROXY v2 and X-Forwarded-For),
"scheme", "sni": "secure-backend.example.test" (the proxy validated the backend
for that name) and "clientCertificate" (the proxy's client certificate).

The second HTTPProxy names a CA Secret that does not exist: it is invalid and
serves nothing (404):

  curl -i --resolve missing-ca.example.test:${port}:127.0.0.1 --cacert ${rel(files.edgeCa)} https://missing-ca.example.test:${port}/${acme ? '   (the local CA\'s wildcard: this host is not on the ACME certificate)' : ''}

Plain HTTP on the load balancer's port 80 (listening on ${80 + OFFSET}):

  curl -H 'Host: ${FQDN}' http://127.0.0.1:${80 + OFFSET}/

Status at any time: curl http://127.0.0.1:${ADMIN}/status
Press Ctrl-C to stop.
`);
