// The gRPC-Web byte formats: chunked base64 request bodies (padding at any
// flush, strict as Envoy's decoder otherwise), base64 answers frame by frame
// (Envoy's output byte for byte, however the frames arrive), the trailer
// frame and grpc-message's percent-encoding. Properties over random frames,
// random cuts and random corruption; a table of malformed input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ChunkedBase64Decoder, FrameBase64Encoder, frame, percentEncodeGrpcMessage, trailerFrame } from '../../src/proxy/grpc-web-codec.ts';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));

/** `buf` cut at the given points (sorted, in range, duplicates allowed). */
function cut(buf: Buffer, points: number[]): Buffer[] {
  const at = [...points.map((p) => p % (buf.length + 1))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of at) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

function decodeAll(pieces: Buffer[]): Buffer | undefined {
  const d = new ChunkedBase64Decoder();
  const out: Buffer[] = [];
  for (const piece of pieces) {
    const b = d.push(piece);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return d.endsWhole() ? Buffer.concat(out) : undefined;
}

test('property: base64 chunks, each padded as a client flushes them, cut anywhere, decode to the bytes', () => {
  fc.assert(
    fc.property(fc.array(bytes(40), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (segments, points) => {
      const text = Buffer.from(segments.map((s) => s.toString('base64')).join(''));
      assert.deepEqual(decodeAll(cut(text, points)), Buffer.concat(segments));
    }),
  );
});

test('property: one byte changed to one outside the alphabet, or the text cut short of a quantum, is refused', () => {
  const outside = fc.integer({ min: 0, max: 255 }).filter((b) => !/[A-Za-z0-9+/=]/.test(String.fromCharCode(b)));
  fc.assert(
    fc.property(bytes(60).filter((b) => b.length > 0), fc.nat(), outside, fc.array(fc.nat(), { maxLength: 4 }), (payload, where, bad, points) => {
      const text = Buffer.from(payload.toString('base64'));
      const corrupt = Buffer.from(text);
      corrupt[where % corrupt.length] = bad;
      assert.equal(decodeAll(cut(corrupt, points)), undefined);
      const short = text.subarray(0, text.length - 1 - (where % 3));
      assert.equal(decodeAll(cut(short, points)), undefined);
    }),
  );
});

test('property: frames encoded for a -text client, however they arrive, are Envoy\'s per-frame base64', () => {
  const frames = fc.array(fc.tuple(fc.constantFrom(0, 1, 0x80), bytes(50)), { maxLength: 6 });
  fc.assert(
    fc.property(frames, fc.array(fc.nat(), { maxLength: 8 }), (list, points) => {
      const built = list.map(([flag, payload]) => frame(flag, payload));
      const expected = built.map((f) => f.toString('base64')).join('');
      const e = new FrameBase64Encoder();
      let got = '';
      for (const piece of cut(Buffer.concat(built), points)) got += e.push(piece);
      got += e.end();
      assert.equal(got, expected);
      // And the decoder reads it back.
      assert.deepEqual(decodeAll([Buffer.from(got)]), Buffer.concat(built));
    }),
  );
});

test('frame encoder: a body that ends inside a frame ends padded; nothing is held back past a whole group of three', () => {
  const e = new FrameBase64Encoder();
  const f = frame(0, Buffer.from('abcdefgh'));
  assert.equal(e.push(f.subarray(0, 7)), f.subarray(0, 6).toString('base64'));
  assert.equal(e.end(), f.subarray(6, 7).toString('base64'));
  // An empty message is a frame of its own.
  const empty = new FrameBase64Encoder();
  assert.equal(empty.push(frame(0, Buffer.alloc(0))), 'AAAAAAA=');
});

test('malformed base64 (Envoy\'s Base64::decode refuses each)', () => {
  const rows: [string, string[]][] = [
    ['outside the alphabet', ['AAA!']],
    ['white space', ['AAAA', ' AAA']],
    ['a line break', ['AAAA\r\nAA']],
    ['padding first in a quantum', ['=AAA']],
    ['padding second in a quantum', ['A=AA']],
    ['three padding characters', ['A===']],
    ['four padding characters', ['====']],
    ['padding then data in one quantum', ['AA=A']],
    ['bits left over before ==', ['AB==']],
    ['bits left over before =', ['AAB=']],
    ['URL-safe characters', ['AA-_']],
    ['a quantum short at the end', ['AAAA', 'AA']],
    ['a byte above 127', ['AA\u00ffA']],
  ];
  for (const [what, pieces] of rows) assert.equal(decodeAll(pieces.map((p) => Buffer.from(p, 'latin1'))), undefined, what);
  // What is valid: padded quanta anywhere, an empty body.
  assert.deepEqual(decodeAll([Buffer.from('AA==AAA=AAAA')]), Buffer.alloc(6));
  assert.deepEqual(decodeAll([]), Buffer.alloc(0));
});

test('trailer frame: flag 0x80, the length, "name:value\\r\\n" per field and value', () => {
  const f = trailerFrame({ 'grpc-status': '0', 'grpc-message': 'ok', 'x-multi': ['a', 'b'], skipped: undefined });
  const block = 'grpc-status:0\r\ngrpc-message:ok\r\nx-multi:a\r\nx-multi:b\r\n';
  assert.equal(f[0], 0x80);
  assert.equal(f.readUInt32BE(1), block.length);
  assert.equal(f.subarray(5).toString(), block);
  assert.deepEqual(trailerFrame({}), Buffer.from([0x80, 0, 0, 0, 0]));
});

test('grpc-message percent-encoding as Envoy\'s: controls, "~" and above, and "%" only', () => {
  assert.equal(percentEncodeGrpcMessage(Buffer.from('plain text, (ok) [yes]')), 'plain text, (ok) [yes]');
  assert.equal(percentEncodeGrpcMessage(Buffer.from('100% ~\n\té')), '100%25 %7E%0A%09%C3%A9');
});
