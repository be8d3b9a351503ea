// `isobar explain` for people: one labelled line per step the request
// takes, the routes passed over with the condition that did not hold, and
// the outcome last, where the eye lands.
import type { ClusterChoice, Explanation } from './explain-request.ts';

const W = 12;
const line = (label: string, text: string): string => `${label.padEnd(W)}${text}`;
const more = (text: string): string => `${' '.repeat(W)}${text}`;

export function renderExplanation(e: Explanation): string {
  const out: string[] = [];
  const r = e.request;
  out.push(line('request', `${r.method} ${r.scheme}://${r.authority}${r.path}${r.query ? `?${r.query}` : ''} from ${r.clientIp}${r.sni !== undefined ? ` (SNI ${r.sni})` : ''}`));
  if (e.loadBalancer) {
    const lb = e.loadBalancer;
    out.push(line('balancer', `${lb.listener} on ${lb.address}: ${lb.protocol}${lb.proxyProtocol ? ', PROXY v2 to the targets' : ''}`));
    if (lb.certificates.length) out.push(more(`certificates (default first, chosen by SNI): ${lb.certificates.join('; ')}`));
    out.push(more(`source ranges ${lb.sourceRanges.join(', ') || 'none: nobody'}; targets ${lb.targets.join(', ') || 'none'}`));
  }
  if (e.listener) {
    const l = e.listener;
    out.push(line('listener', `proxy ${l.name}${l.port !== undefined ? ` :${l.port}` : ''} (${l.tls ? 'TLS' : 'plain HTTP'}${l.proxyProtocol ? ', PROXY protocol' : ''})`));
  }
  if (e.tls) out.push(line('tls', `${e.tls.sni === null ? 'no SNI' : `SNI ${e.tls.sni}`} → ${e.tls.choice}: ${e.tls.detail}`));
  if (e.virtualHost) out.push(line('vhost', `${e.virtualHost.fqdn} (HTTPProxy ${e.virtualHost.httpproxies.join(', ') || '?'})`));
  for (const p of e.passedOver) out.push(line(p === e.passedOver[0] ? 'passed over' : '', `#${p.index} ${p.conditions} (${p.from}): ${p.failed}`));
  if (e.route) {
    out.push(line('route', `#${e.route.index} ${e.route.conditions} (${e.route.from}): ${e.route.action}`));
    for (const s of e.route.settings) out.push(more(s));
  }
  for (const f of e.filters) out.push(line(f === e.filters[0] ? 'filters' : '', `${f.name}: ${f.config}: ${f.verdict}`));
  if (e.upstream) {
    for (const c of e.upstream.clusters) out.push(...cluster(c, c === e.upstream.clusters[0]));
    if (e.upstream.mirror) out.push(line('mirror', e.upstream.mirror));
  }
  if (e.connection) out.push(line('connection', e.connection));
  if (e.reply) {
    const rp = e.reply;
    out.push(line('reply', `${rp.status}${rp.flag !== '-' ? ` (${rp.flag})` : ''}: ${rp.reason}`));
    if (rp.location) out.push(more(`location: ${rp.location}`));
    if (rp.body) out.push(more(`body: ${JSON.stringify(rp.body)}`));
  } else if (e.upstream && !e.connection) {
    out.push(line('outcome', e.upstream.clusters.length > 1 ? 'forwarded to one of these clusters, by weight' : `forwarded to ${e.upstream.clusters[0]?.service}`));
  }
  for (const n of e.notes) out.push(line(n === e.notes[0] ? 'note' : '', n));
  return `${out.join('\n')}\n`;
}

function cluster(c: ClusterChoice, first: boolean): string[] {
  const lines = [line(first ? 'upstream' : '', `${c.share}% ${c.service} (cluster ${c.cluster}): ${c.protocol}, ${c.loadBalancer}`)];
  if (c.tls) {
    const v = c.tls.validation;
    lines.push(
      more(
        `TLS ${c.tls.versions}${c.tls.sni ? `, SNI ${c.tls.sni}` : ''}, ${v ? `certificate validated against CA ${v.caBundle} for ${v.subjectNames.join(' or ')}` : 'certificate not validated'}${c.tls.clientCertificate ? `, client certificate ${c.tls.clientCertificate}` : ''}`,
      ),
    );
  }
  lines.push(more(c.endpoints.length ? `endpoints ${c.endpoints.join(', ')}${c.healthCheck ? ` (${c.healthCheck})` : ''}` : 'no ready endpoint'));
  return lines;
}
