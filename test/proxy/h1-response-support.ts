// Reads a whole response with isobar's parser (h1-response-parser.ts), fed
// in one piece or in the pieces given, into one plain result: what the
// unit table and the differential property compare.
import { H1ResponseParser, type H1ResponseSink, type ResponseHeaders } from '../../src/proxy/h1-response-parser.ts';

export interface Parsed {
  /** The error's code, or undefined when the response was read whole. */
  error: string | undefined;
  status?: number;
  reason?: string;
  headers?: ResponseHeaders;
  keepAlive?: boolean;
  hintMs?: number | undefined;
  body?: string;
  trailers?: ResponseHeaders;
  /** Bytes left after the message (the next response's, or unsolicited). */
  rest?: number;
}

class Recorder implements H1ResponseSink {
  paused = false;
  status: number | undefined;
  reason = '';
  headers: ResponseHeaders | undefined;
  keepAlive = false;
  hintMs: number | undefined;
  body: Buffer[] = [];
  trailers: ResponseHeaders | undefined;
  onHead(status: number, reason: string, headers: ResponseHeaders, keepAlive: boolean, hintMs: number | undefined): void {
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    this.keepAlive = keepAlive;
    this.hintMs = hintMs;
  }
  onBody(chunk: Buffer): void {
    this.body.push(Buffer.from(chunk));
  }
  onEnd(trailers: ResponseHeaders): void {
    this.trailers = trailers;
  }
}

/** `pieces`: the byte offsets to cut the input at; `closeAtEnd`: the
 *  connection closes after the last byte (a body delimited by the close ends). */
export function parseResponse(input: Buffer | string, o: { head?: boolean; upgrade?: boolean; cuts?: number[]; closeAtEnd?: boolean; maxHeaderSize?: number } = {}): Parsed {
  const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const r = new Recorder();
  const p = new H1ResponseParser(r, o.maxHeaderSize ?? 96 * 1024);
  p.expect(o.head ?? false, o.upgrade ?? false);
  const cuts = [...new Set((o.cuts ?? []).filter((c) => c > 0 && c < buf.length))].sort((a, b) => a - b);
  let from = 0;
  let rest = 0;
  for (const to of [...cuts, buf.length]) {
    const piece = buf.subarray(from, to);
    from = to;
    if (r.trailers !== undefined || p.upgraded) {
      rest += piece.length;
      continue;
    }
    const at = p.execute(piece);
    if (at === -1) return { error: p.error!.code };
    rest += piece.length - at;
  }
  if (r.trailers === undefined && !p.upgraded && (o.closeAtEnd ?? true)) p.finish();
  if (r.status === undefined || (r.trailers === undefined && !p.upgraded)) return { error: 'incomplete' };
  return {
    error: undefined,
    status: r.status,
    reason: r.reason,
    headers: r.headers!,
    keepAlive: r.keepAlive,
    hintMs: r.hintMs,
    body: Buffer.concat(r.body).toString('latin1'),
    trailers: r.trailers ?? {},
    rest,
  };
}
