// `isobar status`, `check` and `config` as a user runs them: the real binary
// in a child process on manifest folders written by the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { createCa } from '../support/pki.ts';
import type { StatusReport } from '../../src/status/index.ts';
import { main } from '../../src/cli/main.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules/.bin/node');
const BIN = join(ROOT, 'bin/isobar.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function isobar(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(NODE, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ISOBAR_STATE_DIR: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The same command in this process (main() as bin/isobar.js calls it),
 *  for the variants: the child-process tests cover the real binary. */
let queue: Promise<unknown> = Promise.resolve();
function inProcess(args: string[]): Promise<Run> {
  // one at a time: they share process.stdout
  const run = queue.then(() => inProcessNow(args));
  queue = run.catch(() => undefined);
  return run;
}

async function inProcessNow(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const capture = (sink: string[]) => ((chunk: string | Uint8Array): boolean => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  const prevState = process.env['ISOBAR_STATE_DIR'];
  process.env['ISOBAR_STATE_DIR'] = '';
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
    if (prevState === undefined) delete process.env['ISOBAR_STATE_DIR'];
    else process.env['ISOBAR_STATE_DIR'] = prevState;
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

const VALID = `
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: web, namespace: b-app}
spec:
  virtualhost:
    fqdn: web.example.com
    tls: {secretName: web-tls}
  routes:
  - conditions: [{prefix: /}]
    services: [{name: web, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: b-app}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: api, namespace: a-app}
spec:
  virtualhost: {fqdn: api.example.com}
  routes:
  - services: [{name: api, port: 8080}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: aaa, namespace: b-app}
spec:
  virtualhost: {fqdn: aaa.example.com}
  routes:
  - services: [{name: web, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: a-app}
spec:
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: lb
  namespace: edge
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip
spec:
  type: LoadBalancer
  ports: [{port: 5432, targetPort: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: lb, namespace: edge}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{port: 5432}]}]
`;

async function workspace(t: TestContext, files: Record<string, string>): Promise<{ dir: string; state: string; base: string }> {
  const base = await mkdtemp(join(tmpdir(), 'isobar-cli-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'manifests');
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
  await mkdir(dir, { recursive: true });
  return { dir, state: join(base, 'state'), base };
}

async function validFolder(t: TestContext): Promise<{ dir: string; state: string; base: string; keyPem: string }> {
  const ca = await createCa();
  const leaf = await ca.issue({ dnsNames: ['web.example.com'] });
  const secret = `apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls, namespace: b-app}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ${b64(leaf.certPem)}\n  tls.key: ${b64(leaf.keyPem)}\n`;
  const ws = await workspace(t, { 'app.yaml': VALID, 'secrets/web-tls.yaml': secret });
  return { ...ws, keyPem: leaf.keyPem };
}

test('status -o json: exactly the contract keys, sorted by namespace then name, exit 0 when all valid', async (t) => {
  const { dir, state } = await validFolder(t);
  const r = await isobar(['status', dir, '-o', 'json', '--state-dir', state]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  const report = JSON.parse(r.stdout) as StatusReport;
  assert.deepEqual(Object.keys(report), ['httpproxies', 'services']);
  assert.deepEqual(report.httpproxies.map((p) => `${p.namespace}/${p.name}`), ['a-app/api', 'b-app/aaa', 'b-app/web']);
  for (const p of report.httpproxies) {
    assert.deepEqual(Object.keys(p), ['namespace', 'name', 'fqdn', 'currentStatus', 'description', 'conditions']);
    assert.equal(p.currentStatus, 'valid');
    assert.equal(p.description, 'Valid HTTPProxy');
    assert.equal(p.conditions[0]!.type, 'Valid');
    assert.equal(p.conditions[0]!.observedGeneration, 1);
  }
  assert.equal(report.httpproxies[2]!.fqdn, 'web.example.com');
  assert.deepEqual(report.services.map((s) => `${s.namespace}/${s.name}`), ['edge/lb']);
  assert.deepEqual(Object.keys(report.services[0]!), ['namespace', 'name', 'listeners', 'ingress', 'problems']);
  assert.equal(report.services[0]!.listeners[0]!.port, 5432);
  assert.deepEqual(report.services[0]!.problems, []);
});

test('status -o yaml is the same report; -o table looks like kubectl get', async (t) => {
  const { dir, state } = await validFolder(t);
  const [j, y, table] = await Promise.all([
    inProcess(['status', dir, '-o', 'json', '--state-dir', state]),
    inProcess(['status', dir, '-o', 'yaml', '--state-dir', state]),
    isobar(['status', dir, '--state-dir', state]),
  ]);
  const json = JSON.parse(j.stdout) as unknown;
  assert.equal(y.code, 0);
  assert.deepEqual(parseYaml(y.stdout), json);
  assert.equal(table.code, 0);
  const lines = table.stdout.split('\n');
  assert.match(lines[0]!, /^NAMESPACE\s{3,}NAME\s{3,}FQDN\s{3,}TLS SECRET\s{3,}STATUS\s{3,}STATUS DESCRIPTION$/);
  assert.match(lines[1]!, /^a-app\s+api\s+api\.example\.com\s+valid\s+Valid HTTPProxy$/);
  assert.match(lines[3]!, /^b-app\s+web\s+web\.example\.com\s+web-tls\s+valid\s+Valid HTTPProxy$/);
  const svcHeader = lines.findIndex((l) => l.startsWith('NAMESPACE') && l.includes('EXTERNAL-IP'));
  assert.ok(svcHeader > 0, table.stdout);
  assert.match(lines[svcHeader]!, /^NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)$/);
  assert.match(lines[svcHeader + 1]!, /^edge\s+lb\s+LoadBalancer\s+<none>\s+k8s-edge-lb-\S+\s+5432\/TCP$/);
  assert.ok(!json || !JSON.stringify(json).includes('tlsSecret'), 'tlsSecret is for the table only');
});

test('check: exit 0 and a summary when everything is valid', async (t) => {
  const { dir, state } = await validFolder(t);
  const r = await inProcess(['check', dir, '--state-dir', state]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok: 3 HTTPProxies valid, 1 load balancer Service\(s\) without errors, \d+ objects loaded\n$/);
});

test('invalid, orphaned, schema-rejected objects and a broken file: exit 1, problems named, the rest still reported', async (t) => {
  const { dir, state } = await workspace(t, {
    'app.yaml': VALID.replace('name: api, port: 8080', 'name: nope, port: 8080'),
    'child.yaml': 'apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: lonely, namespace: b-app}\nspec:\n  routes:\n  - services: [{name: web, port: 80}]\n',
    'sub/bad-port.yaml': 'apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: badport, namespace: c-app}\nspec:\n  virtualhost: {fqdn: bad.example.com}\n  routes:\n  - services:\n    - name: web\n      port: 70000\n',
    'broken.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: x\n',
    'secrets.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls, namespace: b-app}\ntype: kubernetes.io/tls\ndata: {tls.crt: "%%%", tls.key: eA==}\n',
  });
  const [s, c] = await Promise.all([isobar(['status', dir, '-o', 'json', '--state-dir', state]), inProcess(['check', dir, '--state-dir', state])]);
  assert.equal(s.code, 1);
  const report = JSON.parse(s.stdout) as StatusReport;
  const by = Object.fromEntries(report.httpproxies.map((p) => [`${p.namespace}/${p.name}`, p]));
  assert.deepEqual(Object.keys(by), ['a-app/api', 'b-app/aaa', 'b-app/lonely', 'b-app/web', 'c-app/badport']);
  assert.equal(by['a-app/api']!.currentStatus, 'invalid');
  assert.match(by['a-app/api']!.description, /service "nope"/);
  assert.equal(by['b-app/lonely']!.currentStatus, 'orphaned');
  assert.equal(by['b-app/aaa']!.currentStatus, 'valid');
  assert.equal(by['c-app/badport']!.currentStatus, 'invalid');
  assert.match(by['c-app/badport']!.description, /spec\.routes\[0\]\.services\[0\]\.port/);
  // files are named under DIR as given on the command line
  const lines = s.stderr.split('\n').filter(Boolean);
  assert.ok(lines.every((l) => l.startsWith(`${dir}/`)), s.stderr);
  const stderr = lines.map((l) => l.slice(dir.length + 1));
  assert.ok(stderr.some((l) => /^broken\.yaml:\d+:\d+: invalid YAML/.test(l)), s.stderr);
  assert.ok(stderr.includes('sub/bad-port.yaml:9: HTTPProxy c-app/badport: spec.routes[0].services[0].port: must be <= 65535'), s.stderr);
  assert.ok(stderr.some((l) => l.startsWith('secrets.yaml:5: Secret b-app/web-tls: data[tls.crt]: illegal base64 data')), s.stderr);

  assert.equal(c.code, 1);
  const out = c.stdout.split('\n');
  assert.ok(out.some((l) => l.startsWith('HTTPProxy a-app/api: invalid: ')), c.stdout);
  assert.ok(out.includes('HTTPProxy b-app/lonely: orphaned: this HTTPProxy is not part of a delegation chain from a root HTTPProxy'), c.stdout);
  assert.ok(out.some((l) => /^check failed: \d+ of 5 HTTPProxies invalid or orphaned, 0 Service error\(s\), 3 load error\(s\)$/.test(l)), c.stdout);
});

test('an invalid ExtensionService alone makes check fail, and the summary counts it', async (t) => {
  // Contour's examples/ratelimit/03-ratelimit-extsvc.yaml without its Service.
  const { dir, state } = await workspace(t, {
    'extsvc.yaml': 'apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\nmetadata: {name: ratelimit, namespace: projectcontour}\nspec:\n  protocol: h2c\n  services: [{name: ratelimit, port: 8081}]\n',
  });
  const c = await inProcess(['check', dir, '--state-dir', state]);
  assert.equal(c.code, 1);
  assert.match(c.stdout, /^ExtensionService projectcontour\/ratelimit: invalid: /m);
  assert.match(c.stdout, /check failed: 0 of 0 HTTPProxies invalid or orphaned, 0 Service error\(s\), 1 ExtensionService error\(s\), 0 load error\(s\)/);
});

test('a load error alone makes check fail', async (t) => {
  const { dir, state } = await workspace(t, { 'a.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n', 'b.json': '{"kind": ' });
  const c = await inProcess(['check', dir, '--state-dir', state]);
  assert.equal(c.code, 1);
  assert.ok(c.stderr.startsWith(`${dir}/b.json:1:`), c.stderr);
  assert.match(c.stderr.slice(dir.length + 1), /^b\.json:1:\d+: invalid JSON: [^\n]+\n$/);
  assert.match(c.stdout, /check failed: 0 of 0 HTTPProxies invalid or orphaned, 0 Service error\(s\), 1 load error\(s\)/);
});

test('exit 2: missing folder, a file instead of a folder, bad config file, unknown output format, missing argument', async (t) => {
  const { dir, base, state } = await validFolder(t);
  await writeFile(join(base, 'isobar.yaml'), 'tls:\n  envoy-client-cert: {name: a, namespace: b}\n');
  const [missing, notDir, badConfig, missingConfig, badFormat, noArg] = await Promise.all([
    isobar(['status', join(base, 'nope'), '-o', 'json']),
    inProcess(['check', join(dir, 'app.yaml')]),
    isobar(['status', dir, '--config', join(base, 'isobar.yaml'), '--state-dir', state]),
    inProcess(['check', dir, '--config', join(base, 'none.yaml'), '--state-dir', state]),
    inProcess(['status', dir, '-o', 'xml']),
    inProcess(['check']),
  ]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /cannot read manifests folder .*nope: no such file or folder/);
  assert.equal(notDir.code, 2);
  assert.match(notDir.stderr, /is not a folder/);
  assert.equal(badConfig.code, 2);
  assert.match(badConfig.stderr, /isobar\.yaml:2: unknown key "tls\.envoy-client-cert": did you mean "tls\.envoy-client-certificate"\?/);
  assert.equal(missingConfig.code, 2);
  assert.match(missingConfig.stderr, /cannot read config file: no such file/);
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.stderr, /Allowed choices are table, json, yaml/);
  assert.equal(noArg.code, 2);
});

test('the config file is used: envoy client certificate missing makes every proxy invalid', async (t) => {
  const { dir, base, state } = await validFolder(t);
  await writeFile(join(base, 'isobar.yaml'), 'tls:\n  envoy-client-certificate: {name: envoy-client, namespace: projectcontour}\n');
  const r = await inProcess(['status', dir, '-o', 'json', '--config', join(base, 'isobar.yaml'), '--state-dir', state]);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as StatusReport;
  assert.ok(report.httpproxies.every((p) => p.currentStatus === 'invalid'), r.stdout);
  assert.match(report.httpproxies[0]!.conditions[0]!.errors![0]!.message, /tls\.envoy-client-certificate Secret "projectcontour\/envoy-client" is invalid/);
});

test('config prints the ProxyConfig with private keys redacted; -o balancer prints the BalancerConfig', async (t) => {
  const { dir, state, keyPem } = await validFolder(t);
  const [r, b] = await Promise.all([isobar(['config', dir, '--state-dir', state]), inProcess(['config', dir, '-o', 'balancer', '--state-dir', state])]);
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(r.stdout) as { secrets: { id: string; certPem: string; keyPem: string }[]; httpsVirtualHosts: unknown[] };
  assert.deepEqual(cfg.secrets.map((s) => [s.id, s.keyPem]), [['b-app/web-tls', '[redacted]']]);
  assert.match(cfg.secrets[0]!.certPem, /BEGIN CERTIFICATE/);
  assert.ok(!r.stdout.includes('PRIVATE KEY'));
  assert.ok(!r.stdout.includes(keyPem.split('\n')[1]!), 'no line of the key is printed');
  assert.equal(b.code, 0, b.stderr);
  assert.ok(!b.stdout.includes('PRIVATE KEY'));
  assert.ok(JSON.stringify(JSON.parse(b.stdout)).includes('5432'));
});


test('check fails closed: a global rate limit with no rate-limit service to enforce it and a 1 MiB fqdn make it exit 1, naming the field', async (t) => {
  const { dir, state } = await workspace(t, {
    'limited.yaml':
      'apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: limited, namespace: a-app}\nspec:\n  virtualhost:\n    fqdn: limited.example.com\n    rateLimitPolicy: {global: {descriptors: [{entries: [{genericKey: {value: a}}]}]}}\n  routes:\n  - services: [{name: web, port: 80}]\n',
    'huge.yaml': `apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: huge, namespace: a-app}\nspec:\n  virtualhost:\n    fqdn: ${'a'.repeat(1 << 20)}\n  routes:\n  - services: [{name: web, port: 80}]\n`,
  });
  const c = await inProcess(['check', dir, '--state-dir', state]);
  assert.equal(c.code, 1);
  const out = c.stdout.split('\n');
  assert.ok(
    out.includes("HTTPProxy a-app/limited: invalid: Spec.VirtualHost.RateLimitPolicy is invalid: global rate limit descriptors need the config file's rateLimitService.extensionService (isobar does not serve a limit it cannot enforce)"),
    c.stdout,
  );
  assert.ok(out.some((l) => l.startsWith('HTTPProxy a-app/huge: invalid: spec.virtualhost.fqdn: must be at most 253 characters long')), c.stdout);
  assert.ok(c.stdout.length + c.stderr.length < 20_000, 'the megabyte is not echoed');
});
