// The readers of callgrind's dumps, callgrind_annotate's listing and V8's
// perf map behind bench/instructions.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { callgrindTotal, lookupPerfMap, nameCompiledCode, parseAnnotateSelf, parsePerfMap } from '../../bench/lib/callgrind.ts';

const DUMP = `# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 6435
cmd:  /work/main/node_modules/node/bin/node /work/main/src/serve/proxy-worker.ts
part: 5

desc: Trigger: dump run

positions: line
events: Ir
summary: 2594236228

ob=(1) /work/main/node_modules/node/bin/node
fn=(1) Builtins_LoadIC_Megamorphic
0 81055194
totals: 2594236228
`;

const ANNOTATE = `--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
2,594,236,228 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
81,055,194 ( 3.12%)  ???:Builtins_LoadIC_Megamorphic [/work/main/node_modules/node/bin/node]
55,830,668 ( 2.15%)  ???:0x0000000018097200 [???]
55,770,000 ( 2.15%)  ???:0x00000000180974c0 [???]
48,360,160 ( 1.86%)  ???:void v8::internal::String::WriteToFlat2<unsigned char>(unsigned char*, unsigned int) [/work/main/node_modules/node/bin/node]
10,126,406 ( 0.39%)  ./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]
 9,000 ( 0.00%)  ???:0x00000000deadbeef [???]
`;

const MAP = `18097000 400 JS:*onResponseData file:///work/main/src/proxy/exchange.ts:709:18
18097400 100 JS:*onResponseData file:///work/main/src/proxy/exchange.ts:709:18
not a line
18097400 200 JS:*write node:_http_outgoing:1:1
`;

test('callgrind dump: the instruction total, from totals: or summary:', () => {
  assert.equal(callgrindTotal(DUMP), 2594236228);
  assert.equal(callgrindTotal(DUMP.replace(/^totals:.*$/m, '')), 2594236228);
  assert.equal(callgrindTotal('events: Ir\n'), undefined);
});

test('callgrind_annotate: self costs by function, C++ names whole, the totals line left out', () => {
  const fns = parseAnnotateSelf(ANNOTATE);
  assert.deepEqual(fns.map((f) => f.name), [
    'Builtins_LoadIC_Megamorphic',
    '0x0000000018097200',
    '0x00000000180974c0',
    'void v8::internal::String::WriteToFlat2<unsigned char>(unsigned char*, unsigned int)',
    '_int_free',
    '0x00000000deadbeef',
  ]);
  assert.equal(fns[0]!.ir, 81055194);
  assert.equal(fns[5]!.ir, 9000);
});

test('perf map: later code at an address wins, malformed lines are skipped, lookup is by range', () => {
  const map = parsePerfMap(MAP);
  assert.equal(map.length, 2);
  assert.equal(lookupPerfMap(map, 0x18097200)?.name, 'JS:*onResponseData file:///work/main/src/proxy/exchange.ts:709:18');
  assert.equal(lookupPerfMap(map, 0x180974c0)?.name, 'JS:*write node:_http_outgoing:1:1');
  assert.equal(lookupPerfMap(map, 0x18097600), undefined, 'past the end of the last code object');
  assert.equal(lookupPerfMap(map, 0x1000), undefined, 'before the first');
  assert.deepEqual(parsePerfMap('zz 10 x\n10 0 empty\n'), []);
});

test('compiled code named and summed by name, unnamed code grouped, costliest first', () => {
  const named = nameCompiledCode(parseAnnotateSelf(ANNOTATE), parsePerfMap(MAP));
  assert.deepEqual(named.slice(0, 3), [
    { name: 'Builtins_LoadIC_Megamorphic', ir: 81055194 },
    { name: 'JS:*onResponseData file:///work/main/src/proxy/exchange.ts:709:18', ir: 55830668 },
    { name: 'JS:*write node:_http_outgoing:1:1', ir: 55770000 },
  ]);
  assert.deepEqual(named.at(-1), { name: '(compiled code, unnamed)', ir: 9000 });
  const total = (fs: { ir: number }[]) => fs.reduce((s, f) => s + f.ir, 0);
  assert.equal(total(named), total(parseAnnotateSelf(ANNOTATE)), 'nothing lost or counted twice');
});

test('lookup agrees with a linear scan over any map', () => {
  const entry = fc.record({ start: fc.integer({ min: 0, max: 1 << 20 }), size: fc.integer({ min: 1, max: 4096 }) });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 40 }), fc.integer({ min: 0, max: (1 << 20) + 8192 }), (es, addr) => {
      // Non-overlapping, as V8's code objects are at one moment.
      const sorted = [...es].sort((a, b) => a.start - b.start);
      const kept: { start: number; size: number }[] = [];
      for (const e of sorted) if (kept.length === 0 || e.start >= kept.at(-1)!.start + kept.at(-1)!.size) kept.push(e);
      const map = parsePerfMap(kept.map((e, i) => `${e.start.toString(16)} ${e.size.toString(16)} f${i}`).join('\n'));
      const want = kept.findIndex((e) => addr >= e.start && addr < e.start + e.size);
      assert.equal(lookupPerfMap(map, addr)?.name, want < 0 ? undefined : `f${want}`);
    }),
  );
});
