// L4 forwarding for TLS passthrough (raw bytes, chosen by SNI) and for
// TCPProxy with termination (decrypted stream): pick an endpoint, connect
// with the cluster's connector, then pipe both ways.
import type { Duplex } from 'node:stream';
import type { ProxyContext } from './context.ts';
import { pickBackend, type CompiledTcp } from './route-table.ts';

/** `raw`: passthrough, the client's own TLS goes to the backend as is (its
 *  ClientHello still unread on `downstream`), so the connection is plain TCP
 *  whatever the cluster's protocol says. */
export function forwardTcp(ctx: ProxyContext, downstream: Duplex, tcp: CompiledTcp, clientAddress: string, raw = false): void {
  const backend = pickBackend(tcp.backends, tcp.totalWeight);
  const cluster = backend?.cluster;
  const ep = cluster?.pick({ header: () => undefined, query: '', clientAddress }, undefined);
  if (!cluster || !ep) {
    ctx.stats.upstreamNoHealthy++;
    downstream.destroy();
    return;
  }
  // Envoy's tcp_proxy: over max_connections (or the host's
  // per_host_max_connections) the connection is closed (UO).
  if (!cluster.budget.openConnection(ep)) {
    ctx.stats.upstreamOverflow++;
    cluster.counters.cxOverflow++;
    downstream.destroy();
    return;
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    ep.active--;
    cluster.budget.closeConnection();
  };
  downstream.pause();
  downstream.on('error', () => upstream?.destroy());
  let upstream: Duplex | undefined;
  let closed = false;
  downstream.once('close', () => {
    closed = true;
    upstream?.destroy();
  });
  ep.active++;
  const connector = raw && ep.connector !== ep.plainConnector ? ep.plainConnector : ep.connector;
  connector({ hostname: ep.address, port: ep.port, protocol: 'tcp:' }, (err, sock) => {
    if (err || !sock) {
      release();
      ctx.stats.upstreamConnectFailures++;
      ctx.warnOnce(`tcp|${cluster.def.name}|${ep.hostPort}`, { cluster: cluster.def.name, upstream: ep.hostPort, reason: err?.message }, 'TCP upstream connect failed');
      downstream.destroy();
      return;
    }
    if (closed) {
      release();
      sock.destroy();
      return;
    }
    upstream = sock;
    sock.on('error', () => downstream.destroy());
    sock.once('close', () => {
      release();
      downstream.destroy();
    });
    downstream.pipe(sock);
    sock.pipe(downstream);
    downstream.resume();
  });
}
