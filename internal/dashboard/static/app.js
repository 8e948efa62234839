// The wsgate live page: one EventSource (api/events) feeds everything; plots are SVG drawn here.
const $ = (id) => document.getElementById(id);
const api = (path) => new URL('api/' + path, location.href).toString();
const state = { history: [], tail: [], paused: false, es: null };
const MAX_TAIL = 500;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
}

function fmt(n) {
  if (n == null || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return String(Math.round(n * 100) / 100);
}

function ago(t) {
  const s = Math.max(0, Math.round((Date.now() - new Date(t).getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

// --- plots ---

const SVG = 'http://www.w3.org/2000/svg';
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// plot draws series (arrays of numbers, one per class s1, s2) over the last points.
function plot(svg, series) {
  const W = 600, H = 160, L = 34, B = 14, T = 6;
  svg.replaceChildren();
  const n = Math.max(...series.map((s) => s.length), 2);
  let max = Math.max(1, ...series.flat());
  const mag = 10 ** Math.floor(Math.log10(max));
  max = Math.ceil(max / mag) * mag;
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - B - T) * (i / 4);
    svg.append(svgEl('line', { x1: L, x2: W, y1: y, y2: y, class: 'grid' }));
    const t = svgEl('text', { x: L - 4, y: y + 3, 'text-anchor': 'end' });
    t.textContent = fmt(max * (1 - i / 4));
    svg.append(t);
  }
  const secs = Math.round(n);
  const label = svgEl('text', { x: L, y: H - 2 });
  label.textContent = `${secs}s ago`;
  svg.append(label);
  const now = svgEl('text', { x: W, y: H - 2, 'text-anchor': 'end' });
  now.textContent = 'now';
  svg.append(now);
  series.forEach((s, k) => {
    if (s.length < 2) return;
    const pts = s.map((v, i) => {
      const x = L + (W - L) * ((n - s.length + i) / (n - 1));
      const y = T + (H - B - T) * (1 - v / max);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    svg.append(svgEl('polyline', { points: pts.join(' '), class: `s${k + 1}` }));
  });
}

function drawPlots() {
  const h = state.history;
  plot($('plot-connections'), [h.map((p) => p.connections)]);
  plot($('plot-churn'), [h.map((p) => p.connectsPerSec), h.map((p) => p.disconnectsPerSec)]);
  plot($('plot-messages'), [h.map((p) => p.messagesInPerSec), h.map((p) => p.messagesOutPerSec)]);
}

// --- stats ---

function rows(tbody, items, cells, bad) {
  tbody.replaceChildren(...items.map((it) => {
    const tr = el('tr', bad && bad(it) ? { class: 'bad' } : {});
    for (const c of cells(it)) tr.append(typeof c === 'object' && c && c.num !== undefined ? el('td', { class: 'num' }, c.num) : el('td', {}, c));
    return tr;
  }));
}

function onStats(s) {
  const p = s.point;
  state.history.push(p);
  if (state.history.length > 300) state.history.shift();
  $('connections-now').textContent = fmt(s.localConnections);
  const nodes = s.cluster.nodes || [];
  $('cluster-connections').textContent = nodes.length ? fmt(nodes.reduce((a, n) => a + n.connections, 0)) : '–';
  $('users-online').textContent = s.cluster.nodes ? fmt(s.cluster.usersOnline) + (s.cluster.usersCapped ? '+' : '') : '–';
  $('connects-rate').textContent = fmt(p.connectsPerSec);
  $('refused-rate').textContent = p.refusedPerSec ? `${fmt(p.refusedPerSec)} refused / s` : '';
  $('disconnects-rate').textContent = fmt(p.disconnectsPerSec);
  $('messages-rate').textContent = `${fmt(p.messagesInPerSec)} / ${fmt(p.messagesOutPerSec)}`;
  const routes = s.routes || [];
  rows($('routes').tBodies[0], routes, (r) => [r.route, { num: fmt(r.calls) }, { num: fmt(r.avgMs) }, { num: fmt(r.p95Ms) }, { num: fmt(r.errors) }, { num: `${fmt(r.errorRate * 100)}%` }], (r) => r.errors > 0);
  const slowest = routes[0];
  const failing = [...routes].sort((a, b) => b.errorRate - a.errorRate)[0];
  const call = [];
  if (slowest && slowest.avgMs > 0) call.push(`Slowest: ${slowest.route} (${fmt(slowest.avgMs)} ms avg)`);
  if (failing && failing.errors > 0) call.push(`Most failing: ${failing.route} (${fmt(failing.errorRate * 100)}% errors)`);
  $('route-callouts').textContent = call.join(' · ') || (routes.length ? '' : 'No integration calls in the last minute.');
  rows($('nodes').tBodies[0], nodes, (n) => [n.node + (n.self ? ' (this page)' : ''), { num: fmt(n.connections) }]);
  rows($('users').tBodies[0], s.cluster.users || [], (u) => [u.userId, { num: fmt(u.connections) }, ago(u.lastActiveAt)]);
  rows($('groups').tBodies[0], s.cluster.groups || [], (g) => [g.group, { num: fmt(g.size) }]);
  $('cluster-error').textContent = s.cluster.error || '';
  drawPlots();
}

// --- access log tail ---

function matches(l) {
  const c = $('f-conn').value.trim(), r = $('f-route').value.trim(), st = $('f-status').value.trim();
  return (!c || (l.connectionId || '').includes(c)) && (!r || (l.routeKey || '').includes(r)) && (!st || (l.status || '').startsWith(st));
}

function tailRow(l) {
  const skip = new Set(['connectionId', 'routeKey', 'status']);
  const details = l.attrs.filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${v}`).join(' ');
  const bad = l.status && !/^[123]/.test(l.status);
  const tr = el('tr', bad ? { class: 'bad' } : {},
    el('td', {}, new Date(l.t).toLocaleTimeString()), el('td', {}, l.msg),
    el('td', {}, el('a', { href: '#', onclick: (e) => { e.preventDefault(); lookup(l.connectionId); } }, l.connectionId || '')),
    el('td', {}, l.routeKey || ''), el('td', {}, l.status || ''), el('td', {}, details));
  tr.dataset.connectionId = l.connectionId || '';
  return tr;
}

function drawTail() {
  const body = $('tail').tBodies[0];
  body.replaceChildren(...state.tail.filter(matches).slice(-200).reverse().map(tailRow));
}

function onLog(l) {
  state.tail.push(l);
  if (state.tail.length > MAX_TAIL) state.tail.shift();
  if (!state.paused && matches(l)) {
    const body = $('tail').tBodies[0];
    body.prepend(tailRow(l));
    while (body.rows.length > 200) body.deleteRow(-1);
  }
}

// --- connection search ---

async function lookup(id) {
  id = (id || '').trim();
  if (!id) return;
  $('conn-id').value = id;
  const box = $('conn-record');
  box.replaceChildren(el('p', { class: 'muted' }, 'Looking up…'));
  const res = await fetch(api('connections/' + encodeURIComponent(id)));
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) return signIn();
  if (!res.ok) {
    box.replaceChildren(el('p', { class: 'error', id: 'conn-error' }, body.error || `HTTP ${res.status}`));
    return;
  }
  const dl = el('dl', { id: 'conn-fields' });
  const add = (k, v) => dl.append(el('dt', {}, k), el('dd', { 'data-field': k }, v));
  add('connectionId', body.id);
  add('node', body.node);
  add('userId', body.userId || '–');
  add('connectedAt', `${new Date(body.connectedAt).toISOString()} (${ago(body.connectedAt)})`);
  add('lastActiveAt', `${new Date(body.lastActiveAt).toISOString()} (${ago(body.lastActiveAt)})`);
  add('groups', body.groups.length ? body.groups.join(', ') : '–');
  add('sourceIp', body.sourceIp || '–');
  if (body.path) add('path', body.path);
  const btn = el('button', { id: 'disconnect-btn', class: 'danger', onclick: () => disconnect(body.id) }, 'Disconnect');
  box.replaceChildren(dl, btn);
}

async function disconnect(id) {
  const res = await fetch(api('connections/' + encodeURIComponent(id) + '/disconnect'), { method: 'POST', headers: { 'X-Wsgate-Dashboard': '1' } });
  const body = await res.json().catch(() => ({}));
  const msg = res.ok ? el('p', { id: 'disconnect-result' }, `Disconnected ${id}: the gateway closed it with 1000 and runs its $disconnect.`)
    : el('p', { id: 'disconnect-result', class: 'error' }, body.error || `HTTP ${res.status}`);
  $('conn-record').append(msg);
}

// --- sign-in and the stream ---

function signIn() {
  if (state.es) state.es.close();
  state.es = null;
  $('main').hidden = true;
  $('signin').hidden = false;
  $('status').textContent = 'signed out';
  $('status').className = 'pill down';
}

async function connect() {
  // One plain request first: EventSource cannot see a 401.
  const probe = await fetch(api('events'), { headers: { Accept: 'text/event-stream' } }).catch(() => null);
  if (probe && probe.status === 401) return signIn();
  if (probe && probe.body) probe.body.cancel();
  $('signin').hidden = true;
  $('main').hidden = false;
  const es = new EventSource(api('events'));
  state.es = es;
  es.addEventListener('hello', (e) => {
    const h = JSON.parse(e.data);
    $('node').textContent = `node ${h.node} · ${h.storeType} store`;
    $('who').textContent = h.signedIn ? `signed in as ${h.signedIn}` : 'loopback';
    $('signout').hidden = !h.signedIn;
    state.history = h.history || [];
    state.tail = h.tail || [];
    drawTail();
    drawPlots();
    $('status').textContent = 'live';
    $('status').className = 'pill live';
  });
  es.addEventListener('stats', (e) => onStats(JSON.parse(e.data)));
  es.addEventListener('log', (e) => onLog(JSON.parse(e.data)));
  es.onerror = () => {
    $('status').textContent = 'reconnecting…';
    $('status').className = 'pill down';
  };
}

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch(api('login'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ accessKeyId: $('akid').value, secretAccessKey: $('secret').value }) });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) { $('signin-error').textContent = body.error || `HTTP ${res.status}`; return; }
  $('secret').value = '';
  $('signin-error').textContent = '';
  connect();
});
$('signout').addEventListener('click', async () => {
  await fetch(api('logout'), { method: 'POST', headers: { 'X-Wsgate-Dashboard': '1' } });
  signIn();
});
$('conn-form').addEventListener('submit', (e) => { e.preventDefault(); lookup($('conn-id').value); });
for (const id of ['f-conn', 'f-route', 'f-status']) $(id).addEventListener('input', drawTail);
$('f-pause').addEventListener('change', (e) => { state.paused = e.target.checked; if (!state.paused) drawTail(); });
connect();
