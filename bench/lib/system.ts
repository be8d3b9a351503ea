// What every system under test (isobar, HAProxy, nginx, and the "direct"
// ceiling) exposes to the cases: where each kind of traffic enters it.

import type { BenchPki } from './pki.ts';
import type { BackendPorts } from './backend.ts';

export interface SystemTargets {
  /** HTTPS load balancer listener: TLS terminated, PROXY v2 to the HTTP proxy
   *  listener, Host routing, upstream TLS with validation to the backend. */
  chain: number;
  /** The HTTP proxy alone: plain HTTP in (Host plain.example.test), plain HTTP out. */
  proxyPlain: number;
  /** The load balancer alone: TLS terminated, plain TCP to the backend's plain port. */
  lbOnly: number;
  /** HTTP/2 over TLS terminated by the proxy itself (Host h2.example.test),
   *  upstream TLS with validation to the backend. Absent: not served (the
   *  node floor has no HTTP/2), the case is not measured for this system. */
  h2?: number;
}

export interface SystemUnderTest {
  name: string;
  targets: SystemTargets;
  /** Root pid of the system's processes (its CPU is summed over the tree). */
  rootPid?: number;
  /** Prometheus endpoint (isobar's admin /metrics), scraped during runs with --scrape-metrics */
  metricsUrl?: string;
  stop(): Promise<void>;
}

export interface StartContext {
  workDir: string;
  pki: BenchPki;
  backend: BackendPorts;
  /** processes / threads per system (both cores by default) */
  workers: number;
  log(line: string): void;
  /** isobar only: write V8 CPU profiles of every isobar process into this folder */
  profileDir?: string;
  /** A command (and its arguments) the system's root process runs under,
   *  flags for its node (forked workers inherit them as execArgv), and how
   *  long start-up may take then: bench/instructions.ts runs the node
   *  systems under valgrind. */
  wrap?: { command: string[]; nodeFlags: string[]; startTimeoutMs: number };
}

/** Thrown when a system cannot run at all on this checkout (reported, not fatal). */
export class SkipSystem extends Error {}
