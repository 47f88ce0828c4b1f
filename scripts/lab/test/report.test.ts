import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { backlogChart, emptyReport, latencyCharts, throughputChart, writeReport, type RunReport } from '../src/lib/report.js';
import { latencyWindows, type Timestamps } from '../src/lib/report-series.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '@inorder/testkit';

/** Ten seconds of synthetic output: 100 messages a second, 20 ms of work each. */
function sampleReport(): RunReport {
  const start = 1_700_000_000_000;
  const entries: Timestamps[] = [];
  for (let i = 0; i < 1000; i++) {
    const createdAt = start + i * 10;
    const processingAt = createdAt + 2 + (i % 5);
    const processedAt = processingAt + 20;
    entries.push({
      seq: i + 1,
      createdAt,
      processingAt,
      processedAt,
      sequencingAt: processedAt + 1,
      sequencedAt: processedAt + 2 + (i % 7),
    });
  }
  const windows = latencyWindows(entries, start);
  const report = emptyReport('chaos', 'report rendering check', start);
  report.summary = { sent: 1000, output: 1000, missing: 0, nested: { a: 1 } };
  report.charts = [
    throughputChart(windows),
    ...latencyCharts(windows),
    backlogChart(windows.map((w) => ({ t: w.t, input: 5, results: 3, output: w.t * 100 }))),
    {
      kind: 'bar',
      id: 'bench',
      title: 'msg/s',
      yLabel: 'msg/s',
      categories: ['noop', 'work'],
      series: [{ label: 'inorder', values: [100, 90] }],
    },
  ];
  report.faults = [{ at: 3.5, kind: 'leader-kill', label: 'SIGKILL leader </script><b>x</b>', recoveryMs: 420 }];
  report.notes = ['a note with <html> in it'];
  return report;
}

describe('run reports', function () {
  let dir: string;
  let browser: Browser | undefined;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'inorder-report-'));
  });
  after(async function () {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a JSON file and a self-contained HTML page with Chart.js inlined', function () {
    const { json, html } = writeReport(sampleReport(), dir);
    expect(JSON.parse(readFileSync(json, 'utf8')).summary.sent).to.equal(1000);
    const page = readFileSync(html, 'utf8');
    expect(page).to.include('Chart.js v4');
    expect(page).not.to.match(/<script[^>]+src=/);
    expect(page).not.to.match(/<link[^>]+href=/);
    expect(page.match(/<\/script>/g)).to.have.length(3);
  });

  it('draws every chart, with data points, non-blank canvases and the fault marker, in headless Chromium', async function () {
    if (!existsSync(CHROMIUM_PATH)) this.skip(); // Debian package `chromium` not installed (.ci/run installs it)
    this.timeout(40_000);
    const { html } = writeReport(sampleReport(), dir);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
    const context = await browser.newContext();
    const requests: string[] = [];
    const page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(html).href);
    // Runs in the page (a string: this project compiles without the DOM library).
    await page.waitForFunction('window.__reportReady !== undefined', undefined, { timeout: 15_000 });
    type Drawn = {
      ready: number;
      charts: number[];
      canvases: Array<{ painted: number; total: number }>;
      markers: Array<{ at: number; beside: number }>;
    };
    const drawn = await page.evaluate<Drawn>(`(() => {
      const charts = Object.values(Chart.instances).map((c) => c.data.datasets.reduce((n, d) => n + d.data.length, 0));
      const canvases = [...document.querySelectorAll('canvas')].map((canvas) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return { painted, total: canvas.width * canvas.height };
      });
      // The fault marker: a dashed red line at its time on every time chart. Count marker-red
      // pixels down the chart area at the fault's x, and 25 px to its right for comparison.
      const markers = Object.values(Chart.instances).filter((c) => c.config.type === 'line').map((c) => {
        const ratio = c.canvas.width / c.width;
        const { top, bottom } = c.chartArea;
        const ctx = c.canvas.getContext('2d');
        const redDown = (x) => {
          let red = 0;
          for (let dx = -1; dx <= 1; dx++) {
            const column = ctx.getImageData(Math.round((x + dx) * ratio), Math.round(top * ratio), 1, Math.round((bottom - top) * ratio)).data;
            let n = 0;
            for (let i = 0; i < column.length; i += 4) if (column[i] > 150 && column[i + 1] < 110 && column[i + 2] < 110 && column[i + 3] > 100) n++;
            red = Math.max(red, n / (column.length / 4));
          }
          return red;
        };
        const x = c.scales.x.getPixelForValue(3.5);
        return { at: redDown(x), beside: redDown(x + 25) };
      });
      return { ready: window.__reportReady, charts, canvases, markers };
    })()`);
    expect(errors).to.deep.equal([]);
    expect(requests).to.deep.equal([]);
    expect(drawn.ready).to.equal(5);
    expect(drawn.charts).to.have.length(5);
    for (const points of drawn.charts) expect(points).to.be.greaterThan(0);
    for (const c of drawn.canvases) expect(c.painted / c.total).to.be.greaterThan(0.01);
    // four time charts (throughput, latency p50 and p99, backlog) carry the fault marker
    expect(drawn.markers).to.have.length(4);
    for (const m of drawn.markers) {
      expect(m.at, JSON.stringify(m)).to.be.greaterThan(0.3);
      expect(m.beside, JSON.stringify(m)).to.be.lessThan(0.2);
    }
  });
});
