// withRequestBody: the request body is held until the Check can be sent,
// as Envoy's ext_authz buffers it. Without allowPartialMessage a body over
// maxRequestBytes is refused with 413 (the decoder buffer limit); with it,
// the Check goes out once maxRequestBytes have arrived and the rest
// follows upstream after the decision. Nothing of the body reaches the
// upstream before the server has allowed the request.
import { PassThrough, type Readable } from 'node:stream';
import type { BodySettings } from './types.ts';

export type CollectedBody =
  | {
      kind: 'complete' | 'partial';
      /** What was buffered (may exceed maxRequestBytes by the last chunk). */
      data: Buffer;
      received: number;
      /** The whole body for the upstream: the buffered bytes, then the rest. */
      replay(): Readable;
    }
  | { kind: 'tooLarge' }
  | { kind: 'aborted' };

export function collectBody(stream: Readable, settings: BodySettings): Promise<CollectedBody> {
  const max = Math.max(1, settings.maxRequestBytes);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const settle = (r: CollectedBody): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(r);
    };
    const onData = (c: Buffer | string): void => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      chunks.push(b);
      received += b.length;
      if (received > max && !settings.allowPartialMessage) {
        stream.pause();
        settle({ kind: 'tooLarge' });
      } else if (received >= max && settings.allowPartialMessage) {
        stream.pause();
        const data = Buffer.concat(chunks);
        settle({ kind: 'partial', data, received, replay: () => replay(data, stream) });
      }
    };
    const onEnd = (): void => {
      const data = Buffer.concat(chunks);
      settle({ kind: 'complete', data, received, replay: () => replay(data, null) });
    };
    const onError = (): void => settle({ kind: 'aborted' });
    const onClose = (): void => {
      if (!stream.readableEnded) settle({ kind: 'aborted' });
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
    stream.resume();
  });
}

function replay(head: Buffer, rest: Readable | null): Readable {
  const out = new PassThrough();
  if (head.length > 0) out.write(head);
  if (!rest || rest.readableEnded) {
    out.end();
    return out;
  }
  rest.once('error', (err) => out.destroy(err));
  rest.pipe(out);
  rest.resume();
  return out;
}
