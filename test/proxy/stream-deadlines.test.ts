// The response and idle deadlines of a forwarded request share one timer:
// each still fires on its own time, activity moves only the idle one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamDeadlines, type StreamDeadline } from '../../src/proxy/stream-deadlines.ts';

function watch(responseMs: number, idleMs: number): { d: StreamDeadlines; fired: () => Promise<{ which: StreamDeadline; after: number }> } {
  const start = performance.now();
  let resolve!: (v: { which: StreamDeadline; after: number }) => void;
  const p = new Promise<{ which: StreamDeadline; after: number }>((r) => (resolve = r));
  const d = new StreamDeadlines(responseMs, idleMs, (which) => resolve({ which, after: performance.now() - start }));
  return { d, fired: () => p };
}

test('stream deadlines: the idle deadline alone fires after the idle time', async () => {
  const { fired } = watch(0, 60);
  const r = await fired();
  assert.equal(r.which, 'stream-idle');
  assert.ok(r.after >= 59, `fired after ${r.after} ms`);
});

test('stream deadlines: the response deadline fires on time although activity keeps the stream from going idle', async () => {
  const { d, fired } = watch(150, 60);
  const keepBusy = setInterval(() => d.touch(), 20);
  try {
    const r = await fired();
    assert.equal(r.which, 'response-timeout');
    assert.ok(r.after >= 149 && r.after < 400, `fired after ${r.after} ms`);
  } finally {
    clearInterval(keepBusy);
  }
});

test('stream deadlines: activity moves the idle deadline, which then fires before a far response deadline', async () => {
  const { d, fired } = watch(10_000, 80);
  await sleep(50);
  d.touch();
  const touchedAt = performance.now();
  const r = await fired();
  assert.equal(r.which, 'stream-idle');
  const sinceTouch = performance.now() - touchedAt;
  assert.ok(sinceTouch >= 78, `fired ${sinceTouch} ms after the last activity`);
  d.clear();
});

test('stream deadlines: cleared, nothing fires; none set, no timer', async () => {
  let fired = 0;
  const d = new StreamDeadlines(30, 30, () => fired++);
  d.clear();
  new StreamDeadlines(0, 0, () => fired++).touch();
  await sleep(80);
  assert.equal(fired, 0);
});

function watchPending(responseMs: number, idleMs: number): { d: StreamDeadlines; fired: () => Promise<{ which: StreamDeadline; after: number }> } {
  const start = performance.now();
  let resolve!: (v: { which: StreamDeadline; after: number }) => void;
  const p = new Promise<{ which: StreamDeadline; after: number }>((r) => (resolve = r));
  const d = new StreamDeadlines(responseMs, idleMs, (which) => resolve({ which, after: performance.now() - start }), false);
  return { d, fired: () => p };
}

test('stream deadlines: with the request still arriving, the response deadline starts at requestDone()', async () => {
  const { d, fired } = watchPending(60, 0);
  await sleep(100);
  const doneAt = performance.now();
  d.requestDone();
  const r = await fired();
  assert.equal(r.which, 'response-timeout');
  const since = performance.now() - doneAt;
  assert.ok(since >= 59, `fired ${since} ms after requestDone()`);
});

test('stream deadlines: an idle deadline due before the response deadline requestDone() starts still fires on its time', async () => {
  // Idle 150 ms, response 120 ms from requestDone() at 80 ms: the idle
  // deadline (150) comes before the response one (200).
  const { d, fired } = watchPending(120, 150);
  await sleep(80);
  d.requestDone();
  const r = await fired();
  assert.equal(r.which, 'stream-idle');
  assert.ok(r.after >= 149 && r.after < 195, `fired after ${r.after} ms`);
  d.clear();
});
