/**
 * The dashboard's view side, run in the browser: formatting and DOM helpers, the key prompt,
 * the connection line and the partitions table (client-detail.ts draws the selected partition).
 * Every text from Redis goes in through textContent, never as markup. Rows are kept by key
 * between polls, so a half-typed new seq or a focused button survives a refresh.
 */
export const CLIENT_VIEW = String.raw`
var $ = function (id) { return document.getElementById(id); };
var integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
var decimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function num(value) { return value === null || value === undefined ? '–' : integer.format(value); }
/** A seq is a name as much as a number: printed plain, so it can be copied into an API call. */
function seqText(value) { return value === null || value === undefined ? '–' : String(value); }
function rate(value) { return value === null || value === undefined ? '–' : decimal.format(value); }
function clock(ms) {
  if (!ms) return '–';
  var d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
}
function ago(ms) {
  var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? s + ' s ago' : Math.round(s / 60) + ' min ago';
}
function clip(text, max) { return text.length > max ? text.slice(0, max - 1) + '…' : text; }
function json(value) {
  try { return value === undefined ? '' : JSON.stringify(value); } catch (e) { return String(value); }
}

function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Sets a row's cells: each spec is [text, className, title, field]; null leaves the cell as it is. */
function fill(tr, cells) {
  while (tr.children.length < cells.length) tr.appendChild(el('td'));
  cells.forEach(function (spec, i) {
    var td = tr.children[i];
    if (!spec) return;
    if (td.textContent !== spec[0]) td.textContent = spec[0];
    td.className = spec[1] || '';
    if (spec[2]) td.title = spec[2]; else td.removeAttribute('title');
    if (spec[3]) td.dataset.field = spec[3];
  });
}

/** Makes tbody hold one row per item, in order, reusing the rows of items it held already. */
function syncRows(tbody, items, keyOf, update) {
  var existing = {};
  var counts = {};
  Array.prototype.forEach.call(tbody.children, function (tr) { existing[tr.dataset.key] = tr; });
  items.forEach(function (item, i) {
    var base = keyOf(item);
    counts[base] = (counts[base] || 0) + 1;
    var key = base + '|' + counts[base];
    var tr = existing[key];
    if (tr) delete existing[key]; else { tr = el('tr'); tr.dataset.key = key; }
    update(tr, item);
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
  });
  Object.keys(existing).forEach(function (key) { existing[key].remove(); });
}

function statusOf(row) {
  var s = row.status;
  if (s.stalled) return ['STALLED', 'stalled', s.stalled.reason + (s.stalled.since ? ' (since ' + clock(s.stalled.since) + ')' : '')];
  if (row.rates && row.rates.emitted > 0) return ['moving', 'ok', ''];
  var busy = s.inputDepth + s.parked + s.inFlight + s.retrying + s.resultsBacklog > 0;
  return busy ? ['waiting', 'idle', ''] : ['idle', 'idle', ''];
}

function renderPartitions() {
  var rows = Object.keys(state.partitions).sort().map(function (id) { return state.partitions[id]; });
  var broken = state.pipelines.filter(function (p) { return p.error; });
  $('no-pipelines').hidden = rows.length + broken.length > 0;
  var total = { emitted: 0, dead: 0, stalled: 0 };
  rows.forEach(function (r) {
    if (r.rates) { total.emitted += r.rates.emitted; total.dead += r.rates.dead; }
    if (r.status.stalled) total.stalled++;
  });
  $('totals').textContent = '· ' + num(rows.length) + ' partition' + (rows.length === 1 ? '' : 's') + ', ' + rate(total.emitted) + ' emitted/s, ' +
    rate(total.dead) + ' dead/s' + (total.stalled ? ', ' + total.stalled + ' stalled' : '');
  var items = rows.concat(broken.map(function (p) { return { id: p.name + ' (error)', broken: p }; }));
  syncRows($('partitions').tBodies[0], items, function (r) { return r.id; }, function (tr, r) {
    if (r.broken) {
      fill(tr, [[r.broken.name], ['–', 'num'], [r.broken.error, 'bad reason']]);
      tr.lastChild.colSpan = 14;
      return;
    }
    var s = r.status;
    var strict = r.ordering === 'strict';
    var lag = strict && s.nextSeq !== null ? Math.max(0, s.accepted - s.nextSeq + 1) : null;
    var st = statusOf(r);
    var leader = s.leader;
    tr.dataset.partition = r.id;
    tr.className = (r.id === state.selected ? 'selected ' : '') + (s.stalled ? 'stalled' : '');
    fill(tr, [
      [r.pipeline, '', strict ? 'ordered pipeline' : 'unordered pipeline', 'pipeline'],
      [String(r.partition), 'num', '', 'partition'],
      [rate(r.rates && r.rates.emitted), 'num', strict ? '' : 'growth of the output list (unordered pipelines have no emit counter)', 'emittedRate'],
      [rate(r.rates && r.rates.dead), 'num' + (r.rates && r.rates.dead > 0 ? ' bad' : ''), '', 'deadRate'],
      [num(s.inputDepth), 'num', '', 'input'],
      [num(s.parked), 'num', '', 'parked'],
      [num(s.inFlight), 'num', '', 'inFlight'],
      [num(s.retrying), 'num' + (s.retrying > 0 ? ' warn' : ''), '', 'retrying'],
      [num(lag), 'num', '', 'lag'],
      [seqText(strict ? s.nextSeq : null), 'num', '', 'next'],
      [num(strict ? s.emitted : s.outputLength), 'num', '', 'emitted'],
      [num(s.deadLetters), 'num' + (s.deadLetters > 0 ? ' bad' : ''), 'dead letters now in the list; ' + num(s.deadTotal) + ' ever', 'deadLetters'],
      [leader ? leader.owner : (strict ? 'none' : '–'), leader ? '' : (s.stalled ? 'bad' : 'muted'), leader ? leader.fence : '', 'leader'],
      [num(leader ? leader.epoch : null), 'num', '', 'epoch'],
      [leader ? (leader.leaseHeld ? 'held' : 'expired') : '–', leader && !leader.leaseHeld ? 'bad' : (leader ? 'good' : ''), '', 'lease'],
      [st[0], 'reason', st[2], 'status']
    ]);
    var cell = tr.lastChild;
    cell.textContent = '';
    cell.appendChild(el('span', 'badge ' + st[1], st[0]));
    if (st[2]) cell.appendChild(el('div', 'bad', st[2]));
  });
}

function renderConnection() {
  var c = $('connection');
  if (state.needKey) { c.className = 'connection error'; c.textContent = 'API key required'; }
  else if (state.error) { c.className = 'connection error'; c.textContent = 'Cannot read the ingest: ' + state.error + (state.lastPoll ? ' (figures from ' + clock(state.lastPoll) + ')' : ''); }
  else if (state.lastPoll) { c.className = 'connection ok'; c.textContent = 'live · updated ' + clock(state.lastPoll) + ' · every ' + POLL_MS / 1000 + ' s'; }
  $('forget-key').hidden = !state.key;
}

function render() {
  renderConnection();
  var panel = $('key-panel');
  var wasHidden = panel.hidden;
  panel.hidden = !state.needKey;
  if (state.needKey) {
    var m = $('key-message');
    m.textContent = state.keyRefused ? 'The ingest did not accept that key. Enter one of its API keys.' : 'This ingest requires an API key to show its pipelines.';
    m.className = state.keyRefused ? 'bad' : '';
    if (wasHidden) $('key-input').focus();
  }
  $('overview').hidden = state.needKey;
  if (state.needKey) { $('detail').hidden = true; return; }
  renderPartitions();
  renderDetail();
}

function start() {
  $('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var key = $('key-input').value.trim();
    if (!key) return;
    storeKey(key);
    $('key-input').value = '';
    state.needKey = false;
    state.keyRefused = false;
    render();
    pollNow();
  });
  $('forget-key').addEventListener('click', function () {
    storeKey('');
    state.partitions = {};
    state.pipelines = [];
    state.detail = null;
    state.needKey = false;
    pollNow();
  });
  $('partitions').tBodies[0].addEventListener('click', function (event) {
    var tr = event.target.closest('tr');
    if (!tr || !tr.dataset.partition || tr.dataset.partition === state.selected) return;
    state.selected = tr.dataset.partition;
    state.detail = null;
    note('', false);
    render();
    pollNow();
  });
  poll();
}
`;
