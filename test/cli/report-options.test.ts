// status/check/config take serve's load balancer flags, so the listener
// addresses they print are the ones `isobar serve` binds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { StatusReport } from '../../src/status/types.ts';

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb
    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing
spec:
  type: LoadBalancer
  ports:
    - port: 80
      targetPort: 8080
`;

async function statusJson(dir: string, extra: string[]): Promise<StatusReport> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    const code = await main(['status', dir, '-o', 'json', '--state-dir', join(dir, 'state'), ...extra]);
    assert.equal(code, 0);
  } finally {
    process.stdout.write = write;
  }
  return JSON.parse(out) as StatusReport;
}

test('--lb-port-offset and --lb-address move the listener addresses', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'isobar-report-opts-'));
  try {
    await writeFile(join(dir, 'svc.yaml'), SERVICE);
    const plain = await statusJson(dir, []);
    assert.equal(plain.services[0]!.listeners[0]!.address, '127.0.0.1:80');
    const moved = await statusJson(dir, ['--lb-port-offset', '10000', '--lb-address', '127.0.0.2']);
    assert.equal(moved.services[0]!.listeners[0]!.address, '127.0.0.2:10080');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad --lb-port-offset is a usage error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'isobar-report-opts-'));
  const err = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await main(['status', dir, '--lb-port-offset', 'ten']), 2);
  } finally {
    process.stderr.write = err;
    await rm(dir, { recursive: true, force: true });
  }
});
