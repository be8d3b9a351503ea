// Envoy's circuit breakers in a proxy worker, on real sockets: a backend that
// holds every request until the test lets it go, so the number in flight is
// known; the backend's own count of concurrent requests is what the limits
// protect.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import type { CircuitBreakers } from '../../src/dag/proxy-config.ts';
import { ClusterBudget, poolConnections, withEnvoyDefaults } from '../../src/proxy/circuit-breakers.ts';
import { waitFor } from '../support/wait.ts';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost, type Backend, type Resp, type Started } from './fixtures.ts';
import type { UpstreamCounters } from '../../src/metrics/index.ts';

/** A backend that holds requests; `release()` answers the oldest. */
interface Holding extends Backend {
  held: http.ServerResponse[];
  concurrent: number;
  peak: number;
  release(status?: number): void;
}

async function holdingBackend(name: string, answerNow?: (req: http.IncomingMessage) => number | undefined): Promise<Holding> {
  const state = { held: [] as http.ServerResponse[], concurrent: 0, peak: 0 };
  const b = await httpBackend(name, (req, res) => {
    state.concurrent++;
    state.peak = Math.max(state.peak, state.concurrent);
    res.once('close', () => state.concurrent--);
    const now = answerNow?.(req);
    if (now !== undefined) {
      res.writeHead(now);
      res.end(name);
      return;
    }
    state.held.push(res);
  });
  return {
    ...b,
    held: state.held,
    get concurrent() {
      return state.concurrent;
    },
    get peak() {
      return state.peak;
    },
    release(status = 200) {
      const res = state.held.shift();
      assert.ok(res, 'a held request to release');
      res.writeHead(status);
      res.end(name);
    },
  };
}

const limits = (cb: Partial<CircuitBreakers>): CircuitBreakers => ({ maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0, perHostMaxConnections: 0, ...cb });
const H = (host: string) => ({ host });
const overflowBody = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';

const backends: Holding[] = [];
after(async () => {
  for (const b of backends) {
    while (b.held.length) b.release();
    await b.close();
  }
});

async function fresh(name: string, answerNow?: (req: http.IncomingMessage) => number | undefined): Promise<Holding> {
  const b = await holdingBackend(name, answerNow);
  backends.push(b);
  return b;
}

/** A proxy with one cluster `name` of the given backends and limits, served as `name`.test. */
function startLimited(name: string, backends: Backend[], cb: Partial<CircuitBreakers>): Promise<Started> {
  return startProxy(config({ clusters: [cluster(name, backends.map(ep), { circuitBreakers: limits(cb) })], httpVirtualHosts: [vhost(`${name}.test`, [route({ to: name })])] }));
}

function counters(p: Started, stat: string): UpstreamCounters {
  const found = [...p.proxy.metricsSource(0).clusters].find(([n]) => n === stat);
  assert.ok(found, `cluster stats ${stat}`);
  return found[1];
}

function assertOverflow(r: Resp): void {
  assert.equal(r.status, 503);
  assert.equal(r.body, overflowBody);
  assert.equal(r.headers['x-envoy-overloaded'], 'true');
}

test('max-requests: requests over it get 503 overflow with x-envoy-overloaded and UO at once; the backend never sees them', async () => {
  const b = await fresh('mr');
  const p = await startLimited('mr', [b], { maxRequests: 2 });
  try {
    const first = [get(p.port(), '/a', H('mr.test')), get(p.port(), '/b', H('mr.test'))];
    await waitFor('two requests held', () => b.held.length === 2);
    assertOverflow(await get(p.port(), '/c', H('mr.test')));
    assert.equal(b.seen.length, 2);
    b.release();
    b.release();
    assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200]);
    // The budget is back: the next one is sent.
    const again = get(p.port(), '/d', H('mr.test'));
    await waitFor('the next request held', () => b.held.length === 1);
    b.release();
    assert.equal((await again).status, 200);
    const overflowed = p.logs.filter((l) => l.status === 503);
    assert.deepEqual(overflowed.map((l) => l.responseFlags), ['UO']);
    assert.equal(p.proxy.stats().upstreamOverflow, 1);
    assert.equal(counters(p, 'default_mr_80').rqPendingOverflow, 1);
  } finally {
    await p.close();
  }
});

test('max-connections + max-pending-requests: one in flight, one waits and is sent when the first ends, the third overflows', async () => {
  const b = await fresh('mc');
  const p = await startLimited('mc', [b], { maxConnections: 1, maxPendingRequests: 1 });
  try {
    const a = get(p.port(), '/a', H('mc.test'));
    await waitFor('the first held', () => b.held.length === 1);
    const waiting = get(p.port(), '/b', H('mc.test'));
    // The second is pending, not sent: the third finds the queue full.
    await waitFor('the second pending', () => counters(p, 'default_mc_80').rqPendingActive === 1);
    assertOverflow(await get(p.port(), '/c', H('mc.test')));
    assert.deepEqual(b.seen.map((s) => s.url), ['/a']);
    b.release();
    assert.equal((await a).status, 200);
    await waitFor('the waiting request sent', () => b.held.length === 1);
    assert.deepEqual(b.seen.map((s) => s.url), ['/a', '/b']);
    b.release();
    assert.equal((await waiting).status, 200);
    assert.equal(b.peak, 1);
  } finally {
    await p.close();
  }
});

test('a waiting request whose client leaves gives its place back', async () => {
  const b = await fresh('leave');
  const p = await startLimited('leave', [b], { maxConnections: 1, maxPendingRequests: 1 });
  try {
    const a = get(p.port(), '/a', H('leave.test'));
    await waitFor('the first held', () => b.held.length === 1);
    const gone = http.request({ host: '127.0.0.1', port: p.port(), path: '/gone', headers: H('leave.test'), agent: false });
    gone.on('error', () => {});
    gone.end();
    await waitFor('the second pending', () => counters(p, 'default_leave_80').rqPendingActive === 1);
    assertOverflow(await get(p.port(), '/probe', H('leave.test')));
    gone.destroy();
    await waitFor('the access log has the client that left', () => p.logs.some((l) => l.path === '/gone' && l.responseFlags === 'DC'));
    assert.equal(counters(p, 'default_leave_80').rqPendingActive, 0);
    const next = get(p.port(), '/next', H('leave.test'));
    b.release();
    assert.equal((await a).status, 200);
    await waitFor('the next request sent', () => b.held.length === 1);
    b.release();
    assert.equal((await next).status, 200);
    assert.deepEqual(b.seen.map((s) => s.url), ['/a', '/next']);
  } finally {
    await p.close();
  }
});

test('per-host-max-connections: each endpoint has at most that many requests in flight; the others wait', async () => {
  const b1 = await fresh('h1');
  const b2 = await fresh('h2');
  const p = await startLimited('ph', [b1, b2], { perHostMaxConnections: 1 });
  try {
    const all = [0, 1, 2, 3].map((i) => get(p.port(), `/${i}`, H('ph.test')));
    await waitFor('one held on each endpoint', () => b1.held.length === 1 && b2.held.length === 1);
    for (let i = 0; i < 4; i++) {
      await waitFor('a request held', () => b1.held.length + b2.held.length > 0);
      (b1.held.length ? b1 : b2).release();
    }
    assert.deepEqual((await Promise.all(all)).map((r) => r.status), [200, 200, 200, 200]);
    assert.equal(b1.peak, 1);
    assert.equal(b2.peak, 1);
    assert.equal(b1.seen.length + b2.seen.length, 4);
  } finally {
    await p.close();
  }
});

test('max-retries: a retry over it is not made and the try\'s own answer reaches the client', async () => {
  // Odd tries (a request's first) answer 503 at once; retries are held.
  let tries = 0;
  const retrying = await fresh('rt2', () => (tries++ % 2 === 0 ? 503 : undefined));
  const retry = { retryOn: ['5xx'], count: 1, perTryTimeoutMs: null, retriableStatusCodes: [] };
  const p = await startProxy(
    config({
      clusters: [cluster('rt2', [ep(retrying)], { circuitBreakers: limits({ maxRetries: 1 }) })],
      httpVirtualHosts: [vhost('rt.test', [route({ to: 'rt2', retry })])],
    }),
  );
  try {
    // The first request's retry is held by the backend: one retry in progress.
    const first = get(p.port(), '/one', H('rt.test'));
    await waitFor('the retry held', () => retrying.held.length === 1);
    // The second's first try fails; its retry would be the second in progress.
    const second = await get(p.port(), '/two', H('rt.test'));
    assert.equal(second.status, 503);
    assert.equal(second.body, 'rt2');
    assert.equal(second.headers['x-envoy-overloaded'], undefined);
    retrying.release();
    assert.equal((await first).status, 200);
    assert.deepEqual(retrying.seen.map((s) => s.url), ['/one', '/one', '/two']);
    assert.equal(counters(p, 'default_rt2_80').rqRetryOverflow, 1);
  } finally {
    await p.close();
  }
});

test('no circuit breakers set: Envoy defaults (1024 connections, pending, requests; 3 retries; no per-host limit)', () => {
  assert.deepEqual(withEnvoyDefaults(undefined), { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, perHostMaxConnections: 0 });
  assert.deepEqual(withEnvoyDefaults(limits({ maxRequests: 5, perHostMaxConnections: 2 })), { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 5, maxRetries: 3, perHostMaxConnections: 2 });
  assert.equal(poolConnections(withEnvoyDefaults(undefined), false), 1024);
  assert.equal(poolConnections(withEnvoyDefaults(undefined), true), 8);
  assert.equal(poolConnections(withEnvoyDefaults(limits({ perHostMaxConnections: 3 })), false), 3);
  assert.equal(poolConnections(withEnvoyDefaults(limits({ maxConnections: 2 })), true), 2);
});

test('the budget: requests, connections, pending FIFO, leaving, TCP flows, retries', () => {
  const b = new ClusterBudget(limits({ maxConnections: 2, maxPendingRequests: 2, maxRequests: 3, maxRetries: 1 }), false);
  const h = { active: 0 };
  const send = (): void => {
    h.active++;
    b.sent();
  };
  const end = (): void => {
    h.active--;
    b.ended();
  };
  send();
  send();
  assert.equal(b.canSend(h), false);
  const order: string[] = [];
  const t1 = b.wait(h, () => (order.push('w1'), send()));
  const t2 = b.wait(h, () => (order.push('w2'), send()));
  assert.ok(t1 && t2);
  assert.equal(b.wait(h, () => order.push('w3')), undefined, 'max_pending_requests full');
  b.leave(t1);
  assert.equal(b.pending, 1);
  end();
  assert.deepEqual(order, ['w2']);
  assert.equal(b.requests, 2);
  assert.equal(b.openConnection(h), false, 'a TCP flow over max_connections');
  end();
  assert.equal(b.openConnection(h), true);
  assert.equal(b.startRetry(), true);
  assert.equal(b.startRetry(), false);
  b.endRetry();
  assert.equal(b.startRetry(), true);
  const full = new ClusterBudget(limits({ maxRequests: 1 }), true);
  full.sent();
  assert.equal(full.requestsFull(), true);
});
