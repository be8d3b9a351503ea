import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Coalescer } from '../../src/kube/coalescer.ts';
import { RateLimiter } from '../../src/kube/rate-limiter.ts';
import { Backoff } from '../../src/kube/backoff.ts';
import { SecretRefs, resolveRef, secretsOfProxy } from '../../src/kube/secret-refs.ts';
import { convert } from '../../src/kube/convert.ts';
import { describeFailure } from '../../src/kube/problems.ts';
import { ApiError } from '../../src/kube/api-client.ts';
import { HTTPPROXIES, SECRETS, SERVICES, ENDPOINTSLICES, DELEGATIONS } from '../../src/kube/resources.ts';
import type { HTTPProxy } from '../../src/objects/index.ts';

test('coalescer: a burst fires once after the holdoff; a steady stream fires at the max delay', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let fired = 0;
  const c = new Coalescer(() => fired++, 100, 500);
  c.poke();
  t.mock.timers.tick(50);
  c.poke();
  t.mock.timers.tick(99);
  assert.equal(fired, 0, 'the holdoff restarts with each event');
  t.mock.timers.tick(1);
  assert.equal(fired, 1);
  // An event every 50 ms never lets the holdoff expire; the max forces a fire.
  for (let i = 0; i < 9; i++) {
    c.poke();
    t.mock.timers.tick(50);
  }
  assert.equal(fired, 1);
  c.poke();
  t.mock.timers.tick(50);
  assert.equal(fired, 2, 'forced at 500 ms after the first pending event');
  c.stop();
});

test('coalescer: paused changes are held and released by resume; flush fires at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let fired = 0;
  const c = new Coalescer(() => fired++, 100, 500);
  c.pause();
  c.poke();
  t.mock.timers.tick(1000);
  assert.equal(fired, 0);
  c.resume();
  c.flush();
  assert.equal(fired, 1);
  c.flush();
  assert.equal(fired, 1, 'nothing pending, nothing fired');
  c.stop();
});

test('rate limiter: burst at once, then qps; waiters served in order', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const r = new RateLimiter(10, 3);
  assert.ok(r.tryTake() && r.tryTake() && r.tryTake());
  assert.equal(r.tryTake(), false);
  const order: number[] = [];
  const a = r.take().then(() => order.push(1));
  const b = r.take().then(() => order.push(2));
  t.mock.timers.tick(100);
  await a;
  assert.deepEqual(order, [1]);
  t.mock.timers.tick(100);
  await b;
  assert.deepEqual(order, [1, 2]);
  assert.throws(() => new RateLimiter(0, 1), /qps > 0/);
  r.drain();
});

test('backoff grows, stays within [ceiling/2, ceiling], caps and resets', () => {
  const b = new Backoff({ baseMs: 100, maxMs: 1000 });
  const ceilings = [100, 200, 400, 800, 1000, 1000];
  for (const c of ceilings) {
    const d = b.next();
    assert.ok(d >= c / 2 && d <= c, `${d} not in [${c / 2}, ${c}]`);
  }
  b.reset();
  assert.ok(b.next() <= 100);
});

test('secret references: names, ns/name delegation form, every place an HTTPProxy names a Secret', () => {
  assert.equal(resolveRef('s', 'ns'), 'ns/s');
  assert.equal(resolveRef('other/s', 'ns'), 'other/s');
  assert.equal(resolveRef('', 'ns'), undefined);
  assert.equal(resolveRef(undefined, 'ns'), undefined);
  const p = {
    apiVersion: 'projectcontour.io/v1',
    kind: 'HTTPProxy',
    metadata: { name: 'p', namespace: 'ns' },
    spec: {
      virtualhost: { fqdn: 'x', tls: { secretName: 'tls', clientValidation: { caSecret: 'ca', crlSecret: 'crl' } } },
      routes: [{ services: [{ name: 's', port: 443, validation: { caSecret: 'certs/upstream-ca', subjectName: 'x' } }] }],
      tcpproxy: { services: [{ name: 't', port: 1, validation: { caSecret: 'tcp-ca', subjectName: 'y' } }] },
    },
  } as unknown as HTTPProxy;
  assert.deepEqual([...secretsOfProxy(p)].sort(), ['certs/upstream-ca', 'ns/ca', 'ns/crl', 'ns/tcp-ca', 'ns/tls']);
  assert.deepEqual([...secretsOfProxy({ ...p, spec: {} } as HTTPProxy)], []);
});

test('secret reference counting: wanted while any holder names it', () => {
  const r = new SecretRefs();
  assert.deepEqual(r.set('a', new Set(['ns/x', 'ns/y'])), { added: ['ns/x', 'ns/y'], removed: [] });
  assert.deepEqual(r.set('b', new Set(['ns/x'])), { added: [], removed: [] });
  assert.deepEqual(r.set('a', new Set(['ns/z'])), { added: ['ns/z'], removed: ['ns/y'] });
  assert.ok(r.wanted('ns/x'));
  assert.deepEqual(r.set('b', new Set()), { added: [], removed: ['ns/x'] });
  assert.equal(r.wanted('ns/x'), false);
  assert.equal(r.size, 1);
});

test('convert: API objects become the cache shapes; status and server fields are dropped', () => {
  const c = convert(HTTPPROXIES, {
    metadata: { name: 'p', namespace: 'ns', generation: 3, resourceVersion: '9', uid: 'u', managedFields: [{ manager: 'kubectl' }], creationTimestamp: 'x' },
    spec: { virtualhost: { fqdn: 'a.example.com' } },
    status: { currentStatus: 'valid' },
  });
  assert.ok('object' in c);
  assert.deepEqual(c.object, {
    apiVersion: 'projectcontour.io/v1',
    kind: 'HTTPProxy',
    metadata: { name: 'p', namespace: 'ns', uid: 'u', generation: 3, resourceVersion: '9' },
    spec: { virtualhost: { fqdn: 'a.example.com' } },
  });
  const s = convert(SECRETS, { metadata: { name: 's', namespace: 'ns' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from('CERT').toString('base64'), 'tls.key': Buffer.from('KEY').toString('base64') } });
  assert.ok('object' in s);
  assert.deepEqual((s.object as { data: unknown }).data, { 'tls.crt': 'CERT', 'tls.key': 'KEY' });
  const svc = convert(SERVICES, { metadata: { name: 'v' }, spec: { ports: [{ port: 80 }] }, status: { loadBalancer: {} } });
  assert.ok('object' in svc);
  assert.equal(svc.object.metadata.namespace, 'default');
});

test('convert: malformed objects are rejected with the field, never thrown', () => {
  const bad = convert(HTTPPROXIES, { metadata: { name: 'p', namespace: 'ns' }, spec: { routes: [{ services: [{ name: 's', port: 'x' }] }] } });
  assert.ok('rejected' in bad);
  assert.equal(bad.rejected.kind, 'HTTPProxy');
  assert.deepEqual(bad.rejected.source, { origin: 'kubernetes' });
  assert.ok(bad.rejected.errors.some((e) => e.path === 'spec.routes[0].services[0].port'));
  const noName = convert(SERVICES, { metadata: {} });
  assert.ok('rejected' in noName);
  assert.equal(noName.rejected.errors[0]!.path, 'metadata.name');
  const notObject = convert(DELEGATIONS, { metadata: { name: 'd', namespace: 'n' }, spec: 'nope' });
  assert.ok('rejected' in notObject);
});

test('convert never throws, whatever the API server sends (property)', () => {
  const types = [HTTPPROXIES, DELEGATIONS, SERVICES, SECRETS, ENDPOINTSLICES];
  fc.assert(
    fc.property(fc.constantFrom(...types), fc.anything(), fc.anything(), fc.option(fc.string()), (type, spec, extra, name) => {
      const raw = { metadata: { name: name ?? undefined, namespace: 'n' }, spec, data: extra, endpoints: extra, ports: extra } as Record<string, any>;
      const r = convert(type, raw);
      assert.ok('object' in r || 'rejected' in r);
      if ('rejected' in r) assert.ok(r.rejected.errors.length > 0);
    }),
    { numRuns: 300 },
  );
});

test('failure messages say what failed, why and what to do', () => {
  const server = 'https://127.0.0.1:6443';
  assert.match(describeFailure(new ApiError('GET', '/x', 0, 'Unreachable', 'cannot reach the Kubernetes API server at https://127.0.0.1:6443 (ECONNREFUSED)'), server, SERVICES, undefined, 1500), /cannot reach .*ECONNREFUSED.*retrying in 1\.5s; the last good configuration keeps serving/);
  assert.match(describeFailure(new ApiError('GET', '/x', 401, 'Unauthorized', ''), server, SERVICES, 'apps', 500), /rejected isobar's credentials \(401 Unauthorized\) while watching services in namespace apps/);
  assert.match(describeFailure(new ApiError('GET', '/x', 403, 'Forbidden', ''), server, SECRETS, undefined, 500), /grant get, list and watch on secrets/);
  assert.match(describeFailure(new ApiError('GET', '/x', 404, 'NotFound', ''), server, HTTPPROXIES, undefined, 500), /deploy\/crds\.yaml/);
  assert.match(describeFailure(new Error('boom'), server, SERVICES, undefined, 500), /watching services failed: boom/);
});
