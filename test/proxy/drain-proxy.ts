// The proxy the drain tests run: a plain and a TLS listener serving one
// virtual host whose backend answers /slow... after a delay.
import { ProxyRuntime, type DownstreamSettings } from '../../src/proxy/index.ts';
import { createCa } from '../support/pki.ts';
import { cluster, config, route, secureVhost, vhost } from './fixtures.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

export const DRAIN_HOST = 'app.test';

export interface DrainProxy {
  runtime: ProxyRuntime;
  upstream: RawUpstream;
  /** What a TLS client needs to trust the proxy's certificate. */
  tls: { servername: string; ca: string };
  port: (name: 'http' | 'https') => number;
  close: () => Promise<void>;
}

export async function drainProxy(o: { drainGraceMs: number; slowMs: number; downstream?: DownstreamSettings }): Promise<DrainProxy> {
  const upstream = await rawUpstream({ delay: (r) => (r.target.startsWith('/slow') ? o.slowMs : 0) });
  const ca = await createCa();
  const cert = await ca.issue({ dnsNames: [DRAIN_HOST] });
  const runtime = new ProxyRuntime({
    listeners: [
      { name: 'http', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: false },
      { name: 'https', host: '127.0.0.1', port: 0, tls: true, proxyProtocol: false },
    ],
    drainGraceMs: o.drainGraceMs,
    ...(o.downstream !== undefined ? { downstream: o.downstream } : {}),
  });
  const routes = [route({ to: 'app' })];
  runtime.apply(
    config({
      clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])],
      secrets: [{ id: 'default/app', ...cert }],
      httpVirtualHosts: [vhost(DRAIN_HOST, routes)],
      httpsVirtualHosts: [secureVhost(DRAIN_HOST, routes, { secretId: 'default/app' })],
    }),
  );
  await runtime.listen();
  return {
    runtime,
    upstream,
    tls: { servername: DRAIN_HOST, ca: ca.certPem },
    port: (name) => runtime.address(name).port,
    close: async () => {
      await runtime.close(0);
      await upstream.close();
    },
  };
}
