// Envoy's slow start weights and the weighted pick, on a clock the test
// holds: the formula of Envoy's slow start document, point by point, and
// the shares picks give two endpoints as one of them ramps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickRamped, rampEnd, slowStartFactor, type Ramping } from '../../src/proxy/slow-start.ts';

const ss = (windowMs: number, aggression = 1, minWeightPercent = 10) => ({ windowMs, aggression, minWeightPercent });

test('slow start factor: max(minWeight, (max(seconds, 1) / window) ^ (1 / aggression)), 1 after the window', () => {
  const rows: [window: number, aggression: number, min: number, ageMs: number, want: number][] = [
    [10_000, 1, 10, 0, 0.1], // the first second counts as one: 1/10
    [10_000, 1, 10, 500, 0.1],
    [10_000, 1, 10, 5_000, 0.5],
    [10_000, 1, 10, 9_999, 0.9999],
    [10_000, 1, 10, 10_000, 1],
    [10_000, 1, 50, 2_000, 0.5], // the floor
    [10_000, 2, 0, 2_500, Math.sqrt(0.25)],
    [10_000, 0.5, 0, 5_000, 0.25],
    [10_000, 0.5, 10, 1_000, 0.1], // 0.01 raised to the floor
    [500, 1, 10, 100, 1], // a window under a second: the factor caps at 1
  ];
  for (const [w, a, m, age, want] of rows) {
    assert.ok(Math.abs(slowStartFactor(ss(w, a, m), age) - want) < 1e-9, `window ${w} aggression ${a} min ${m} at ${age} ms: ${slowStartFactor(ss(w, a, m), age)} != ${want}`);
  }
});

function endpoints(...since: number[]): (Ramping & { name: string })[] {
  return since.map((s, i) => ({ name: String.fromCharCode(97 + i), since: s, credit: 0, active: 0 }));
}

function shares(list: (Ramping & { name: string })[], cfg: ReturnType<typeof ss>, now: number, n: number, leastRequest = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const e = pickRamped(list, cfg, now, leastRequest);
    out[e.name] = (out[e.name] ?? 0) + 1;
  }
  return out;
}

test('weighted picks: a ramping endpoint gets its factor against an old one, and half once its window is over', () => {
  const cfg = ss(10_000);
  const now = 100_000;
  const list = endpoints(0, now - 1_000); // a: long there; b: joined a second ago (factor 0.1)
  assert.deepEqual(shares(list, cfg, now, 110), { a: 100, b: 10 });
  rampEnd(list, cfg, now);
  const mid = endpoints(0, now - 5_000); // factor 0.5
  assert.deepEqual(shares(mid, cfg, now, 150), { a: 100, b: 50 });
  const done = endpoints(0, now - 10_000);
  assert.deepEqual(shares(done, cfg, now, 100), { a: 50, b: 50 });
});

test('weighted picks: smooth, never a burst to the ramping endpoint', () => {
  const list = endpoints(0, 99_000);
  let run = 0;
  let longest = 0;
  for (let i = 0; i < 200; i++) {
    const e = pickRamped(list, ss(10_000), 100_000, false);
    run = e.name === 'b' ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  assert.equal(longest, 1);
});

test('weighted least request: weight over (active requests + 1)', () => {
  const list = endpoints(0, 0);
  list[0]!.active = 3; // weight 1/4 against 1/1
  assert.deepEqual(shares(list, ss(10_000), 5_000, 100, true), { a: 20, b: 80 });
});

test('rampEnd: when the last ramp ends, 0 when none is ramping; credits start from 0', () => {
  const list = endpoints(0, 4_000);
  list[0]!.credit = 3;
  assert.equal(rampEnd(list, ss(10_000), 5_000), 14_000);
  assert.equal(list[0]!.credit, 0);
  assert.equal(rampEnd(list, ss(10_000), 14_000), 0);
});
