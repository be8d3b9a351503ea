// Microseconds per response of isobar's HTTP/1.1 response parser
// (src/proxy/h1-response-parser.ts) on a few response shapes, in one
// process with no sockets: the parser's own cost, steadier than any
// end-to-end run. With --base-commit it loads the parser as committed at
// REF too and alternates the two batch by batch (an A/B of one change).
//
//   node bench/h1-parser.ts [--base-commit REF] [--batches N] [--responses N]

import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { H1ResponseParser, type H1ResponseSink } from '../src/proxy/h1-response-parser.ts';
import { exportCommit } from './lib/peers/isobar.ts';
import { parseFlags, positiveIntReader, usageFailure } from './lib/args.ts';

const USAGE = `usage: node bench/h1-parser.ts [options]
  --base-commit REF   also measure the parser as committed at REF, batches alternating
  --batches N         batches per parser and shape (default 7); the median is reported
  --responses N       responses parsed per batch (default 200000)
  --help`;

type Parser = typeof H1ResponseParser;

/** What the benchmark backend (nginx) sends, and two other common heads. */
const SHAPES: Record<string, Buffer> = {
  'nginx, 9 fields, 64 B body': Buffer.from(
    'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 03 Dec 2026 10:00:00 GMT\r\nContent-Type: application/octet-stream\r\n' +
      'Content-Length: 64\r\nLast-Modified: Wed, 02 Dec 2026 10:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=60\r\n' +
      'ETag: "6756-40"\r\nAccept-Ranges: bytes\r\n\r\n' + 'x'.repeat(64),
    'latin1',
  ),
  'chunked, 3 fields, 2 chunks': Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Request-Id: 3f1c0d0e-9b7a-4c1e-8f53-2a9d6f0b1c77\r\n\r\n' +
      '20\r\n' + 'y'.repeat(32) + '\r\n20\r\n' + 'y'.repeat(32) + '\r\n0\r\n\r\n',
    'latin1',
  ),
  '204, 2 fields': Buffer.from('HTTP/1.1 204 No Content\r\nDate: Thu, 03 Dec 2026 10:00:00 GMT\r\nServer: backend\r\n\r\n', 'latin1'),
};

const fail: (msg: string) => never = usageFailure('h1-parser', USAGE);
const positiveInt = positiveIntReader(fail);

function options(): { base?: string; batches: number; responses: number } {
  const values = parseFlags(process.argv.slice(2), { 'base-commit': { type: 'string' }, batches: { type: 'string' }, responses: { type: 'string' } }, USAGE, fail);
  return { base: values['base-commit'], batches: positiveInt('batches', values.batches, 7), responses: positiveInt('responses', values.responses, 200_000) };
}

/** µs per response over one batch; throws when a response does not parse whole. */
function batch(P: Parser, response: Buffer, n: number): number {
  let ends = 0;
  const sink: H1ResponseSink = { paused: false, onHead() {}, onBody() {}, onEnd: () => void ends++ };
  const p = new P(sink, 64 * 1024);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    p.expect(false, false);
    if (p.execute(response) === -1) throw new Error('the parser refused a benchmark response');
  }
  const us = Number(process.hrtime.bigint() - t) / n / 1000;
  if (ends !== n) throw new Error(`${ends} of ${n} responses ended`);
  return us;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const o = options();
const parsers: [string, Parser][] = [['isobar', H1ResponseParser]];
if (o.base !== undefined) {
  const dir = await exportCommit(o.base, os.tmpdir());
  const mod = (await import(pathToFileURL(path.join(dir, 'src/proxy/h1-response-parser.ts')).href)) as { H1ResponseParser: Parser };
  parsers.push([`base (${o.base})`, mod.H1ResponseParser]);
}
const rows: string[] = ['| response | ' + parsers.map(([n]) => `${n}, µs`).join(' | ') + (parsers.length > 1 ? ' | isobar / base |' : ' |'), '|---|' + parsers.map(() => '---:').join('|') + (parsers.length > 1 ? '|---:|' : '|')];
for (const [shape, response] of Object.entries(SHAPES)) {
  const times = parsers.map(() => [] as number[]);
  for (let b = 0; b < o.batches; b++) parsers.forEach(([, P], i) => times[i]!.push(batch(P, response, o.responses)));
  const med = times.map(median);
  rows.push(`| ${shape} | ${med.map((m) => m.toFixed(3)).join(' | ')}${med.length > 1 ? ` | ${(med[0]! / med[1]!).toFixed(2)}x` : ''} |`);
}
process.stdout.write(`HTTP/1.1 response parser, ${o.responses} responses a batch, median of ${o.batches} batches${parsers.length > 1 ? ', alternating' : ''}\n${rows.join('\n')}\n`);
