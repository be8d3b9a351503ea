// The benchmark cases: which listener of a system each one loads, with which
// client, path and headers.

import { LOOPBACK } from './ports.ts';
import { EDGE_HOST, H2_HOST, PLAIN_HOST } from './pki.ts';
import type { BodyPath } from './backend.ts';
import type { SystemTargets } from './system.ts';

export interface BenchCase {
  id: string;
  title: string;
  target: keyof SystemTargets;
  path: BodyPath;
  client: 'wrk' | 'h2load';
  tls: boolean;
  /** Host header (wrk) or URL authority (h2load: also the TLS SNI) */
  host: string;
  /** a new connection (and TLS handshake) per request */
  connectionClose?: boolean;
  /** the headline number: requests/s, or MB/s for bulk transfers */
  metric: 'rps' | 'MBps';
}

export const CASES: BenchCase[] = [
  { id: 'chain-64', title: 'chain, keep-alive, 64 B', target: 'chain', path: '/64', client: 'wrk', tls: true, host: EDGE_HOST, metric: 'rps' },
  { id: 'chain-1k', title: 'chain, keep-alive, 1 KiB', target: 'chain', path: '/1k', client: 'wrk', tls: true, host: EDGE_HOST, metric: 'rps' },
  { id: 'proxy-plain', title: 'proxy alone, plain HTTP, 64 B', target: 'proxyPlain', path: '/64', client: 'wrk', tls: false, host: PLAIN_HOST, metric: 'rps' },
  { id: 'lb-only', title: 'LB alone, TLS -> plain, 64 B', target: 'lbOnly', path: '/64', client: 'wrk', tls: true, host: EDGE_HOST, metric: 'rps' },
  {
    id: 'chain-handshake', title: 'chain, new TLS connection per request', target: 'chain', path: '/64', client: 'wrk', tls: true, host: EDGE_HOST,
    connectionClose: true, metric: 'rps',
  },
  { id: 'chain-1m', title: 'chain, 1 MiB bodies', target: 'chain', path: '/1m', client: 'wrk', tls: true, host: EDGE_HOST, metric: 'MBps' },
  { id: 'h2-64', title: 'HTTP/2 at the proxy (TLS), 64 B', target: 'h2', path: '/64', client: 'h2load', tls: true, host: H2_HOST, metric: 'rps' },
];

export function caseUrl(c: BenchCase, port: number): { url: string; headers: string[]; connectTo?: string } {
  if (c.client === 'h2load') {
    // h2load takes SNI and :authority from the URL; --connect-to sends it to loopback.
    return { url: `https://${c.host}:${port}${c.path}`, headers: [], connectTo: `${LOOPBACK}:${port}` };
  }
  const headers = [`Host: ${c.host}`];
  if (c.connectionClose) headers.push('Connection: close');
  return { url: `${c.tls ? 'https' : 'http'}://${LOOPBACK}:${port}${c.path}`, headers };
}
