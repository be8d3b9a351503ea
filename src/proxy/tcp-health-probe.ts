// The TCP health check's probe (Envoy's tcp_health_check with no payload,
// which is what Contour configures): a connection that opens within the
// timeout passes, and is closed at once. Through a TLS cluster's connector
// the connection opens when its handshake completes, as with Envoy's
// transport socket.
import type { HealthProbe } from './health-check.ts';
import type { Connector } from './upstream-tls.ts';

export function tcpHealthProbe(address: string, port: number, connector: Connector): HealthProbe {
  return {
    run(timeoutMs) {
      return new Promise<boolean>((resolve) => {
        let done = false;
        const timer = setTimeout(() => {
          done = true;
          resolve(false);
        }, timeoutMs);
        timer.unref();
        connector({ hostname: address, port, protocol: 'tcp:' }, (err, socket) => {
          socket?.destroy();
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(!err && socket !== null);
        });
      });
    },
    close() {},
  };
}
