import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CLIENT_DATA } from './client-data.js';
import { CLIENT_DETAIL } from './client-detail.js';
import { CLIENT_VIEW } from './client-view.js';
import { STYLE } from './style.js';

/** The dashboard page and the Content-Security-Policy that goes with it. */
export interface DashboardPage {
  html: string;
  csp: string;
  /** false when Chart.js could not be read: the page works, without its chart */
  chart: boolean;
}

/**
 * Chart.js's UMD build, read from the installed package, to be inlined: the page fetches nothing
 * from anywhere but this ingest (operators' networks are often closed). null when missing.
 */
export function chartJsSource(): string | null {
  try {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    // Inlined in a <script>: the text must not close the element early.
    return readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  } catch {
    return null;
  }
}

const BODY = `
<header>
  <h1>inorder <span>operations</span></h1>
  <div id="connection" class="connection" role="status">connecting…</div>
  <button id="forget-key" type="button" hidden>Forget key</button>
</header>
<main>
  <section id="key-panel" class="panel key-panel" hidden>
    <h2>API key required</h2>
    <p id="key-message">This ingest requires an API key.</p>
    <form id="key-form" autocomplete="off">
      <label for="key-input">API key</label>
      <input id="key-input" type="password" spellcheck="false" required>
      <button type="submit">Use key</button>
    </form>
    <p class="hint">Enter one of the ingest's API_KEYS. It is kept in this browser tab only (sessionStorage) and sent as a bearer token with each request.</p>
  </section>
  <section id="overview" class="panel">
    <h2>Pipelines <span id="totals" class="muted"></span></h2>
    <div class="scroll">
      <table id="partitions">
        <thead><tr>
          <th>Pipeline</th><th class="num">Part.</th><th class="num">Emitted/s</th><th class="num">Dead/s</th>
          <th class="num">Input</th><th class="num">Parked</th><th class="num">In flight</th><th class="num">Retrying</th>
          <th class="num" title="seqs accepted and not yet emitted: accepted - next + 1">Lag</th><th class="num">Next seq</th>
          <th class="num">Emitted</th><th class="num">Dead letters</th><th>Leader</th><th class="num">Epoch</th><th>Lease</th><th>Status</th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <p id="no-pipelines" class="muted" hidden>No pipeline is registered yet: declare one with PIPELINES on the ingest, or start its processors.</p>
  </section>
  <section id="detail" class="panel" hidden>
    <h2 id="detail-title"></h2>
    <p id="detail-stall" class="stall-reason" hidden></p>
    <dl id="detail-facts" class="facts"></dl>
    <h3>Rates, last 5 minutes</h3>
    <div class="chart"><canvas id="rates-chart" aria-label="emitted and dead letters per second"></canvas><p id="no-chart" class="muted" hidden>The chart library could not be loaded.</p></div>
    <div class="columns">
      <div>
        <h3>Last results <span id="results-count" class="muted"></span></h3>
        <div class="scroll tall"><table id="results">
          <thead><tr><th class="num">Seq</th><th class="num">Orig. seq</th><th class="num">Attempts</th><th class="num">Latency ms</th><th>Done at</th><th>Result</th></tr></thead>
          <tbody></tbody>
        </table></div>
      </div>
      <div>
        <h3>Dead letters <span id="dead-count" class="muted"></span></h3>
        <p id="redrive-note" class="note" role="status" hidden></p>
        <div class="scroll tall"><table id="dead">
          <thead><tr><th class="num">Seq</th><th>Reason</th><th class="num">Attempts</th><th>Last error</th><th>Dead at</th><th></th></tr></thead>
          <tbody></tbody>
        </table></div>
      </div>
    </div>
  </section>
</main>`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Builds the page once: markup, style, Chart.js and the page script, all inline. */
export function dashboardPage(chart: string | null = chartJsSource()): DashboardPage {
  const client = `(function () {\n'use strict';\n${CLIENT_DATA}\n${CLIENT_VIEW}\n${CLIENT_DETAIL}\nstart();\n})();`;
  const scripts = chart === null ? [client] : [chart, client];
  const html =
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="referrer" content="no-referrer">\n' +
    `<title>inorder · operations</title>\n<style>${STYLE}</style>\n</head>\n<body>${BODY}\n` +
    scripts.map((s) => `<script>${s}</script>`).join('\n') +
    '\n</body>\n</html>\n';
  // Only this page's own scripts run, and it talks to nothing but the ingest that served it.
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256).join(' ')}`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp, chart: chart !== null };
}
