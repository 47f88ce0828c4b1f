/**
 * The dashboard's detail of the selected partition, run in the browser: its facts, the rate
 * chart, the last results, and the dead letters with their redrive buttons (helpers from
 * client-view.ts, data from client-data.ts).
 */
export const CLIENT_DETAIL = String.raw`
var chart = null;

function fact(list, label, value) {
  var div = el('div');
  div.appendChild(el('dt', '', label));
  div.appendChild(el('dd', '', value));
  list.appendChild(div);
}

function renderDetail() {
  var row = state.selected && state.partitions[state.selected];
  $('detail').hidden = !row;
  if (!row) return;
  var s = row.status;
  $('detail-title').textContent = row.pipeline + ' · partition ' + row.partition + (row.ordering === 'strict' ? '' : ' (unordered)');
  var stall = $('detail-stall');
  stall.hidden = !s.stalled;
  stall.textContent = s.stalled ? 'Stalled: ' + s.stalled.reason + (s.stalled.since ? ' (since ' + clock(s.stalled.since) + ')' : '') : '';
  var facts = $('detail-facts');
  facts.textContent = '';
  fact(facts, 'seqs', s.seqSource === 'assigned' ? 'assigned by the ingest' : s.seqSource === 'given' ? 'given by producers' : 'no submit yet');
  fact(facts, 'accepted', num(s.accepted));
  fact(facts, 'results waiting', num(s.resultsBacklog));
  fact(facts, 'processors', num(s.processors));
  fact(facts, 'claims', num(s.claims));
  fact(facts, 'output list', num(s.outputLength));
  fact(facts, 'dead letters ever', num(s.deadTotal));
  fact(facts, 'skipped', num(s.skipped));
  fact(facts, 'lost', num(s.lost));
  fact(facts, 'duplicates', num(s.duplicates));
  fact(facts, 'order last moved', s.movedAt ? ago(s.movedAt) : '–');
  renderChart(row);
  var detail = state.detail && state.detail.id === row.id ? state.detail : null;
  renderResults(detail);
  renderDead(row, detail);
}

function renderChart(row) {
  if (typeof Chart === 'undefined') { $('no-chart').hidden = false; $('rates-chart').hidden = true; return; }
  var now = Date.now();
  var points = function (field) { return row.history.map(function (h) { return { x: (h.t - now) / 1000, y: h[field] }; }); };
  if (!chart) {
    var css = getComputedStyle(document.documentElement);
    Chart.defaults.color = css.getPropertyValue('--muted').trim() || '#666';
    Chart.defaults.borderColor = css.getPropertyValue('--line').trim() || '#ddd';
    chart = new Chart($('rates-chart'), {
      type: 'line',
      data: { datasets: [
        { label: 'emitted/s', data: [], borderColor: '#2457c5', backgroundColor: 'rgba(36,87,197,.12)', fill: true, pointRadius: 0, tension: 0.2 },
        { label: 'dead letters/s', data: [], borderColor: '#c62828', backgroundColor: 'rgba(198,40,40,.12)', fill: true, pointRadius: 0, tension: 0.2 }
      ] },
      options: {
        animation: false, maintainAspectRatio: false, parsing: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', min: -HISTORY_MS / 1000, max: 0, ticks: { callback: function (v) { return v === 0 ? 'now' : Math.round(v / 60 * 10) / 10 + ' min'; } } },
          y: { beginAtZero: true, ticks: { callback: function (v) { return v >= 10 ? integer.format(v) : rate(v); } } }
        },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + rate(c.parsed.y); } } } }
      }
    });
  }
  chart.data.datasets[0].data = points('emitted');
  chart.data.datasets[1].data = points('dead');
  chart.update('none');
}

function renderResults(detail) {
  var entries = detail ? detail.output.entries.slice().reverse() : [];
  $('results-count').textContent = detail ? '· newest ' + num(entries.length) + ' of ' + num(detail.output.length) : '';
  syncRows($('results').tBodies[0], entries, function (e) { return String(e.seq) + ':' + (e.sequencedAt || e.processedAt || ''); }, function (tr, e) {
    var done = e.sequencedAt || e.processedAt;
    tr.dataset.seq = e.seq;
    fill(tr, [
      [seqText(e.seq), 'num'], [seqText(e.originalSeq), 'num'], [num(e.attempts), 'num'],
      [num(done && e.createdAt ? done - e.createdAt : null), 'num'], [clock(done)],
      [clip(json(e.unreadable !== undefined ? e.unreadable : e.result), 300), 'text', clip(json(e.payload), 2000)]
    ]);
  });
}

function renderDead(row, detail) {
  var entries = detail ? detail.dead.entries.map(function (d, i) { return { d: d, at: detail.deadFrom + i }; }).reverse() : [];
  $('dead-count').textContent = detail ? '· newest ' + num(entries.length) + ' of ' + num(detail.dead.length) : '';
  var needsSeq = row.status.seqSource !== 'assigned';
  syncRows($('dead').tBodies[0], entries, function (e) { return json(e.d.seq) + '/' + json(e.d.readSeq) + '/' + e.d.deadAt; }, function (tr, e) {
    var d = e.d;
    var label = d.seq !== undefined ? seqText(d.seq) : d.readSeq !== undefined ? 'read ' + seqText(d.readSeq) : '–';
    if (d.seq !== undefined) tr.dataset.deadSeq = d.seq;
    fill(tr, [
      [label, 'num', d.readSeq !== undefined ? 'a copy that did not take its seq' : ''],
      [d.reason || 'unreadable', 'bad'], [num(d.attempts), 'num'],
      [clip(d.lastError || (d.unreadable !== undefined ? d.unreadable : ''), 300), 'text reason', d.raw ? clip(d.raw, 2000) : ''],
      [clock(d.deadAt)], null
    ]);
    var cell = tr.lastChild;
    var canRedrive = d.seq !== undefined && d.envelope;
    if (!canRedrive) { cell.textContent = ''; cell.title = d.seq === undefined ? 'only a dead letter that settles its seq can be redriven' : 'no readable envelope to redrive'; return; }
    if (cell.querySelector('button')) return;
    var input = null;
    if (needsSeq) {
      input = el('input', 'new-seq');
      input.type = 'number'; input.min = '1'; input.placeholder = 'new seq'; input.title = 'producers number this partition\'s seqs: give a seq they will never use';
      cell.appendChild(input);
    }
    var button = el('button', 'redrive', 'Redrive');
    button.type = 'button';
    button.dataset.redrive = d.seq;
    button.title = 'submit it again as a new message at the end of the order';
    button.addEventListener('click', function () { onRedrive(row, d.seq, button, input); });
    cell.appendChild(button);
  });
}

function note(text, bad) {
  var p = $('redrive-note');
  p.hidden = !text;
  p.textContent = text;
  p.className = 'note' + (bad ? ' bad' : '');
}

function onRedrive(row, seq, button, input) {
  var newSeq;
  if (input) {
    if (!/^[1-9][0-9]*$/.test(input.value)) { note('Give the new seq for seq ' + seq + ': producers number this partition\'s seqs.', true); input.focus(); return; }
    newSeq = Number(input.value);
  }
  button.disabled = true;
  redrive(row, seq, newSeq).then(function (r) {
    note('Seq ' + seq + ' redriven as seq ' + r.seq + (r.duplicate ? ' (it had been redriven already)' : '') + '.', false);
    pollNow();
  }, function (error) {
    button.disabled = false;
    if (error instanceof AuthError) { state.needKey = true; state.keyRefused = Boolean(state.key); render(); return; }
    note('Seq ' + seq + ' was not redriven: ' + error.message, true);
  });
}
`;
