// Which Ingresses isobar serves: Contour's class rules (annotation first,
// then spec.ingressClassName; "contour" or none by default; the
// configured ingress-class-name otherwise), and IngressClass objects:
// controller projectcontour.io/ingress-controller claims a class name,
// another controller disowns it, and the default class covers Ingresses
// without one.
import assert from 'node:assert/strict';
import { config, endpoints, ingress, ingressClass, root, rule, service } from './fixtures.ts';
import { runIngressRows, SERVED, type IngressExpect, type IngressRow } from './ingress-fixtures.ts';

const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const ing = (name: string, opts: { cls?: string; annotations?: Record<string, string> } = {}) =>
  ingress(name, { ...(opts.cls ? { ingressClassName: opts.cls } : {}), rules: [rule(`${name}.example.com`, ['/', 'Prefix', 's', 80])] }, { annotations: opts.annotations ?? {} });
const NOT_OURS = (cls: string): IngressExpect => ({
  served: false,
  problems: [['warning', '', cls === '' ? /^not served: it names no class/ : new RegExp(`^not served: class "${cls}" is not isobar's`)]],
});
const CONTROLLER = 'projectcontour.io/ingress-controller';
const hosts = (r: ReturnType<typeof import('./fixtures.ts').run>) => r.proxyConfig.httpVirtualHosts.map((v) => v.fqdn);

const rows: IngressRow[] = [
  {
    name: 'no class configured: no class and "contour" are served, any other class is not',
    objects: [ing('none'), ing('spec', { cls: 'contour' }), ing('ann', { annotations: { 'kubernetes.io/ingress.class': 'contour' } }), ing('nginx', { cls: 'nginx' }), ...base],
    expect: { none: SERVED, spec: SERVED, ann: SERVED, nginx: NOT_OURS('nginx') },
    check: (r) => assert.deepEqual(hosts(r), ['ann.example.com', 'none.example.com', 'spec.example.com']),
  },
  {
    name: 'the annotation outweighs spec.ingressClassName; projectcontour.io/ingress.class outweighs kubernetes.io/ingress.class',
    objects: [
      ing('a', { cls: 'contour', annotations: { 'kubernetes.io/ingress.class': 'nginx' } }),
      ing('b', { cls: 'nginx', annotations: { 'kubernetes.io/ingress.class': 'contour' } }),
      ing('c', { annotations: { 'projectcontour.io/ingress.class': 'contour', 'kubernetes.io/ingress.class': 'nginx' } }),
      ...base,
    ],
    expect: { a: NOT_OURS('nginx'), b: SERVED, c: SERVED },
  },
  {
    name: 'a configured class: only that class is served, not "contour" or none',
    config: config((c) => {
      c.ingressClassName = 'edge';
    }),
    objects: [ing('none'), ing('contour', { cls: 'contour' }), ing('edge', { cls: 'edge' }), ...base],
    expect: { none: NOT_OURS(''), contour: NOT_OURS('contour'), edge: SERVED },
  },
  {
    name: 'a configured comma-separated list: each class in it is served (Contour\'s --ingress-class-name), HTTPProxies too',
    config: config((c) => {
      c.ingressClassName = 'edge, internal';
    }),
    objects: [ing('edge', { cls: 'edge' }), ing('internal', { annotations: { 'kubernetes.io/ingress.class': 'internal' } }), ing('other', { cls: 'other' }), root('p', 'p.example.com', { ingressClassName: 'internal', routes: [{ services: [{ name: 's', port: 80 }] }] }), ...base],
    expect: { edge: SERVED, internal: SERVED, other: NOT_OURS('other') },
    check: (r) => assert.deepEqual(r.statuses.map((s) => [s.name, s.currentStatus]), [['p', 'valid']]),
  },
  {
    name: 'an IngressClass with Contour\'s controller claims its name; one with another controller disowns even "contour"',
    objects: [ingressClass('public', CONTROLLER), ingressClass('contour', 'k8s.io/ingress-nginx'), ing('pub', { cls: 'public' }), ing('con', { cls: 'contour' }), ...base],
    expect: { pub: SERVED, con: NOT_OURS('contour') },
  },
  {
    name: 'the default IngressClass decides for Ingresses without a class',
    objects: [ingressClass('public', CONTROLLER, true), ing('none'), ...base],
    config: config((c) => {
      c.ingressClassName = 'edge';
    }),
    expect: { none: SERVED },
  },
  {
    name: 'a default IngressClass of another controller takes the class-less Ingresses away',
    objects: [ingressClass('nginx', 'k8s.io/ingress-nginx', true), ing('none'), ...base],
    expect: { none: NOT_OURS('') },
  },
  {
    name: 'two default IngressClasses: none is the default (the API server would refuse to choose)',
    objects: [ingressClass('nginx', 'k8s.io/ingress-nginx', true), ingressClass('other', 'example.com/x', true), ing('none'), ...base],
    expect: { none: SERVED },
  },
];

runIngressRows(rows);
