import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RunReport, Table } from './report.js';

let chartSource: string | undefined;

/** Chart.js's UMD build, read once from the installed package, to be inlined in each page. */
export function chartJsSource(): string {
  if (chartSource === undefined) {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    chartSource = readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8');
    // Inlined in a <script>: the text must not close the element early.
    chartSource = chartSource.replace(/<\/(script)/gi, '<\\/$1');
  }
  return chartSource;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
  if (typeof value === 'string') return escapeHtml(value);
  return escapeHtml(JSON.stringify(value) ?? '');
}

function renderTable(table: Table): string {
  const head = table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const rows = table.rows.map((r) => `<tr>${r.map((v) => `<td>${formatCell(v)}</td>`).join('')}</tr>`).join('\n');
  return `<h2>${escapeHtml(table.title)}</h2>\n<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** The summary's scalar figures as a two-column table; nested objects as compact JSON. */
function summaryTable(summary: Record<string, unknown>): Table {
  return { title: 'Figures', columns: ['figure', 'value'], rows: Object.entries(summary).map(([k, v]) => [k, v as never]) };
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.status{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.ok{background:#2e7d32}.failed{background:#c62828}
.chart{position:relative;height:320px;margin:8px 0 24px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4} .notes li{margin:2px 0} .meta{color:#666}`;

/**
 * The page script: draws every chart with Chart.js, and fault markers as labelled vertical
 * lines on time charts. Sets window.__reportReady = number of charts drawn.
 */
const PAGE_SCRIPT = `
(function(){
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#1565c0','#c62828','#2e7d32','#ef6c00','#6a1b9a','#00838f','#5d4037','#ad1457'];
  var faultPlugin = {
    id: 'faultMarkers',
    afterDatasetsDraw: function(chart, args, opts) {
      var faults = opts && opts.faults; if (!faults || !faults.length) return;
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save(); ctx.font = '11px system-ui,sans-serif';
      faults.forEach(function(f, i) {
        var px = x.getPixelForValue(f.at); if (px < area.left || px > area.right) return;
        ctx.strokeStyle = 'rgba(198,40,40,0.8)'; ctx.setLineDash([4,3]); ctx.lineWidth = 1.5;
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
        ctx.setLineDash([]); ctx.fillStyle = '#c62828';
        ctx.fillText(f.kind, px + 3, area.top + 11 + (i % 4) * 12);
      });
      ctx.restore();
    }
  };
  var drawn = 0;
  report.charts.forEach(function(spec) {
    var canvas = document.getElementById('chart-' + spec.id);
    var config;
    if (spec.kind === 'bar') {
      config = { type: 'bar', data: { labels: spec.categories, datasets: spec.series.map(function(s, i) {
        return { label: s.label, data: s.values, backgroundColor: palette[i % palette.length] };
      }) }, options: { maintainAspectRatio: false, animation: false,
        plugins: { title: { display: true, text: spec.title } },
        scales: { y: { beginAtZero: true, title: { display: true, text: spec.yLabel } } } } };
    } else {
      var hasRight = spec.series.some(function(s) { return s.right; });
      var scales = { x: { type: 'linear', title: { display: true, text: 'seconds since start' } },
        y: { type: spec.logY ? 'logarithmic' : 'linear', beginAtZero: !spec.logY, title: { display: true, text: spec.yLabel } } };
      if (hasRight) scales.y2 = { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: spec.y2Label || '' } };
      config = { type: 'line', data: { datasets: spec.series.map(function(s, i) {
        return { label: s.label, yAxisID: s.right ? 'y2' : 'y', borderColor: palette[i % palette.length],
          backgroundColor: palette[i % palette.length], pointRadius: s.points.length > 60 ? 0 : 2, borderWidth: 1.5,
          spanGaps: false, data: s.points.map(function(p) { return { x: p[0], y: p[1] }; }) };
      }) }, options: { maintainAspectRatio: false, animation: false, parsing: false, normalized: true,
        plugins: { title: { display: true, text: spec.title }, faultMarkers: { faults: report.faults } },
        scales: scales }, plugins: [faultPlugin] };
    }
    new Chart(canvas, config);
    drawn++;
  });
  window.__reportReady = drawn;
})();`;

/** A self-contained page: Chart.js and the data inlined, no network needed to open it. */
export function renderHtml(report: RunReport): string {
  const started = new Date(report.startedAt).toISOString();
  const charts = report.charts.map((c) => `<div class="chart"><canvas id="chart-${escapeHtml(c.id)}"></canvas></div>`).join('\n');
  const faults: Table | undefined =
    report.faults.length > 0
      ? {
          title: 'Faults',
          columns: ['at (s)', 'kind', 'what', 'recovery (ms)'],
          rows: report.faults.map((f) => [
            Number(f.at.toFixed(2)),
            f.kind,
            f.label,
            f.recoveryMs === null ? 'not recovered' : Math.round(f.recoveryMs),
          ]),
        }
      : undefined;
  const tables = [summaryTable(report.summary), ...(faults ? [faults] : []), ...report.tables].map(renderTable).join('\n');
  const notes =
    report.notes.length > 0 ? `<h2>Notes</h2><ul class="notes">${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(report.title)}</title>
<style>${STYLE}</style>
<script>${chartJsSource()}</script>
</head><body>
<h1>${escapeHtml(report.title)}</h1>
<p class="meta">inorder ${escapeHtml(report.tool)} · started ${started} ·
<span class="status ${report.ok ? 'ok' : 'failed'}">${report.ok ? 'passed' : 'failed'}</span></p>
${charts}
${tables}
${notes}
<script type="application/json" id="report-data">${scriptJson(report)}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
