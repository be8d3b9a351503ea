// `isobar explain` as a user runs it, one row per question operators ask
// ("why is this a 404?"): manifests written by the test, the command run
// through main() (and once as the real binary), the JSON answer checked.
// --admin is checked against a real admin server on 127.0.0.1 holding the
// same build, and must answer exactly as DIR does.
import { after, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCa } from '../support/pki.ts';
import { buildReport } from '../../src/edge/index.ts';
import { startAdminServer } from '../../src/admin/index.ts';
import type { Explanation } from '../../src/cli/explain-request.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const b64 = (s: string) => Buffer.from(s).toString('base64');

const SERVICES = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: apps}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: apps}
subsets: [{addresses: [{ip: 10.0.0.5}], ports: [{port: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: canary, namespace: apps}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: secure, namespace: apps, annotations: {projectcontour.io/upstream-protocol.tls: "443"}}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: secure, namespace: apps}
subsets: [{addresses: [{ip: 10.0.0.7}], ports: [{port: 443}]}]
---
apiVersion: v1
kind: Service
metadata:
  name: envoy
  namespace: projectcontour
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 8080}]
`;

const PROXIES = `
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: shop, namespace: apps}
spec:
  virtualhost: {fqdn: shop.example.test}
  routes:
  - conditions: [{prefix: /admin}, {header: {name: x-admin, present: true}}]
    services: [{name: web, port: 80}]
  - conditions: [{prefix: /search}, {queryParameter: {name: q, exact: shoes}}]
    services: [{name: web, port: 80}]
  - conditions: [{prefix: /api}]
    services: [{name: web, port: 80, weight: 90}, {name: canary, port: 80, weight: 10}]
  - conditions: [{prefix: /old}]
    requestRedirectPolicy: {hostname: new.example.test, statusCode: 302}
  - conditions: [{prefix: /}]
    services: [{name: web, port: 80}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: broken, namespace: apps}
spec:
  virtualhost: {fqdn: broken.example.test}
  routes:
  - services: [{name: missing, port: 80}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: office, namespace: apps}
spec:
  virtualhost:
    fqdn: office.example.test
    ipAllowPolicy: [{source: Remote, cidr: 10.0.0.0/8}]
    corsPolicy: {allowOrigin: [https://ui.example.test], allowMethods: [GET, POST]}
  routes:
  - conditions: [{prefix: /limited}]
    rateLimitPolicy: {local: {requests: 5, burst: 1, unit: minute, responseStatusCode: 503}}
    services: [{name: web, port: 80}]
  - services: [{name: web, port: 80}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: secure, namespace: apps}
spec:
  virtualhost: {fqdn: secure.example.test, tls: {secretName: secure-tls}}
  routes:
  - services: [{name: secure, port: 443, validation: {caSecret: backend-ca, subjectName: secure.apps.svc}}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: other, namespace: apps}
spec:
  virtualhost: {fqdn: other.example.test, tls: {secretName: other-tls}}
  routes:
  - services: [{name: web, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: apps}
spec:
  rules:
  - host: ing.example.test
    http: {paths: [{path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`;

async function folder(): Promise<{ dir: string; state: string; cleanup(): Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), 'isobar-explain-'));
  const dir = join(base, 'manifests');
  await mkdir(dir);
  const ca = await createCa();
  const tlsSecret = async (name: string, host: string) => {
    const leaf = await ca.issue({ dnsNames: [host] });
    return `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: apps}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ${b64(leaf.certPem)}\n  tls.key: ${b64(leaf.keyPem)}\n`;
  };
  const caSecret = `apiVersion: v1\nkind: Secret\nmetadata: {name: backend-ca, namespace: apps}\ndata:\n  ca.crt: ${b64(ca.certPem)}\n`;
  await writeFile(join(dir, 'services.yaml'), SERVICES);
  await writeFile(join(dir, 'proxies.yaml'), PROXIES);
  await writeFile(join(dir, 'secrets.yaml'), [await tlsSecret('secure-tls', 'secure.example.test'), await tlsSecret('other-tls', 'other.example.test'), caSecret].join('---\n'));
  return { dir, state: join(base, 'state'), cleanup: () => rm(base, { recursive: true, force: true }) };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** main() as bin/isobar.js calls it, in a worker thread of its own: the
 *  command writes to that thread's process.stdout, which can be captured
 *  there without catching the test runner's own reports in this thread. */
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).href;
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads');
  const loaded = import(${JSON.stringify(MAIN)});
  let queue = Promise.resolve();
  parentPort.on('message', ({ id, args }) => {
    queue = queue.then(async () => {
      const { main } = await loaded;
      const out = [];
      const err = [];
      const o = process.stdout.write;
      const e = process.stderr.write;
      process.stdout.write = (c) => (out.push(String(c)), true);
      process.stderr.write = (c) => (err.push(String(c)), true);
      let code;
      try {
        code = await main(args);
      } catch (x) {
        err.push(String(x && x.stack || x));
        code = -1;
      } finally {
        process.stdout.write = o;
        process.stderr.write = e;
      }
      parentPort.postMessage({ id, code, stdout: out.join(''), stderr: err.join('') });
    });
  });`,
  { eval: true, env: { ...process.env, ISOBAR_STATE_DIR: '' } },
);
worker.unref();
after(() => worker.terminate());
let nextId = 0;
const waiting = new Map<number, (r: Run) => void>();
worker.on('message', (m: Run & { id: number }) => {
  waiting.get(m.id)?.(m);
  waiting.delete(m.id);
});
function isobar(args: string[]): Promise<Run> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker.postMessage({ id, args });
  });
}

interface Row {
  name: string;
  args: string[];
  check(e: Explanation): void;
}

const rows: Row[] = [
  {
    name: 'routes passed over say which condition did not hold; the catch-all serves',
    args: ['--host', 'shop.example.test', '--path', '/admin/users'],
    check(e) {
      assert.equal(e.listener?.name, 'http');
      assert.equal(e.virtualHost?.fqdn, 'shop.example.test');
      assert.deepEqual(
        e.passedOver.map((p) => [p.index, p.failed]),
        [
          // Contour's precedence, not the manifest's order
          [1, 'path "/admin/users" does not start with "/search"'],
          [2, 'path "/admin/users" does not start with "/old"'],
          [3, 'path "/admin/users" does not start with "/api"'],
          [4, 'header x-admin is absent'],
        ],
      );
      assert.equal(e.route?.index, 5);
      assert.equal(e.route?.conditions, 'prefix /');
      assert.deepEqual(e.upstream?.clusters.map((c) => [c.service, c.share, c.endpoints]), [['apps/web:80', 100, ['10.0.0.5:8080']]]);
      assert.equal(e.reply, undefined);
    },
  },
  {
    name: 'a header condition that holds picks its route',
    args: ['--host', 'SHOP.example.test:8080', '--path', '/admin', '--header', 'X-Admin=yes'],
    check(e) {
      assert.equal(e.request.host, 'shop.example.test');
      assert.equal(e.passedOver.length, 3);
      assert.equal(e.route?.index, 4);
      assert.equal(e.route?.conditions, 'prefix /admin, header x-admin present');
    },
  },
  {
    name: 'a query parameter with another value is named with the value it had',
    args: ['--host', 'shop.example.test', '--path', '/search?q=boots'],
    check(e) {
      assert.equal(e.passedOver[0]?.failed, 'query parameter q is "boots", which is not "shoes"');
      assert.equal(e.route?.index, 5);
    },
  },
  {
    name: 'weighted clusters: each share, and no endpoint on the canary',
    args: ['--host', 'shop.example.test', '--path', '/api/v1'],
    check(e) {
      assert.deepEqual(e.upstream?.clusters.map((c) => [c.service, c.share, c.endpoints.length]), [['apps/web:80', 90, 1], ['apps/canary:80', 10, 0]]);
      assert.equal(e.reply, undefined, 'one cluster with endpoints still serves');
    },
  },
  {
    name: 'a redirect route answers with its Location',
    args: ['--host', 'shop.example.test', '--path', '/old/page?x=1'],
    check(e) {
      assert.deepEqual(e.reply && [e.reply.status, e.reply.location], [302, 'http://new.example.test/old/page?x=1']);
    },
  },
  {
    name: 'an unknown host is 404 (NR), and the note says no HTTPProxy has it',
    args: ['--host', 'nobody.example.test'],
    check(e) {
      assert.deepEqual(e.reply && [e.reply.status, e.reply.flag], [404, 'NR']);
      assert.equal(e.virtualHost, undefined);
      assert.deepEqual(e.notes, ['no valid HTTPProxy has fqdn nobody.example.test']);
    },
  },
  {
    name: "an invalid HTTPProxy's fqdn answers 503, with its status as the reason",
    args: ['--host', 'broken.example.test'],
    check(e) {
      assert.equal(e.reply?.status, 503);
      assert.match(e.reply!.reason, /HTTPProxy apps\/broken is invalid: .*service "apps\/missing" not found/);
    },
  },
  {
    name: 'a TLS virtual host on the plain listener: 301 to https',
    args: ['--host', 'secure.example.test', '--path', '/a?b=c'],
    check(e) {
      assert.deepEqual(e.reply && [e.reply.status, e.reply.location], [301, 'https://secure.example.test/a?b=c']);
    },
  },
  {
    name: 'over TLS: the SNI picks the virtual host, and upstream TLS is validated',
    args: ['--host', 'secure.example.test', '--sni', 'secure.example.test'],
    check(e) {
      assert.equal(e.listener?.name, 'https');
      assert.equal(e.tls?.choice, 'virtual host secure.example.test');
      assert.match(e.tls!.detail, /terminated with Secret apps\/secure-tls, TLS 1\.2–1\.3/);
      const c = e.upstream!.clusters[0]!;
      assert.equal(c.protocol, 'HTTP/1.1 over TLS');
      assert.deepEqual(c.tls?.validation, { caBundle: 'apps/backend-ca', subjectNames: ['secure.apps.svc'] });
      assert.equal(e.reply, undefined);
    },
  },
  {
    name: 'a Host other than the SNI chose is 421',
    args: ['--host', 'other.example.test', '--sni', 'secure.example.test'],
    check(e) {
      assert.deepEqual(e.reply && [e.reply.status, e.reply.flag], [421, 'NR']);
    },
  },
  {
    name: 'an SNI no virtual host has, and no fallback certificate: closed in the handshake',
    args: ['--host', 'x.example.test', '--sni', 'x.example.test'],
    check(e) {
      assert.equal(e.tls?.choice, 'none');
      assert.match(e.connection ?? '', /closed during the TLS handshake/);
      assert.equal(e.reply, undefined);
    },
  },
  {
    name: 'the IP filter refuses a client outside its ranges with 403',
    args: ['--host', 'office.example.test', '--client-ip', '192.0.2.9'],
    check(e) {
      assert.deepEqual(e.filters.map((f) => f.name), ['cors', 'rbac']);
      assert.equal(e.filters[1]!.verdict, 'client 192.0.2.9 refused');
      assert.deepEqual(e.reply && [e.reply.status, e.reply.body], [403, 'RBAC: access denied']);
    },
  },
  {
    name: 'the IP filter lets a client inside them through to the cluster',
    args: ['--host', 'office.example.test', '--client-ip', '10.20.30.40'],
    check(e) {
      assert.equal(e.filters[1]!.verdict, 'client 10.20.30.40 allowed');
      assert.equal(e.reply, undefined);
      assert.equal(e.upstream?.clusters[0]?.service, 'apps/web:80');
    },
  },
  {
    name: "a route's local rate limit runs after CORS and before the IP filter",
    args: ['--host', 'office.example.test', '--path', '/limited', '--client-ip', '10.0.0.1'],
    check(e) {
      assert.deepEqual(e.filters.map((f) => f.name), ['cors', 'local_ratelimit', 'rbac']);
      assert.equal(e.filters[1]!.config, "6 tokens, 5 more every 60 s (the route's, per proxy worker)");
      assert.equal(e.filters[1]!.verdict, 'passes while the bucket has a token, else 503 local_rate_limited');
      assert.equal(e.reply, undefined);
    },
  },
  {
    name: 'a CORS preflight from an allowed origin is answered by the proxy',
    args: ['--host', 'office.example.test', '--method', 'options', '--header', 'Origin=https://ui.example.test', '--header', 'Access-Control-Request-Method=POST', '--client-ip', '10.0.0.1'],
    check(e) {
      assert.equal(e.request.method, 'OPTIONS');
      assert.equal(e.filters[0]!.verdict, 'preflight from an allowed origin: answered here');
      assert.equal(e.reply?.status, 200);
    },
  },
  {
    name: 'an Ingress route says it comes from the Ingress, not from the HTTPProxy of the same name',
    args: ['--host', 'ing.example.test', '--path', '/api/items'],
    check(e) {
      assert.equal(e.route?.from, 'Ingress apps/shop');
      assert.equal(e.route?.conditions, 'prefix /api (whole segments)');
      assert.deepEqual(e.virtualHost?.httpproxies, []);
    },
  },
  {
    name: 'an Ingress Prefix path matches whole segments: /apix is passed over and says why',
    args: ['--host', 'ing.example.test', '--path', '/apix'],
    check(e) {
      assert.equal(e.route, undefined);
      assert.equal(e.passedOver?.[0]?.failed, 'path "/apix" is neither "/api" nor under "/api/"');
    },
  },
  {
    name: "through the load balancer's port: its listener, then the proxy with PROXY v2",
    args: ['--host', 'shop.example.test', '--port', '80'],
    check(e) {
      assert.equal(e.loadBalancer?.listener, 'projectcontour/envoy:80');
      assert.equal(e.loadBalancer?.forwardsTo, 'proxy http');
      assert.deepEqual(e.listener, { name: 'http', tls: false, proxyProtocol: true });
      assert.equal(e.route?.index, 5);
    },
  },
];

test('explain: one row per question, from DIR and from a running admin server alike', async (t) => {
  const f = await folder();
  t.after(f.cleanup);
  const report = await buildReport(f.dir, { stateDir: f.state });
  const admin = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
    report: async () => report.status,
    edge: () => ({
      version: 1,
      proxyConfig: report.proxyConfig,
      balancerConfig: report.balancerConfig,
      proxyListeners: [
        { name: 'http', address: '0.0.0.0', port: 8080, tls: false, proxyProtocol: false },
        { name: 'https', address: '0.0.0.0', port: 8443, tls: true, proxyProtocol: false },
      ],
    }),
  });
  t.after(() => admin.close());
  for (const row of rows) {
    await t.test(row.name, async () => {
      const fromDir = await isobar(['explain', f.dir, '--state-dir', f.state, '-o', 'json', ...row.args]);
      assert.equal(fromDir.code, 0, fromDir.stderr);
      const e = JSON.parse(fromDir.stdout) as Explanation;
      row.check(e);
      const fromAdmin = await isobar(['explain', '--admin', `http://127.0.0.1:${admin.port}`, '-o', 'json', ...row.args]);
      assert.equal(fromAdmin.code, 0, fromAdmin.stderr);
      assert.deepEqual(JSON.parse(fromAdmin.stdout), e, 'a running serve answers as its manifests do');
    });
  }
});

test('explain prints one labelled line per step for people', async (t) => {
  const f = await folder();
  t.after(f.cleanup);
  const r = await isobar(['explain', f.dir, '--state-dir', f.state, '--host', 'shop.example.test', '--path', '/api']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'request     GET http://shop.example.test/api from 127.0.0.1');
  assert.ok(lines.includes('passed over #1 prefix /search, query q exact "shoes" (apps/shop): path "/api" does not start with "/search"'), r.stdout);
  assert.ok(lines.some((l) => l.startsWith('route       #3 prefix /api (apps/shop): forward to 2 clusters')), r.stdout);
  assert.ok(lines.some((l) => /^upstream {4}90% apps\/web:80 \(cluster .+\): HTTP\/1\.1, RoundRobin$/.test(l)), r.stdout);
  assert.equal(lines.at(-1), 'outcome     forwarded to one of these clusters, by weight');
});

test('explain: bad usage exits 2 with one line saying what is wrong', async (t) => {
  const f = await folder();
  t.after(f.cleanup);
  const cases: [string[], RegExp][] = [
    [['explain', f.dir, '--host', 'a.test', '--port', '9999'], /nothing listens on port 9999; the ports are: 80 \(load balancer projectcontour\/envoy:80\), 8080 \(proxy http\), 8443 \(proxy https\)/],
    [['explain', f.dir, '--host', 'a.test', '--header', 'no-value'], /"no-value" is not a header \(use NAME=VALUE/],
    [['explain', f.dir, '--host', 'a.test', '--client-ip', '10.0.0'], /"10\.0\.0" is not an IP address/],
    [['explain', f.dir, '--host', 'a.test', '--path', 'api'], /"api" is not a path/],
    [['explain', f.dir], /required option '--host <host>' not specified/],
    [['explain', '--host', 'a.test'], /give the manifests folder DIR, or --admin URL/],
    [['explain', f.dir, '--admin', 'http://127.0.0.1:1', '--host', 'a.test'], /give either DIR or --admin, not both/],
    [['explain', '--admin', 'http://127.0.0.1:1', '--host', 'a.test'], /cannot reach the admin server at http:\/\/127\.0\.0\.1:1/],
    [['explain', join(f.dir, 'nope'), '--host', 'a.test'], /nope/],
  ];
  for (const [args, message] of cases) {
    const r = await isobar(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('explain as the real binary: exit 0 and the answer on stdout', async (t) => {
  const f = await folder();
  t.after(f.cleanup);
  const r = await new Promise<Run>((resolve) => {
    execFile(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'bin/isobar.js'), 'explain', f.dir, '--state-dir', f.state, '--host', 'nobody.example.test', '-o', 'json'], { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as Explanation).reply?.status, 404);
});
