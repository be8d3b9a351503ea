// The Gateway API through `isobar serve` with real requests: an HTTPProxy,
// an Ingress and HTTPRoutes for different hosts in one folder, served side by side by
// the proxy (a Gateway's HTTP listeners on --http-port, its HTTPS listeners
// on --https-port), with matches, header modifiers, a redirect, a rewrite,
// weights, an unresolved backend answering 500, HTTPS with the listener's
// certificate, and `isobar status -o json` showing the Gateway API arrays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { createCa } from '../support/pki.ts';
import { CLI, edgeCall, freePort, httpsGet, startServe, waitFor, type ServeProcess } from './support.ts';
import { GATEWAY_CLASS, serviceAt } from './gateway-manifests.ts';

const run = promisify(execFile);

const get = (port: number, host: string, path = '/', headers: Record<string, string> = {}, method = 'GET') => edgeCall({ port, ca: '', host, path, headers, method, plain: true });

const backendOf = (body: string): string => (JSON.parse(body) as { backend: string }).backend;

const services = (entries: [name: string, port: number][]): string => entries.map(([name, port]) => serviceAt(name, port)).join('---\n');

const GATEWAY = `${GATEWAY_CLASS}---
apiVersion: v1
kind: Namespace
metadata: {name: apps, labels: {edge: "yes"}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: contour
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {edge: "yes"}}}}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: secure.example.test
    tls: {certificateRefs: [{name: secure-cert}]}
    allowedRoutes: {namespaces: {from: All}}
`;

const ROUTES = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: apps}
spec:
  parentRefs: [{name: edge, namespace: infra, sectionName: http}]
  hostnames: [route.example.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /b}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Set, value: set}], add: [{name: X-Add, value: added}], remove: [X-Remove]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: X-Resp, value: yes}]}
    backendRefs: [{name: b, port: 80}]
  - matches: [{path: {type: Exact, value: /b/exact}, method: POST}]
    backendRefs: [{name: c, port: 80}]
  - matches: [{headers: [{name: X-Pick, value: c}]}]
    backendRefs: [{name: c, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /rw}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /inner}}}]
    backendRefs: [{name: b, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /broken}}]
    backendRefs: [{name: missing, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs: [{name: b, port: 80, weight: 1}, {name: c, port: 80, weight: 1}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: wild, namespace: apps}
spec:
  parentRefs: [{name: edge, namespace: infra, sectionName: http}]
  hostnames: ["*.wild.example.test"]
  rules: [{backendRefs: [{name: b, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: secure, namespace: apps}
spec:
  parentRefs: [{name: edge, namespace: infra, sectionName: https}]
  rules:
  - backendRefs: [{name: c, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: outsider, namespace: other}
spec:
  parentRefs: [{name: edge, namespace: infra, sectionName: http}]
  hostnames: [outsider.example.test]
  rules:
  - backendRefs: [{name: b, port: 80, namespace: apps}]
`;

const INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: apps}
spec:
  rules:
  - host: ingress.example.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: c, port: {number: 80}}}}]}
`;

const PROXY = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: app, namespace: apps}
spec:
  virtualhost: {fqdn: app.example.test}
  routes:
  - services: [{name: a, port: 80}]
`;

test('an HTTPProxy, an Ingress and HTTPRoutes for different hosts in one folder, through the proxy with real requests', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-gateway-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const ca = await createCa('gateway e2e CA');
  const leaf = await ca.issue({ dnsNames: ['secure.example.test'] });
  const a = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'a' });
  const b = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'b' });
  const c = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'c' });
  let serve: ServeProcess | undefined;
  try {
    await writeFile(join(dir, 'services.yaml'), services([['a', a.port], ['b', b.port], ['c', c.port]]));
    await writeFile(join(dir, 'gateway.yaml'), GATEWAY);
    await writeFile(
      join(dir, 'secret.yaml'),
      `apiVersion: v1\nkind: Secret\nmetadata: {name: secure-cert, namespace: infra}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n${leaf.certPem.replace(/^/gm, '    ')}\n  tls.key: |\n${leaf.keyPem.replace(/^/gm, '    ')}\n`,
    );
    await writeFile(join(dir, 'routes.yaml'), ROUTES);
    await writeFile(join(dir, 'proxy.yaml'), PROXY);
    await writeFile(join(dir, 'ingress.yaml'), INGRESS);

    const httpPort = await freePort();
    const httpsPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(httpsPort), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    await waitFor('the HTTPRoute served', async () => ((await get(httpPort, 'route.example.test', '/b')).status === 200 ? true : undefined));

    // The HTTPProxy's, the Ingress's and the HTTPRoute's hosts, side by side.
    assert.equal(backendOf((await get(httpPort, 'app.example.test')).body), 'a');
    assert.equal(backendOf((await get(httpPort, 'ingress.example.test')).body), 'c');
    const mod = await get(httpPort, 'route.example.test', '/b/x', { 'X-Remove': 'gone', 'X-Add': 'first' });
    assert.equal(mod.status, 200);
    const seen = JSON.parse(mod.body) as { backend: string; headers: Record<string, string | string[]> };
    assert.equal(seen.backend, 'b');
    assert.equal(seen.headers['x-set'], 'set');
    assert.equal(seen.headers['x-remove'], undefined);
    assert.deepEqual(String(seen.headers['x-add']).split(/,\s*/), ['first', 'added'], 'add appends to the value the client sent');
    assert.equal(mod.headers['x-resp'], 'yes');

    // PathPrefix matches whole segments; an Exact + method match outranks it.
    assert.equal((await get(httpPort, 'route.example.test', '/bee')).status, 404);
    assert.equal(backendOf((await get(httpPort, 'route.example.test', '/b/exact', {}, 'POST')).body), 'c');
    assert.equal(backendOf((await get(httpPort, 'route.example.test', '/b/exact')).body), 'b');
    assert.equal(backendOf((await get(httpPort, 'route.example.test', '/anything', { 'X-Pick': 'c' })).body), 'c');

    // Redirect and rewrite.
    const red = await get(httpPort, 'route.example.test', '/old/page?q=1');
    assert.equal(red.status, 301);
    assert.equal(red.headers.location, "http://route.example.test/new/page?q=1");
    const rw = JSON.parse((await get(httpPort, 'route.example.test', '/rw/deep')).body) as { path: string };
    assert.equal(rw.path, '/inner/deep');

    // An unresolved backendRef answers 500; weights split between two backends.
    assert.equal((await get(httpPort, 'route.example.test', '/broken')).status, 500);
    const split = new Set<string>();
    for (let i = 0; i < 40 && split.size < 2; i++) split.add(backendOf((await get(httpPort, 'route.example.test', '/split')).body));
    assert.deepEqual([...split].sort(), ['b', 'c']);

    // A Gateway API wildcard covers any number of labels.
    assert.equal(backendOf((await get(httpPort, 'a.b.wild.example.test')).body), 'b');

    // A namespace the listener's selector does not take is not served.
    assert.equal((await get(httpPort, 'outsider.example.test')).status, 404);

    // HTTPS with the listener's certificate, on the HTTPS listener only.
    const s = await httpsGet({ host: 'secure.example.test', port: httpsPort, ca: ca.certPem });
    assert.equal(s.status, 200);
    assert.equal(backendOf(s.body), 'c');
    assert.equal((await get(httpPort, 'secure.example.test')).status, 404);

    // The status report: the Gateway API arrays in the spec's shape.
    // Exit 1: the folder holds a route with an unresolved backend on purpose.
    const failed = await run(process.execPath, [CLI, 'status', dir, '-o', 'json', '--state-dir', join(work, 'state')]).then(
      () => assert.fail('status exits 1 while a route has an unresolved backend'),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(failed.code, 1);
    const stdout = failed.stdout;
    const report = JSON.parse(stdout) as {
      httpproxies: { name: string; currentStatus: string }[];
      gatewayclasses: { name: string; conditions: { type: string; status: string }[] }[];
      gateways: { name: string; listeners: { name: string; attachedRoutes: number }[] }[];
      httproutes: { namespace: string; name: string; parents: { conditions: { type: string; status: string; reason: string }[] }[] }[];
    };
    assert.equal(report.httpproxies[0]!.currentStatus, 'valid');
    assert.deepEqual(report.gatewayclasses[0]!.conditions.map((x) => `${x.type}=${x.status}`), ['Accepted=True', 'SupportedVersion=True']);
    assert.deepEqual(report.gateways[0]!.listeners.map((l) => [l.name, l.attachedRoutes]), [
      ['http', 2],
      ['https', 1],
    ]);
    const reasons = Object.fromEntries(report.httproutes.map((r) => [`${r.namespace}/${r.name}`, r.parents[0]!.conditions.map((x) => `${x.type}=${x.status}/${x.reason}`)]));
    assert.deepEqual(reasons, {
      'apps/route': ['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound'],
      'apps/secure': ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
      'apps/wild': ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
      'other/outsider': ['Accepted=False/NotAllowedByListeners', 'ResolvedRefs=False/RefNotPermitted'],
    });
    t.diagnostic('HTTPProxy and HTTPRoute hosts served side by side');
  } finally {
    await serve?.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
    await rm(work, { recursive: true, force: true });
  }
});
