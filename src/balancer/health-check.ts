// One health probe against one target: TCP connect, or an HTTP/HTTPS GET
// whose status must match the success codes. With PROXY protocol on, the
// probe opens with a v2 LOCAL header, as the NLB's checks do.

import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { encodeV2 } from '../proxyprotocol/index.ts';
import { matchesSuccessCodes } from './annotations.ts';
import type { HealthCheckConfig } from './balancer-config.ts';

export interface ProbeTarget {
  address: string;
  port: number;
}

const MAX_RESPONSE_HEAD = 8192;

/** Resolves true when the target passes, false otherwise; never rejects. */
export function probe(target: ProbeTarget, hc: HealthCheckConfig, proxyProtocol: boolean): Promise<boolean> {
  const port = hc.port === 'traffic-port' ? target.port : hc.port;
  return new Promise((resolve) => {
    let done = false;
    const sockets: Socket[] = [];
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), hc.timeoutMs);
    timer.unref();
    const raw = connect({ host: target.address, port });
    sockets.push(raw);
    raw.on('error', () => finish(false));
    raw.once('connect', () => {
      if (proxyProtocol) raw.write(encodeV2({ command: 'LOCAL' }));
      if (hc.protocol === 'TCP') {
        raw.end(() => finish(true));
        return;
      }
      let stream: Socket = raw;
      if (hc.protocol === 'HTTPS') {
        // The NLB does not verify target certificates on health checks.
        const t = tlsConnect({ socket: raw, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
        sockets.push(t);
        t.on('error', () => finish(false));
        stream = t;
      }
      const host = port === 80 || port === 443 ? target.address : `${target.address.includes(':') ? `[${target.address}]` : target.address}:${port}`;
      stream.write(`GET ${hc.path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const eol = head.indexOf('\r\n');
        if (eol >= 0 || head.length > MAX_RESPONSE_HEAD) {
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
          finish(m !== null && matchesSuccessCodes(hc.successCodes, Number(m[1])));
        }
      });
      stream.on('end', () => finish(false));
    });
  });
}
