// The panel a click opens: the node's conditions (Contour's, for the
// HTTPProxies behind it; the Service's problems for a load balancer
// listener) and its part of the running config, redacted by the server.
import { h } from './dom.js';

function conditions(p) {
  return h(
    'div',
    { class: `proxy status-${p.currentStatus === 'valid' ? 'ok' : 'error'}` },
    h('h4', {}, `HTTPProxy ${p.namespace}/${p.name}`, h('span', { class: `pill status-${p.currentStatus === 'valid' ? 'ok' : 'error'}` }, p.currentStatus)),
    h('p', { class: 'description' }, p.description),
    p.conditions.map((c) =>
      h(
        'div',
        { class: 'condition' },
        h('p', {}, h('code', {}, `${c.type}=${c.status}`), ` ${c.reason}: ${c.message}`),
        (c.errors ?? []).length ? h('ul', { class: 'errors' }, c.errors.map((e) => h('li', {}, h('code', {}, `${e.type}/${e.reason}`), ` ${e.message}`))) : null,
        (c.warnings ?? []).length ? h('ul', { class: 'warnings' }, c.warnings.map((e) => h('li', {}, h('code', {}, `${e.type}/${e.reason}`), ` ${e.message}`))) : null,
      ),
    ),
  );
}

export async function renderDetails(panel, node, onClose) {
  panel.hidden = false;
  const head = h(
    'header',
    {},
    h('h3', {}, node.label),
    h('button', { type: 'button', class: 'close', 'aria-label': 'close', onclick: onClose }, '×'),
  );
  const summary = h(
    'div',
    { class: 'summary' },
    h('p', {}, h('span', { class: `pill status-${node.status}` }, node.status), ' ', node.kind, node.detail ? ` · ${node.detail}` : ''),
    node.message ? h('p', { class: 'message' }, node.message) : null,
  );
  panel.replaceChildren(head, summary, h('p', { class: 'loading' }, 'loading…'));
  let detail;
  try {
    const res = await fetch(`/api/object?id=${encodeURIComponent(node.id)}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(await res.text());
    detail = await res.json();
  } catch (err) {
    panel.replaceChildren(head, summary, h('p', { class: 'message' }, `cannot load details: ${err.message}`));
    return;
  }
  const sections = [
    detail.httpproxies && detail.httpproxies.length ? h('section', { class: 'conditions' }, h('h4', {}, 'Conditions'), detail.httpproxies.map(conditions)) : null,
    detail.problems && detail.problems.length
      ? h('section', { class: 'problems' }, h('h4', {}, 'Problems'), h('ul', {}, detail.problems.map((p) => h('li', { class: `severity-${p.severity}` }, `${p.severity}: ${p.field ? `${p.field}: ` : ''}${p.message}`))))
      : null,
    detail.config !== undefined ? h('section', { class: 'config' }, h('h4', {}, 'Configuration'), h('pre', {}, JSON.stringify(detail.config, null, 2))) : null,
  ];
  panel.replaceChildren(head, summary, ...sections.filter(Boolean));
}
