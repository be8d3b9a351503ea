// The workers' unbound port listeners laid over the Gateway statuses: which
// Gateway listener a port listener serves (Contour's names: kind and port;
// the proxy's own listeners are not port listeners), the Programmed
// condition replaced, everything else untouched, and malformed Gateways
// (as a folder may hold) read without throwing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portListenersOf, withPortProblems } from '../../src/serve/port-problems.ts';
import type { StatusReport } from '../../src/status/index.ts';

const gw = (name: string, listeners: unknown) => ({ metadata: { namespace: 'apps', name }, spec: { listeners } });
const PORTS = [
  { name: 'http-81', port: 81, bindPort: 8081, protocol: 'http' as const },
  { name: 'https-444', port: 444, bindPort: 8444, protocol: 'https' as const },
  { name: 'tcp-5000', port: 5000, bindPort: 13000, protocol: 'tcp' as const },
];

test('each Gateway listener maps to the port listener of its kind and port; the proxy\'s own and malformed ones to none', () => {
  const map = portListenersOf(
    [
      gw('a', [
        { name: 'own', port: 80, protocol: 'HTTP' },
        { name: 'second', port: 81, protocol: 'HTTP' },
        { name: 'tls', port: 444, protocol: 'TLS' },
        { name: 'tcp', port: 5000, protocol: 'TCP' },
        { name: 'udp', port: 5000, protocol: 'UDP' },
        { name: 'bad', port: '81', protocol: 'HTTP' },
        null,
        7,
      ]),
      gw('b', 'not a list'),
      { metadata: { name: 'c' }, spec: { listeners: [{ name: 'x', port: 81, protocol: 'HTTP' }] } },
      null,
      'junk',
    ],
    PORTS,
  );
  assert.deepEqual([...map], [
    ['apps/a/second', 'http-81'],
    ['apps/a/tls', 'https-444'],
    ['apps/a/tcp', 'tcp-5000'],
    ['default/c/x', 'http-81'],
  ]);
  assert.equal(portListenersOf([gw('a', [{ name: 'x', port: 81, protocol: 'HTTP' }])], []).size, 0);
});

test('the listeners of an unbound port listener say Programmed False, PortUnavailable; the others and the rest of the report are the same objects', () => {
  const cond = (type: string) => ({ type, status: 'True' as const, reason: type, message: '', observedGeneration: 2 });
  const listener = (name: string) => ({ name, supportedKinds: [], attachedRoutes: 1, conditions: [cond('Accepted'), cond('Programmed'), cond('ResolvedRefs'), cond('Conflicted')] });
  const report: StatusReport = {
    httpproxies: [],
    services: [],
    gateways: [
      { namespace: 'apps', name: 'a', addresses: [], conditions: [cond('Accepted')], listeners: [listener('own'), listener('tcp')] },
      { namespace: 'apps', name: 'other', addresses: [], conditions: [], listeners: [listener('own')] },
    ],
  };
  const servedBy = new Map([['apps/a/tcp', 'tcp-5000']]);
  assert.equal(withPortProblems(report, servedBy, {}), report);
  const out = withPortProblems(report, servedBy, { 'tcp-5000': 'port 5000 (bound at 13000): address already in use' });
  const tcp = out.gateways![0]!.listeners[1]!;
  assert.deepEqual(tcp.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Accepted=True/Accepted', 'Programmed=False/PortUnavailable', 'ResolvedRefs=True/ResolvedRefs', 'Conflicted=True/Conflicted']);
  assert.equal(tcp.conditions[1]!.message, 'the proxy could not open port listener tcp-5000: port 5000 (bound at 13000): address already in use');
  assert.equal(tcp.conditions[1]!.observedGeneration, 2);
  assert.equal(out.gateways![0]!.listeners[0], report.gateways![0]!.listeners[0]);
  assert.equal(out.gateways![1], report.gateways![1]);
  assert.equal(report.gateways![0]!.listeners[1]!.conditions[1]!.status, 'True', 'the report built is not changed');
});
