// Shared test plumbing: a TLS test API server with a kubeconfig, kubectl
// runs against it, and waiting for a condition with a deadline.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa } from '../support/pki.ts';
import { TestApiServer } from './apiserver.ts';
import type { TestApiServerOptions } from './apiserver.ts';

const run = promisify(execFile);

export async function startApi(o: Omit<TestApiServerOptions, 'tls'> = {}): Promise<{ api: TestApiServer; kubeconfig: string }> {
  const ca = await createCa();
  const leaf = await ca.issue({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const api = new TestApiServer({ ...o, tls: { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: ca.certPem } });
  await api.start();
  return { api, kubeconfig: api.kubeconfig() };
}

export async function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<{ stdout: string; stderr: string }> {
  let file: string | undefined;
  if (stdin !== undefined) {
    file = join(mkdtempSync(join(tmpdir(), 'isobar-kubectl-')), 'in.yaml');
    writeFileSync(file, stdin);
    args = args.map((a) => (a === '-' ? file! : a));
  }
  return run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, KUBECONFIG: '' }, timeout: 20_000 });
}

export { waitFor } from '../support/wait.ts';
