/**
 * The dashboard's data side, run in the browser: the API key, the calls to the ingest's JSON
 * routes, the 2 s poll, and the rates computed from the counters between two polls.
 * Plain browser JavaScript in a string (this package compiles without the DOM library); the
 * view side (client-view.ts) renders what it gathers.
 */
export const CLIENT_DATA = String.raw`
var POLL_MS = 2000;
var HISTORY_MS = 5 * 60 * 1000;
var RESULTS_SHOWN = 20;
var DEAD_SHOWN = 50;
var STATUS_CONCURRENCY = 6;
var KEY_ITEM = 'inorder.apiKey';

var state = {
  key: readKey(),
  needKey: false,
  keyRefused: false,
  pipelines: [],
  partitions: {},
  selected: null,
  detail: null,
  lastPoll: 0,
  error: null,
  timer: null,
  polling: false,
  polls: 0
};
window.__dashboard = state;

function readKey() {
  try { return sessionStorage.getItem(KEY_ITEM) || ''; } catch (e) { return ''; }
}

function storeKey(key) {
  state.key = key;
  try {
    if (key) sessionStorage.setItem(KEY_ITEM, key); else sessionStorage.removeItem(KEY_ITEM);
  } catch (e) { /* storage disabled: the key lives until the page is closed */ }
}

function AuthError(message) { this.message = message; }

/** Calls one of the ingest's JSON routes; 401 becomes an AuthError, any other failure an Error with the ingest's message. */
function api(path, options) {
  options = options || {};
  var headers = {};
  if (state.key) headers.authorization = 'Bearer ' + state.key;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(path, { method: options.method || 'GET', headers: headers, body: options.body, cache: 'no-store', credentials: 'omit' })
    .then(function (response) {
      return response.text().then(function (text) {
        var json = null;
        try { json = JSON.parse(text); } catch (e) { json = null; }
        if (response.status === 401) throw new AuthError(json && json.message ? json.message : 'API key required');
        if (!response.ok) throw new Error((json && json.message) || (response.status + ' ' + response.statusText));
        return json;
      });
    });
}

function enc(text) { return encodeURIComponent(text); }

/** Runs task over items, at most limit at a time; resolves to the results in order. */
function mapLimit(items, limit, task) {
  var results = new Array(items.length);
  var next = 0;
  function worker() {
    if (next >= items.length) return Promise.resolve();
    var i = next++;
    return Promise.resolve(task(items[i], i)).then(function (r) { results[i] = r; return worker(); });
  }
  var workers = [];
  for (var w = 0; w < Math.min(limit, items.length); w++) workers.push(worker());
  return Promise.all(workers).then(function () { return results; });
}

function partitionId(pipeline, partition) { return pipeline + ' #' + partition; }

/** One pipeline's status; an error (an unreadable registry entry, say) is kept on the pipeline instead. */
function pipelineStatus(name) {
  return api('/v1/pipelines/' + enc(name)).then(
    function (status) { return { name: name, status: status }; },
    function (error) { if (error instanceof AuthError) throw error; return { name: name, error: error.message }; }
  );
}

/** Folds one poll's statuses in: the rates since the previous poll, and their history. */
function absorb(results, now) {
  var seen = {};
  state.pipelines = results;
  results.forEach(function (r) {
    if (!r.status) return;
    r.status.partitions.forEach(function (p) {
      var id = partitionId(r.name, p.partition);
      seen[id] = true;
      var row = state.partitions[id] || { id: id, pipeline: r.name, partition: p.partition, history: [], rates: null, prev: null };
      row.ordering = r.status.ordering;
      row.status = p;
      // Unordered pipelines append results as they complete, with no emit counter: count the output list's growth.
      var emitted = row.ordering === 'strict' ? p.emitted : p.outputLength;
      if (row.prev && now > row.prev.t) {
        var seconds = (now - row.prev.t) / 1000;
        row.rates = {
          emitted: Math.max(0, emitted - row.prev.emitted) / seconds,
          dead: Math.max(0, p.deadTotal - row.prev.dead) / seconds
        };
        row.history.push({ t: now, emitted: row.rates.emitted, dead: row.rates.dead });
        while (row.history.length && row.history[0].t < now - HISTORY_MS) row.history.shift();
      }
      row.prev = { t: now, emitted: emitted, dead: p.deadTotal };
      state.partitions[id] = row;
    });
  });
  Object.keys(state.partitions).forEach(function (id) { if (!seen[id]) delete state.partitions[id]; });
  if (state.selected && !state.partitions[state.selected]) state.selected = null;
  if (!state.selected) state.selected = firstToWatch();
}

/** The partition an operator most likely opened the page for: stalled, then with dead letters, then the busiest. */
function firstToWatch() {
  var rows = Object.keys(state.partitions).sort().map(function (id) { return state.partitions[id]; });
  var score = function (r) { return (r.status.stalled ? 4 : 0) + (r.status.deadLetters > 0 ? 2 : 0) + (r.status.emitted + r.status.outputLength > 0 ? 1 : 0); };
  var best = null;
  rows.forEach(function (r) { if (!best || score(r) > score(best)) best = r; });
  return best ? best.id : null;
}

/** The selected partition's newest results and dead letters. */
function loadDetail() {
  var row = state.selected && state.partitions[state.selected];
  if (!row) { state.detail = null; return Promise.resolve(); }
  var base = '/v1/pipelines/' + enc(row.pipeline);
  var query = '?partition=' + row.partition + '&limit=';
  var outputFrom = Math.max(0, row.status.outputLength - RESULTS_SHOWN);
  var deadFrom = Math.max(0, row.status.deadLetters - DEAD_SHOWN);
  return Promise.all([
    api(base + '/output' + query + RESULTS_SHOWN + '&from=' + outputFrom),
    api(base + '/dead' + query + DEAD_SHOWN + '&from=' + deadFrom)
  ]).then(function (pages) {
    pages.forEach(function (page) { page.entries = page.entries.map(asRecord); });
    state.detail = { id: row.id, output: pages[0], dead: pages[1], deadFrom: deadFrom };
  });
}

/** An entry that is not a JSON object (written into the list by hand) is shown as unreadable text. */
function asRecord(entry) {
  return entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? entry : { unreadable: JSON.stringify(entry) };
}

function poll() {
  if (state.polling || state.needKey) return;
  state.polling = true;
  clearTimeout(state.timer);
  var started = Date.now();
  api('/v1/pipelines')
    .then(function (list) {
      var names = Object.keys(list.pipelines).sort();
      return mapLimit(names, STATUS_CONCURRENCY, pipelineStatus).then(function (results) {
        (list.skipped || []).forEach(function (s) { results.push({ name: s.pipeline, error: 'unreadable registry entry: ' + s.reason }); });
        absorb(results, Date.now());
        return loadDetail();
      });
    })
    .then(function () {
      state.error = null;
      state.lastPoll = Date.now();
      state.polls++;
    }, function (error) {
      if (error instanceof AuthError) {
        state.keyRefused = Boolean(state.key);
        state.needKey = true;
      } else {
        state.error = error.message || String(error);
      }
    })
    .then(function () {
      state.polling = false;
      render();
      if (!state.needKey) state.timer = setTimeout(poll, Math.max(200, POLL_MS - (Date.now() - started)));
    });
}

function pollNow() {
  if (state.polling) return;
  poll();
}

/** Redrives one dead letter; newSeq only for partitions whose producers number their seqs. */
function redrive(row, seq, newSeq) {
  var body = newSeq === undefined ? undefined : JSON.stringify({ newSeq: newSeq });
  var path = '/v1/pipelines/' + enc(row.pipeline) + '/dead/' + seq + '/redrive?partition=' + row.partition;
  return api(path, { method: 'POST', body: body });
}
`;
