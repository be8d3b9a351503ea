// The page's entry: the graph from the admin server's event stream (or by
// polling /api/graph when the stream is down), rates from /metrics, and the
// view redrawn from that state whenever any of it changes.
import { h } from './dom.js';
import { connected, drawEdges, renderGraph } from './graph-view.js';
import { renderDetails } from './details.js';
import { Rates, rateText } from './metrics.js';

const state = {
  graph: undefined,
  selected: undefined,
  lit: undefined,
  filter: '',
  live: 'connecting',
  rates: undefined,
};

const $ = (sel) => document.querySelector(sel);

function render() {
  const g = state.graph;
  const status = $('#connection');
  status.textContent = state.live;
  status.dataset.state = state.live;
  if (!g) return;
  const s = g.summary;
  const stats = [
    h('span', { class: 'stat', 'data-stat': 'version' }, `build ${g.version}`),
    h('span', { class: 'stat' }, `${s.virtualHosts} virtual hosts`),
    h('span', { class: `stat${s.httpproxies.invalid + s.httpproxies.orphaned ? ' bad' : ''}`, 'data-stat': 'httpproxies' }, `HTTPProxies ${s.httpproxies.valid} valid, ${s.httpproxies.invalid} invalid, ${s.httpproxies.orphaned} orphaned`),
    s.certificatesExpiring ? h('span', { class: 'stat bad' }, `${s.certificatesExpiring} certificate(s) expiring`) : null,
    h('span', { class: 'stat', 'data-stat': 'rate' }, state.rates.available === false ? 'rates: no /metrics' : state.rates.available ? `${rateText(state.rates.current.total) || '0 req/s'}` : 'rates…'),
  ];
  $('#summary').replaceChildren(...stats.filter(Boolean));
  if (state.selected && !g.nodes.some((n) => n.id === state.selected)) select(undefined);
  state.lit = state.selected ? connected(g, [state.selected]) : undefined;
  renderGraph($('#graph'), g, state, select);
}

function select(id) {
  state.selected = id === state.selected ? undefined : id;
  const panel = $('#details');
  const node = state.graph?.nodes.find((n) => n.id === state.selected);
  if (!node) {
    state.selected = undefined;
    panel.hidden = true;
    panel.replaceChildren();
  } else void renderDetails(panel, node, () => select(state.selected));
  render();
}

function setGraph(g) {
  state.graph = g;
  render();
}

/** The stream first; polling only while it is down (EventSource reconnects by itself). */
function follow() {
  let poll;
  const startPolling = () => {
    poll ??= setInterval(async () => {
      try {
        const res = await fetch('/api/graph', { cache: 'no-store' });
        if (res.ok) setGraph(await res.json());
      } catch {
        // the server is away; the stream will say when it is back
      }
    }, 2000);
  };
  const es = new EventSource('/api/events');
  es.addEventListener('graph', (e) => {
    if (poll) {
      clearInterval(poll);
      poll = undefined;
    }
    state.live = 'live';
    setGraph(JSON.parse(e.data));
  });
  es.addEventListener('error', () => {
    state.live = 'reconnecting';
    render();
    startPolling();
  });
}

function main() {
  state.rates = new Rates(render);
  $('#filter').addEventListener('input', (e) => {
    state.filter = e.target.value.trim();
    render();
  });
  window.addEventListener('resize', () => {
    const board = document.querySelector('.board');
    if (board && state.graph) drawEdges(board, board.querySelector('svg'), state.graph, state);
  });
  follow();
  state.rates.start();
}

main();
