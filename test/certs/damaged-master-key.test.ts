// A truncated or damaged master.key is reported as what it is, naming the
// file, wherever a certificate is needed: the store's scan (one problem,
// not one per certificate), the Service status (`isobar status`/`check`),
// `isobar serve` at start-up (exit 2) and a balancer worker reading a key.
// Never "the certificate is not in the store, add it".

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type AddressInfo } from 'node:net';
import { CertificateStore, toEdgeCertificate } from '../../src/certs/index.ts';
import { BalancerRuntime, lookupPolicy, DEFAULT_POLICY, type BalancerConfig } from '../../src/balancer/index.ts';
import { buildReport } from '../../src/edge/index.ts';
import { tempStateDir } from './support.ts';

const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
const CLI = fileURLToPath(new URL('../../bin/isobar.js', import.meta.url));
const ARN = 'arn:aws:acm:local:000000000000:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e';
const DAMAGED = /master\.key: the master key is damaged \(it must be exactly 32 bytes, found 16\)/;

/** A store with one certificate under ARN and a manifests folder whose
 *  Service terminates TLS with it; then master.key cut to 16 bytes. */
async function damagedStore(t: TestContext) {
  const stateDir = await tempStateDir(t);
  const store = await CertificateStore.open(stateDir);
  const record = await store.request({ domain: 'a.example.test', arn: ARN });
  await store.request({ domain: 'b.example.test' });
  const masterKey = join(stateDir, 'master.key');
  const manifests = join(dirname(stateDir), 'manifests');
  await mkdir(manifests);
  await writeFile(
    join(manifests, 'service.yaml'),
    `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb-ip
    service.beta.kubernetes.io/aws-load-balancer-ssl-cert: ${ARN}
spec:
  type: LoadBalancer
  ports:
    - port: 443
      targetPort: 8443
`,
  );
  await writeFile(masterKey, (await readFile(masterKey)).subarray(0, 16));
  return { stateDir, masterKey, manifests, edge: toEdgeCertificate(record) };
}

test('scan: one problem, naming master.key, for the whole store', async (t) => {
  const { stateDir, masterKey } = await damagedStore(t);
  const scan = await (await CertificateStore.open(stateDir, { readOnly: true })).scan();
  assert.deepEqual(scan.records, []);
  assert.equal(scan.problems.length, 1);
  assert.equal(scan.problems[0]!.file, masterKey);
  assert.equal(scan.problems[0]!.wholeStore, true);
  assert.match(scan.problems[0]!.message, DAMAGED);
});

test('the Service status says the certificate cannot be read because master.key is damaged', async (t) => {
  const { stateDir, manifests } = await damagedStore(t);
  const report = await buildReport(manifests, { stateDir, portOffset: 30000 });
  const problems = report.status.services[0]!.problems.map((p) => p.message);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0]!, new RegExp(`certificate ${ARN.replace(/[/.]/g, '\\$&')} cannot be read from the certificate store: .*master\\.key: the master key is damaged`));
  assert.doesNotMatch(problems[0]!, /not in the certificate store|certs import|certs request/);
});

test('a damaged record file is named for the certificate stored in it', async (t) => {
  const stateDir = await tempStateDir(t);
  const store = await CertificateStore.open(stateDir);
  await store.request({ domain: 'a.example.test', arn: ARN });
  const file = join(stateDir, 'certs', `${ARN.split('/')[1]}.json`);
  await writeFile(file, (await readFile(file, 'utf8')).slice(0, 100));
  const manifests = join(dirname(stateDir), 'manifests');
  await mkdir(manifests);
  await writeFile(
    join(manifests, 'service.yaml'),
    `apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default, annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb-ip, service.beta.kubernetes.io/aws-load-balancer-ssl-cert: "${ARN}"}}\nspec: {type: LoadBalancer, ports: [{port: 443}]}\n`,
  );
  const report = await buildReport(manifests, { stateDir, portOffset: 30000 });
  const [problem] = report.status.services[0]!.problems.map((p) => p.message);
  assert.match(problem!, /cannot be read from the certificate store: .*\.json is not valid JSON \(truncated or edited by hand\)/);
});

test('isobar serve refuses to start, naming the damaged master.key (exit 2)', async (t) => {
  const { stateDir, manifests } = await damagedStore(t);
  const res = await run(process.execPath, [CLI, 'serve', manifests, '--state-dir', stateDir, '--lb-port-offset', '30000', '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--admin-port', '0']).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
  assert.equal(res.code, 2, res.stderr);
  const lines = res.stderr.trim().split('\n').filter((l) => l.startsWith('isobar:'));
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0]!, new RegExp(`certificate ${ARN.replace(/[/.]/g, '\\$&')} .*cannot be read from the certificate store at .*: .*master\\.key: the master key is damaged`));
  assert.doesNotMatch(res.stderr, /not in the certificate store|re-import|certs import/);
});

test('a balancer worker reading a key through a damaged master.key names it in the listener problem', async (t) => {
  const { stateDir, edge } = await damagedStore(t);
  const keys = await CertificateStore.open(stateDir, { readOnly: true });
  const rt = new BalancerRuntime({ keys });
  t.after(() => rt.close(0));
  const config: BalancerConfig = {
    loadBalancers: [
      {
        namespace: 'default',
        name: 'web',
        hostname: 'h',
        scheme: 'internal',
        listeners: [
          {
            id: 'default/web:443',
            servicePort: 443,
            bindAddress: '127.0.0.1',
            bindPort: 0,
            protocol: 'TLS',
            tls: { certificates: [edge], policy: lookupPolicy(DEFAULT_POLICY)!, alpn: null },
            targets: [],
            targetProtocol: 'TCP',
            proxyProtocol: false,
            proxyProtocolTlvs: [],
            healthCheck: { protocol: 'TCP', port: 'traffic-port', path: '/', intervalMs: 60_000, timeoutMs: 1000, healthyThreshold: 3, unhealthyThreshold: 3, successCodes: '200-399' },
            deregistrationDelayMs: 0,
            idleTimeoutMs: 350_000,
            preserveClientIp: false,
            targetSelection: 'flow-hash',
            sourceRanges: ['0.0.0.0/0', '::/0'],
          },
        ],
      },
    ],
  };
  await rt.apply(config);
  const h = rt.health().listeners['default/web:443']!;
  assert.equal(h.bound, false, 'a TLS listener never starts without its key');
  assert.equal(h.problems.length, 1);
  assert.match(h.problems[0]!, new RegExp(`cannot read the private key of ${ARN.replace(/[/.]/g, '\\$&')}: .*master\\.key: the master key is damaged`));
});
