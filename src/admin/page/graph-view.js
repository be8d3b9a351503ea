// The graph as six columns of cards, left to right as a request travels
// (load balancer listeners → proxy listeners → virtual hosts → routes →
// clusters → endpoints), joined by curves drawn behind them; HTTPProxies
// and certificates listed below. Selecting a card lights its path.
import { h, svg } from './dom.js';
import { rateText } from './metrics.js';

export const COLUMNS = [
  ['lb-listener', 'Load balancer listeners'],
  ['proxy-listener', 'Proxy listeners'],
  ['vhost', 'Virtual hosts'],
  ['route', 'Routes'],
  ['cluster', 'Clusters'],
  ['endpoint', 'Endpoints'],
];
const IN_COLUMNS = new Set(COLUMNS.map(([k]) => k));
/** More cards than this per column are summarised: use the filter. */
const MAX_PER_COLUMN = 400;

/** Orders each column by where its parents sit in the column before, so curves cross less. */
function order(nodes, edges) {
  const byKind = new Map(COLUMNS.map(([k]) => [k, []]));
  for (const n of nodes) byKind.get(n.kind)?.push(n);
  const parents = new Map();
  for (const e of edges) (parents.get(e.to) ?? parents.set(e.to, []).get(e.to)).push(e.from);
  const pos = new Map();
  for (const [kind] of COLUMNS) {
    const list = byKind.get(kind);
    const rank = (n) => {
      let best = Infinity;
      for (const p of parents.get(n.id) ?? []) if (pos.has(p)) best = Math.min(best, pos.get(p));
      return best;
    };
    const ranked = list.map((n, i) => ({ n, r: rank(n), i }));
    ranked.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r - b.r));
    ranked.forEach(({ n }, i) => pos.set(n.id, i));
    byKind.set(kind, ranked.map(({ n }) => n));
  }
  return byKind;
}

/** Which nodes are visible under the filter: matching virtual hosts (by
 *  fqdn) and everything on their paths; with no filter, all. */
function visibleIds(graph, filter) {
  if (!filter) return new Set(graph.nodes.map((n) => n.id));
  const f = filter.toLowerCase();
  const seeds = graph.nodes.filter((n) => `${n.label} ${n.detail ?? ''}`.toLowerCase().includes(f)).map((n) => n.id);
  return connected(graph, seeds);
}

/** Everything upstream and downstream of `seeds`. */
export function connected(graph, seeds) {
  const next = new Map();
  const prev = new Map();
  for (const e of graph.edges) {
    (next.get(e.from) ?? next.set(e.from, []).get(e.from)).push(e.to);
    (prev.get(e.to) ?? prev.set(e.to, []).get(e.to)).push(e.from);
  }
  const out = new Set(seeds);
  for (const links of [next, prev]) {
    const seen = new Set(seeds);
    const stack = [...seeds];
    while (stack.length) {
      for (const b of links.get(stack.pop()) ?? []) {
        if (seen.has(b)) continue;
        seen.add(b);
        out.add(b);
        stack.push(b);
      }
    }
  }
  return out;
}

/** "2/3 endpoints healthy" on a cluster, from the proxy's health checks. */
function membership(n, state) {
  const m = state.rates.membershipOf(n);
  if (!m || m.total === 0) return null;
  return h('span', { class: `health ${m.healthy < m.total ? 'health-unhealthy' : 'health-healthy'}`, 'data-health': `${m.healthy}/${m.total}` }, `${m.healthy}/${m.total} endpoints healthy`);
}

function card(n, state, onSelect) {
  const rates = state.rates.forNode(n);
  return h(
    'button',
    {
      class: `card status-${n.status}${state.selected === n.id ? ' selected' : ''}${state.lit && !state.lit.has(n.id) ? ' dim' : ''}`,
      'data-id': n.id,
      'data-kind': n.kind,
      'data-status': n.status,
      type: 'button',
      title: n.message ?? n.detail ?? n.label,
      onclick: () => onSelect(n.id),
    },
    h('span', { class: 'label' }, n.label),
    n.detail ? h('span', { class: 'detail' }, n.detail) : null,
    n.targets && n.targets.length
      ? h('span', { class: 'targets' }, n.targets.map((t) => h('span', { class: `target health-${t.health}`, 'data-health': t.health, title: `${t.address}:${t.port} ${t.health}` }, `${t.address}:${t.port} ${t.health}`)))
      : null,
    rates ? h('span', { class: 'rate' }, rateText(rates)) : null,
    membership(n, state),
    n.message && n.status !== 'ok' ? h('span', { class: 'message' }, n.message) : null,
  );
}

export function renderGraph(root, graph, state, onSelect) {
  const visible = visibleIds(graph, state.filter);
  const nodes = graph.nodes.filter((n) => visible.has(n.id));
  const columns = order(nodes.filter((n) => IN_COLUMNS.has(n.kind)), graph.edges);
  const lines = svg('svg', { class: 'edges', 'aria-hidden': 'true' });
  const grid = h(
    'div',
    { class: 'columns' },
    COLUMNS.map(([kind, title]) => {
      const list = columns.get(kind) ?? [];
      const shown = list.slice(0, MAX_PER_COLUMN);
      return h(
        'section',
        { class: 'column', 'data-column': kind },
        h('h2', {}, title, h('span', { class: 'count' }, String(list.length))),
        shown.length === 0 ? h('p', { class: 'empty' }, 'none') : shown.map((n) => card(n, state, onSelect)),
        list.length > shown.length ? h('p', { class: 'more' }, `${list.length - shown.length} more: narrow them with the filter`) : null,
      );
    }),
  );
  const board = h('div', { class: 'board' }, lines, grid);

  const proxies = nodes.filter((n) => n.kind === 'httpproxy');
  const certs = nodes.filter((n) => n.kind === 'certificate');
  const lists = h(
    'div',
    { class: 'lists' },
    h('section', { class: 'list', 'data-list': 'httpproxy' }, h('h2', {}, 'HTTPProxies', h('span', { class: 'count' }, String(proxies.length))), proxies.length ? proxies.map((n) => card(n, state, onSelect)) : h('p', { class: 'empty' }, 'none')),
    h('section', { class: 'list', 'data-list': 'certificate' }, h('h2', {}, 'Certificates', h('span', { class: 'count' }, String(certs.length))), certs.length ? certs.map((n) => card(n, state, onSelect)) : h('p', { class: 'empty' }, 'none')),
  );
  root.replaceChildren(board, lists);
  requestAnimationFrame(() => drawEdges(board, lines, graph, state));
}

/** Curves from the right edge of a card to the left edge of the next column's. */
export function drawEdges(board, lines, graph, state) {
  const box = board.getBoundingClientRect();
  lines.setAttribute('width', String(board.scrollWidth));
  lines.setAttribute('height', String(board.scrollHeight));
  lines.replaceChildren();
  const at = new Map();
  for (const el of board.querySelectorAll('.card')) at.set(el.dataset.id, el.getBoundingClientRect());
  for (const e of graph.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b || b.left <= a.left) continue;
    const x1 = a.right - box.left;
    const y1 = a.top + a.height / 2 - box.top;
    const x2 = b.left - box.left;
    const y2 = b.top + b.height / 2 - box.top;
    const mid = (x1 + x2) / 2;
    const lit = state.lit && state.lit.has(e.from) && state.lit.has(e.to);
    lines.append(svg('path', { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, class: `edge${lit ? ' lit' : ''}${state.lit && !lit ? ' dim' : ''}` }));
    if (e.label && /%$/.test(e.label) && e.label !== '100%') {
      const t = svg('text', { x: mid, y: (y1 + y2) / 2 - 3, class: 'edge-label' });
      t.textContent = e.label;
      lines.append(t);
    }
  }
}
