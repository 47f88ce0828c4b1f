/** The report page of a burst: throughput (emitted and enqueued) and latency by stage over time. */
import type { BurstRun } from './burst.js';
import { formatInt } from '@inorder/tools';
import { emptyReport, latencyCharts, throughputChart, type RunReport } from './report.js';
import { hasTimestamps, latencyWindows, rateWindows } from './report-series.js';

export function burstReport(run: BurstRun, label = 'burst'): RunReport {
  const { result } = run;
  const entries = run.entries.filter(hasTimestamps);
  const windows = latencyWindows(entries, run.startedAt);
  const enqueued = rateWindows(
    entries.map((e) => e.createdAt),
    run.startedAt,
  );
  const report = emptyReport(label, `${label}: ${formatInt(result.sent)} messages x ${result.workMs} ms of work`, run.startedAt);
  report.ok = result.ok;
  const { missingSeqs: _, throughputPerSecond: __, latency, ...scalars } = result;
  report.summary = { ...scalars, latencyP99: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, v.p99])) };
  report.charts = [
    throughputChart(windows, [{ label: 'enqueued', points: enqueued.map((w) => [w.t, w.rate]) }]),
    ...latencyCharts(windows),
  ];
  report.notes = [
    `${result.processors} processors x ${result.concurrency} concurrency, ${result.sequencers} sequencers${result.redis === 'external' ? ' (services already running: as given on the command line)' : ''}.`,
    `Ideal: ceil(${formatInt(result.sent)} / ${formatInt(result.processors * result.concurrency)}) x ${result.workMs} ms = ${formatInt(result.idealMs)} ms; wall time ${formatInt(result.wallMs)} ms.`,
  ];
  return report;
}
