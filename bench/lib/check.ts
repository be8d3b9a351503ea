// Correctness before speed: every system must serve the exact bodies through
// each of its listeners, with certificates verified by curl, and must refuse
// a backend whose certificate comes from the wrong CA. A system that fails
// any check is not measured.

import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { run } from './procs.ts';
import { LOOPBACK } from './ports.ts';
import { bodyFor, type BodyPath } from './backend.ts';
import { EDGE_HOST, H2_HOST, PLAIN_HOST, WRONG_HOST, BACKEND_NAME, type BenchPki } from './pki.ts';
import type { SystemUnderTest } from './system.ts';

interface Fetched {
  status: number;
  httpVersion: string;
  body: Buffer;
  error: string;
}

async function curl(o: { url: string; port: number; host: string; tls: boolean; ca?: string; hostHeader?: string; http2?: boolean; tmp: string }): Promise<Fetched> {
  const args = ['-sS', '--max-time', '10', '-o', o.tmp, '-w', '%{http_code} %{http_version}'];
  if (o.tls) args.push('--cacert', o.ca!, '--resolve', `${o.host}:${o.port}:${LOOPBACK}`);
  if (o.hostHeader) args.push('-H', `Host: ${o.hostHeader}`);
  args.push(o.http2 ? '--http2' : '--http1.1');
  args.push(o.url);
  rmSync(o.tmp, { force: true });
  const r = await run('curl', args, { timeoutMs: 15_000 });
  let body = Buffer.alloc(0);
  try {
    body = readFileSync(o.tmp);
  } catch {
    /* no body */
  }
  rmSync(o.tmp, { force: true });
  const [code, version] = r.stdout.trim().split(' ');
  return { status: Number(code ?? 0), httpVersion: version ?? '', body, error: r.code === 0 ? '' : r.stderr.trim() };
}

export interface CheckOptions {
  pki: BenchPki;
  tmpDir: string;
  /** true for the "direct" system: TLS listeners are the backend's own (backend CA, backend name) */
  direct: boolean;
}

/** Runs every check; returns the failures (empty = correct). */
export async function checkSystem(sys: SystemUnderTest, o: CheckOptions): Promise<string[]> {
  const failures: string[] = [];
  const tmp = path.join(o.tmpDir, `check-${sys.name}.body`);
  const tlsName = (h: string) => (o.direct ? BACKEND_NAME : h);
  const ca = o.direct ? o.pki.backendCa : o.pki.edgeCa;

  const expectBody = async (what: string, f: Promise<Fetched>, p: BodyPath, version?: string) => {
    const r = await f;
    const want = bodyFor(p);
    if (r.error) failures.push(`${what}: curl failed: ${r.error}`);
    else if (r.status !== 200) failures.push(`${what}: status ${r.status}, expected 200`);
    else if (!r.body.equals(want)) failures.push(`${what}: body of ${r.body.length} bytes differs from the backend's ${want.length}`);
    else if (version && r.httpVersion !== version) failures.push(`${what}: HTTP version ${r.httpVersion}, expected ${version}`);
  };

  const chainHost = tlsName(EDGE_HOST);
  for (const p of ['/64', '/1k', '/1m'] as BodyPath[]) {
    await expectBody(
      `chain ${p}`,
      curl({ url: `https://${chainHost}:${sys.targets.chain}${p}`, port: sys.targets.chain, host: chainHost, tls: true, ca, hostHeader: EDGE_HOST, tmp }),
      p,
    );
  }
  await expectBody(
    'proxy alone /64',
    curl({ url: `http://${LOOPBACK}:${sys.targets.proxyPlain}/64`, port: sys.targets.proxyPlain, host: PLAIN_HOST, tls: false, hostHeader: PLAIN_HOST, tmp }),
    '/64',
  );
  await expectBody(
    'LB alone /64',
    curl({ url: `https://${chainHost}:${sys.targets.lbOnly}/64`, port: sys.targets.lbOnly, host: chainHost, tls: true, ca, tmp }),
    '/64',
  );
  const h2Host = tlsName(H2_HOST);
  const h2 = sys.targets.h2;
  if (h2 !== undefined) {
    await expectBody('HTTP/2 /64', curl({ url: `https://${h2Host}:${h2}/64`, port: h2, host: h2Host, tls: true, ca, http2: true, tmp }), '/64', '2');
  }

  if (!o.direct) {
    // Same route shape, but the backend presents a certificate from an
    // unrelated CA (with the right name): no byte of its body may come back.
    const r = await curl({
      url: `https://${EDGE_HOST}:${sys.targets.chain}/64`, port: sys.targets.chain, host: EDGE_HOST, tls: true, ca, hostHeader: WRONG_HOST, tmp,
    });
    if (r.status === 200 || r.body.includes(bodyFor('/64'))) {
      failures.push(`wrong-CA backend: got status ${r.status} with the backend's body; upstream validation is not in force`);
    }
  }
  return failures;
}

/** What a TLS listener negotiates with an OpenSSL client (protocol, cipher, key exchange), for the report. */
export async function tlsSummary(port: number, servername: string): Promise<string> {
  const r = await run('openssl', ['s_client', '-connect', `${LOOPBACK}:${port}`, '-servername', servername, '-brief'], { timeoutMs: 10_000 });
  const text = r.stdout + r.stderr;
  const pick = (re: RegExp) => re.exec(text)?.[1]?.trim();
  const proto = pick(/Protocol version:\s*(.+)/);
  if (!proto) return 'no TLS handshake';
  return [proto, pick(/Ciphersuite:\s*(.+)/), pick(/(?:Server|Peer) Temp Key:\s*([^,\n]+)/), pick(/Signature type:\s*(.+)/)].filter(Boolean).join(', ');
}
