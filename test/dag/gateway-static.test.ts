// Static provisioning: Contour's `gateway.gatewayRef` serves the one Gateway
// it names, with that Gateway's class whatever the class's controllerName
// (Contour's cache keeps only those two, internal/dag/cache.go); the config
// is Contour's own examples/gateway/03-contour-config.yaml.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../../src/dag/index.ts';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import { endpoints, service } from './fixtures.ts';
import { OK_LISTENER, gateway, gatewayClass, gwSnapshot, http, httpRoute, listenerLine, parentLines, ROUTE_OK } from './gateway-fixtures.ts';

// examples/gateway/03-contour-config.yaml at Contour 31c4bb38, byte for byte.
const CONTOUR_STATIC_CONFIG = `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: contour
  namespace: projectcontour
data:
  contour.yaml: |
    gateway:
      gatewayRef:
        name: contour
        namespace: projectcontour
`;

const loaded = parseConfig(CONTOUR_STATIC_CONFIG, 'contour-config.yaml');
const backend = [service('s'), endpoints('s', ['127.0.0.1'], 8080)];
const routeTo = (name: string, gw: string) => httpRoute(name, { parentRefs: [{ name: gw, namespace: 'projectcontour' }], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] });

test("Contour's static-provisioning config loads without a warning and names the Gateway", () => {
  assert.deepEqual(loaded.warnings, []);
  assert.deepEqual(loaded.config.gatewayRef, { namespace: 'projectcontour', name: 'contour' });
});

test('with gatewayRef only the Gateway named is served: another Gateway of the same class, and its routes, get no status', () => {
  const r = build(
    gwSnapshot([
      gatewayClass(),
      gateway('contour', [http()], { namespace: 'projectcontour' }),
      gateway('other', [http()], { namespace: 'projectcontour' }),
      routeTo('to-contour', 'contour'),
      routeTo('to-other', 'other'),
      ...backend,
    ]),
    loaded.config,
  );
  const api = r.gatewayApi!;
  assert.deepEqual(api.gateways.map((g) => `${g.namespace}/${g.name}`), ['projectcontour/contour']);
  assert.deepEqual(api.gateways[0]!.listeners.map(listenerLine), [OK_LISTENER(1)]);
  assert.deepEqual(api.httproutes.map((x) => [x.name, parentLines(x)]), [['to-contour', [`projectcontour/contour: ${ROUTE_OK}`]]]);
  assert.deepEqual(api.gatewayclasses.map((c) => c.name), ['contour']);
});

test("with gatewayRef the Gateway's class is used whatever its controllerName, and that other controller's class gets no status from isobar", () => {
  const r = build(
    gwSnapshot([
      gatewayClass('provisioned', { controllerName: 'projectcontour.io/gateway-provisioner', parametersRef: { group: 'projectcontour.io', kind: 'ContourDeployment', name: 'params' } }),
      gateway('contour', [http()], { namespace: 'projectcontour', className: 'provisioned' }),
      routeTo('web', 'contour'),
      ...backend,
    ]),
    loaded.config,
  );
  const api = r.gatewayApi!;
  assert.deepEqual(api.gatewayclasses, []);
  assert.deepEqual(api.gateways.map((g) => g.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)), [['Accepted=True/Accepted', 'Programmed=True/Programmed']]);
  assert.deepEqual(api.httproutes.map(parentLines), [[`projectcontour/contour: ${ROUTE_OK}`]]);
  assert.ok(r.proxyConfig.httpVirtualHosts.length > 0, 'the Gateway is served');
});

test('with gatewayRef naming a Gateway that does not exist (or whose class does not), no Gateway is served', () => {
  for (const objects of [
    [gatewayClass(), gateway('other', [http()], { namespace: 'projectcontour' }), routeTo('to-other', 'other'), ...backend],
    [gateway('contour', [http()], { namespace: 'projectcontour', className: 'missing' }), routeTo('web', 'contour'), ...backend],
  ]) {
    const api = build(gwSnapshot(objects), loaded.config).gatewayApi!;
    assert.deepEqual(api.gateways, []);
    assert.deepEqual(api.httproutes, []);
  }
});

test('a gatewayRef without a namespace or a name, or with another key, is refused with the key named', () => {
  for (const [body, message] of [
    ['gateway:\n  gatewayRef: {name: contour}\n', 'gateway.gatewayRef: invalid Gateway parameters specified: gateway ref namespace and name must be provided'],
    ['gateway:\n  gatewayRef: {namespace: projectcontour, name: ""}\n', 'gateway.gatewayRef: invalid Gateway parameters specified: gateway ref namespace and name must be provided'],
    ['gateway:\n  gatewayRef: contour\n', 'gateway.gatewayRef: invalid Gateway parameters specified: gateway ref namespace and name must be provided (a mapping, found a string ("contour"))'],
    ['gateway:\n  gatewayRef: {namespace: projectcontour, name: contour, kind: Gateway}\n', 'gateway.gatewayRef: unknown key "kind" (namespace, name)'],
    ['gateway:\n  gatewayRef: {namespace: Project_Contour, name: contour}\n', 'gateway.gatewayRef: must be a Kubernetes name'],
    ['gateway:\n  controllerName: projectcontour.io/gateway-controller\n', 'unknown key "gateway.controllerName"'],
  ] as const) {
    assert.throws(
      () => parseConfig(body, 'isobar.yaml'),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.message.startsWith(message)),
      body,
    );
  }
});
