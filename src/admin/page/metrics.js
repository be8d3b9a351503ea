// Live request and error rates, polled from the admin server's /metrics
// (Prometheus text, Envoy's and isobar's series names): two samples a few
// seconds apart give per-second rates, summed per virtual host, cluster and
// load balancer listener. Without /metrics the page says so and goes on.

/** Which series count requests and errors, and the label that names each
 *  object. One table, so a renamed series is one line here. */
const SERIES = {
  total: { requests: 'envoy_http_downstream_rq_total', classes: 'envoy_http_downstream_rq_xx' },
  cluster: { requests: 'envoy_cluster_upstream_rq_total', classes: 'envoy_cluster_upstream_rq_xx', label: 'envoy_cluster_name' },
  vhost: { requests: 'isobar_vhost_rq_total', classes: 'isobar_vhost_rq_xx', label: 'vhost' },
  listener: { requests: 'isobar_lb_new_flow_count_total', label: 'listener' },
};
const CLASS_LABEL = 'envoy_response_code_class';

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
  const out = { total: { rq: 0, err: 0 }, cluster: {}, vhost: {}, listener: {} };
  const add = (bucket, key, field, v) => {
    const b = (bucket[key] ??= { rq: 0, err: 0 });
    b[field] += v;
  };
  for (const [name, labels, value] of rows) {
    if (name === SERIES.total.requests) out.total.rq += value;
    if (name === SERIES.total.classes && labels[CLASS_LABEL] === '5') out.total.err += value;
    for (const kind of ['cluster', 'vhost', 'listener']) {
      const s = SERIES[kind];
      const key = labels[s.label];
      if (key === undefined) continue;
      if (name === s.requests) add(out[kind], key, 'rq', value);
      if (s.classes && name === s.classes && labels[CLASS_LABEL] === '5') add(out[kind], key, 'err', value);
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
    this.current = { total: { rq: 0, err: 0 }, cluster: {}, vhost: {}, listener: {} };
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
          for (const kind of ['cluster', 'vhost', 'listener']) {
            for (const [k, v] of Object.entries(sample.totals[kind])) next[kind][k] = rate(this.last.totals[kind][k] ?? v, v, s);
          }
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
  return `${rq} req/s${r.err > 0 ? ` · ${pct}% 5xx` : ''}`;
}
