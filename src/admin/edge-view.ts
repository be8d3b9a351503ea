// What the admin server is shown of the running edge: the configs the
// primary last built (the ones its workers run), their version, and the
// proxy's public listeners. The statuses come through AdminOptions.report().
import type { BalancerConfig, ProxyConfig } from '../edge/index.ts';

/** One of the proxy's own listeners, as `serve` opened it. */
export interface ProxyListenerView {
  name: string; // "http" | "https"
  address: string;
  port: number;
  tls: boolean;
  /** A PROXY header is required first (serve --use-proxy-protocol). */
  proxyProtocol: boolean;
}

export interface EdgeView {
  /** Bumped by every build. */
  version: number;
  /** Absent until the first build, or when the role does not run. */
  proxyConfig: ProxyConfig | undefined;
  balancerConfig: BalancerConfig | undefined;
  proxyListeners: ProxyListenerView[];
}
