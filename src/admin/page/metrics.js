// Live request and error rates, polled from the admin server's /metrics
// (Prometheus text, Envoy's and isobar's series names): two samples a few
// seconds apart give per-second rates, summed per virtual host, cluster and
// load balancer listener. Without /metrics the page says so and goes on.

/** Which series count requests and errors, and how each names its object.
 *  One table, so a renamed series is one line here. */
const SERIES = {
  total: { requests: 'envoy_http_downstream_rq_total', errors: ['envoy_http_downstream_rq_xx', 'envoy_response_code_class', '5'] },
  cluster: { key: (l) => l.envoy_cluster_name, requests: 'envoy_cluster_upstream_rq_total', errors: ['envoy_cluster_upstream_rq_xx', 'envoy_response_code_class', '5'] },
  vhost: { key: (l) => l.vhost, requests: 'isobar_vhost_requests_total', errors: ['isobar_vhost_responses_total', 'code_class', '5xx'] },
  // isobar_lb_* label a listener by load balancer and "PROTOCOL:port".
  listener: { key: (l) => (l.load_balancer && l.listener ? `${l.load_balancer}:${l.listener.split(':')[1]}` : undefined), requests: 'isobar_lb_new_flows_total', unit: 'flows/s' },
};
const KINDS = ['cluster', 'vhost', 'listener'];
/** Healthy and total endpoints per cluster, as the proxy's health checks see them. */
const MEMBERSHIP = { healthy: 'envoy_cluster_membership_healthy', total: 'envoy_cluster_membership_total' };

/** Parses the text exposition format into [name, labels, value] rows. */
export function parseMetrics(text) {
  const rows = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_s, c) => (c === 'n' ? '\n' : c));
    const value = Number(m[4]);
    if (Number.isFinite(value)) rows.push([m[1], labels, value]);
  }
  return rows;
}

/** Sums of each counter per object: { total: {rq, err}, cluster: {name: {rq, err}}, ... } */
function totals(rows) {
  const out = { total: { rq: 0, err: 0 }, cluster: {}, vhost: {}, listener: {}, membership: {} };
  const add = (bucket, key, field, v) => {
    const b = (bucket[key] ??= { rq: 0, err: 0 });
    b[field] += v;
  };
  const isError = (s, name, labels) => s.errors !== undefined && name === s.errors[0] && labels[s.errors[1]] === s.errors[2];
  for (const [name, labels, value] of rows) {
    if (name === SERIES.total.requests) out.total.rq += value;
    if (isError(SERIES.total, name, labels)) out.total.err += value;
    for (const kind of KINDS) {
      const s = SERIES[kind];
      if (name !== s.requests && !isError(s, name, labels)) continue;
      const key = s.key(labels);
      if (key === undefined) continue;
      add(out[kind], key, name === s.requests ? 'rq' : 'err', value);
    }
    if (name === MEMBERSHIP.healthy || name === MEMBERSHIP.total) {
      const m = (out.membership[labels.envoy_cluster_name] ??= { healthy: 0, total: 0 });
      m[name === MEMBERSHIP.healthy ? 'healthy' : 'total'] += value;
    }
  }
  return out;
}

function rate(a, b, seconds) {
  // A counter that went down was reset (a restarted worker): no rate this time.
  const rq = b.rq >= a.rq ? (b.rq - a.rq) / seconds : 0;
  const err = b.err >= a.err ? (b.err - a.err) / seconds : 0;
  return { rq, err };
}

export class Rates {
  constructor(onChange, intervalMs = 2000) {
    this.onChange = onChange;
    this.intervalMs = intervalMs;
    this.available = undefined;
    this.current = { total: { rq: 0, err: 0 }, cluster: {}, vhost: {}, listener: {}, membership: {} };
    this.last = undefined;
  }

  start() {
    const tick = async () => {
      try {
        const res = await fetch('/metrics', { cache: 'no-store' });
        if (!res.ok) throw new Error(String(res.status));
        const sample = { at: performance.now(), totals: totals(parseMetrics(await res.text())) };
        if (this.last) {
          const s = Math.max(0.001, (sample.at - this.last.at) / 1000);
          const next = { total: rate(this.last.totals.total, sample.totals.total, s), cluster: {}, vhost: {}, listener: {} };
          for (const kind of KINDS) {
            for (const [k, v] of Object.entries(sample.totals[kind])) next[kind][k] = { ...rate(this.last.totals[kind][k] ?? v, v, s), unit: SERIES[kind].unit };
          }
          next.membership = sample.totals.membership;
          this.current = next;
        }
        this.last = sample;
        this.available = true;
      } catch {
        this.available = false;
      }
      this.onChange();
    };
    void tick();
    this.timer = setInterval(tick, this.intervalMs);
  }

  /** A cluster's endpoint health from the proxy's health checks, or undefined. */
  membershipOf(node) {
    const c = node.metrics?.cluster;
    return c === undefined ? undefined : this.current.membership?.[c];
  }

  /** The rates of one graph node (by its metrics names), or undefined. */
  forNode(node) {
    const m = node.metrics;
    if (!m || !this.last) return undefined;
    if (m.cluster !== undefined) return this.current.cluster[m.cluster];
    if (m.vhost !== undefined) return this.current.vhost[m.vhost];
    if (m.listener !== undefined) return this.current.listener[m.listener];
    return undefined;
  }
}

/** "12.5 req/s · 2% 5xx" */
export function rateText(r) {
  if (!r) return '';
  const rq = r.rq >= 10 ? Math.round(r.rq) : Math.round(r.rq * 10) / 10;
  const pct = r.rq > 0 ? Math.round((r.err / r.rq) * 1000) / 10 : 0;
  return `${rq} ${r.unit ?? 'req/s'}${r.err > 0 ? ` · ${pct}% 5xx` : ''}`;
}
