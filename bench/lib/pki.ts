// Certificates for the benchmark, made with the openssl CLI (the same tool a
// person would use for the peers). ECDSA P-256 everywhere so every system does
// the same handshake work. Idempotent: an existing set that is still valid for
// a week is reused.

import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { run, runOk } from './procs.ts';

export const EDGE_HOST = 'tls-demo.example.test';
export const H2_HOST = 'h2.example.test';
export const PLAIN_HOST = 'plain.example.test';
export const WRONG_HOST = 'wrong.example.test';
export const BACKEND_NAME = 'backend.example.test';

/** Paths of every PEM file the benchmark uses. */
export interface BenchPki {
  dir: string;
  edgeCa: string;
  /** tls-demo.example.test, from the edge CA: the load balancer's certificate */
  edgeCert: string;
  edgeKey: string;
  /** cert + key in one file (HAProxy `crt`) */
  edgePem: string;
  /** h2.example.test, from the edge CA: the proxy's own TLS listener (HTTP/2 case) */
  proxyTlsCert: string;
  proxyTlsKey: string;
  proxyTlsPem: string;
  backendCa: string;
  /** SAN backend.example.test, from the backend CA */
  backendCert: string;
  backendKey: string;
  /** SAN backend.example.test too, but from an unrelated CA: must be refused */
  wrongCa: string;
  wrongCert: string;
  wrongKey: string;
  clientCa: string;
  /** the proxy's client certificate towards the backend */
  clientCert: string;
  clientKey: string;
  clientPem: string;
}

export function pkiPaths(dir: string): BenchPki {
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    edgeCa: p('edge-ca.crt'),
    edgeCert: p('edge.crt'),
    edgeKey: p('edge.key'),
    edgePem: p('edge.pem'),
    proxyTlsCert: p('proxy-tls.crt'),
    proxyTlsKey: p('proxy-tls.key'),
    proxyTlsPem: p('proxy-tls.pem'),
    backendCa: p('backend-ca.crt'),
    backendCert: p('backend.crt'),
    backendKey: p('backend.key'),
    wrongCa: p('wrong-ca.crt'),
    wrongCert: p('wrong-backend.crt'),
    wrongKey: p('wrong-backend.key'),
    clientCa: p('client-ca.crt'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    clientPem: p('client.pem'),
  };
}

async function newKey(file: string): Promise<void> {
  await runOk('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  chmodSync(file, 0o600);
}

async function newCa(dir: string, name: string, cn: string): Promise<void> {
  const key = path.join(dir, `${name}.key`);
  await newKey(key);
  await runOk('openssl', [
    'req', '-x509', '-new', '-key', key, '-subj', `/CN=${cn}`, '-days', '3650', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', path.join(dir, `${name}.crt`),
  ]);
}

async function newLeaf(o: { dir: string; ca: string; cert: string; key: string; cn: string; dns: string[]; client: boolean }): Promise<void> {
  await newKey(o.key);
  const csr = `${o.cert}.csr`;
  const ext = `${o.cert}.ext`;
  await runOk('openssl', ['req', '-new', '-key', o.key, '-subj', `/CN=${o.cn}`, '-out', csr]);
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${o.client ? 'clientAuth' : 'serverAuth'}`,
      ...(o.dns.length > 0 ? [`subjectAltName=${o.dns.map((d) => `DNS:${d}`).join(',')}`] : []),
    ].join('\n') + '\n',
  );
  const caBase = o.ca.replace(/\.crt$/, '');
  await runOk('openssl', [
    'x509', '-req', '-in', csr, '-CA', `${caBase}.crt`, '-CAkey', `${caBase}.key`, '-set_serial',
    `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`, '-days', '365', '-sha256', '-extfile', ext, '-out', o.cert,
  ]);
}

function concat(out: string, ...files: string[]): void {
  writeFileSync(out, files.map((f) => readFileSync(f, 'utf8')).join(''), { mode: 0o600 });
  chmodSync(out, 0o600);
}

async function stillValid(p: BenchPki): Promise<boolean> {
  const certs = [p.edgeCa, p.edgeCert, p.proxyTlsCert, p.backendCa, p.backendCert, p.wrongCa, p.wrongCert, p.clientCa, p.clientCert];
  const files = [...certs, p.edgeKey, p.edgePem, p.proxyTlsPem, p.backendKey, p.wrongKey, p.clientKey, p.clientPem];
  if (!files.every((f) => existsSync(f))) return false;
  for (const c of certs) {
    const r = await run('openssl', ['x509', '-in', c, '-noout', '-checkend', String(7 * 86400)]);
    if (r.code !== 0) return false;
  }
  return true;
}

/** Creates (or reuses) every certificate in dir. */
export async function ensurePki(dir: string): Promise<BenchPki> {
  const p = pkiPaths(dir);
  if (await stillValid(p)) return p;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await newCa(dir, 'edge-ca', 'isobar bench edge CA');
  await newCa(dir, 'backend-ca', 'isobar bench backend CA');
  await newCa(dir, 'wrong-ca', 'isobar bench unrelated CA');
  await newCa(dir, 'client-ca', 'isobar bench client CA');
  await newLeaf({ dir, ca: p.edgeCa, cert: p.edgeCert, key: p.edgeKey, cn: EDGE_HOST, dns: [EDGE_HOST], client: false });
  await newLeaf({ dir, ca: p.edgeCa, cert: p.proxyTlsCert, key: p.proxyTlsKey, cn: H2_HOST, dns: [H2_HOST], client: false });
  await newLeaf({ dir, ca: p.backendCa, cert: p.backendCert, key: p.backendKey, cn: BACKEND_NAME, dns: [BACKEND_NAME], client: false });
  await newLeaf({ dir, ca: p.wrongCa, cert: p.wrongCert, key: p.wrongKey, cn: BACKEND_NAME, dns: [BACKEND_NAME], client: false });
  await newLeaf({ dir, ca: p.clientCa, cert: p.clientCert, key: p.clientKey, cn: 'isobar bench proxy client', dns: [], client: true });
  concat(p.edgePem, p.edgeCert, p.edgeKey);
  concat(p.proxyTlsPem, p.proxyTlsCert, p.proxyTlsKey);
  concat(p.clientPem, p.clientCert, p.clientKey);
  return p;
}
