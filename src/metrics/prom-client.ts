// prom-client, loaded on first use: the worker processes import this folder
// for its counters and series and never format a scrape, so they never
// load the library (it is the primary's alone).

import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

export function promClient(): typeof PromClient {
  return require('prom-client') as typeof PromClient;
}

/** Prometheus' text format, version 0.0.4 (prom-client's Registry.PROMETHEUS_CONTENT_TYPE). */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
