/** Figures, terminal output and report charts of a load run (soak, and chaos on top of it). */
import { formatInt, verifyFigures, type VerifyFigures } from '@inorder/tools';
import { backlogChart, latencyCharts, throughputChart, type Chart } from './report.js';
import { STAGE_NAMES, latencyWindows, rateWindows, stageSummary, type Percentiles, type Stage, type Window } from './report-series.js';
import type { RunOutcome } from './soak-run.js';

/** The fields every load run prints with --json: the verification's figures, and the run's own (with latency). */
export interface LoadFigures extends VerifyFigures {
  ok: boolean;
  pipeline: string;
  /** first enqueue to last message out */
  wallMs: number;
  /** the load's length plus one work time */
  idealMs: number;
  /** output / wallMs, msg/s */
  throughput: number;
  drained: boolean;
  /** ms per stage over the whole run; overhead = end to end minus work */
  latency: Record<Stage, Percentiles>;
}

export function loadFigures(outcome: RunOutcome): LoadFigures {
  const v = outcome.verify;
  return {
    ok: v.ok && outcome.drained,
    pipeline: outcome.pipeline,
    ...verifyFigures(v),
    wallMs: outcome.wallMs,
    idealMs: outcome.idealMs,
    throughput: Math.round((v.output / outcome.wallMs) * 1000 * 10) / 10,
    drained: outcome.drained,
    latency: stageSummary(outcome.entries),
  };
}

export function windowsOf(outcome: RunOutcome): Window[] {
  return latencyWindows(outcome.entries, outcome.startedAt);
}

/** Throughput (emitted and enqueued per second), latency p50 and p99 by stage, backlog. */
export function loadCharts(outcome: RunOutcome, windows: Window[]): Chart[] {
  const enqueued = rateWindows(
    outcome.entries.map((e) => e.createdAt),
    outcome.startedAt,
  );
  return [
    throughputChart(windows, [{ label: 'enqueued', points: enqueued.map((w) => [w.t, w.rate]) }]),
    ...latencyCharts(windows),
    backlogChart(outcome.samples.map((s) => ({ t: s.t, input: s.input, results: s.results, output: s.output }))),
  ];
}

/** The worst one-second window of a stage at a percentile. */
export function worstWindow(windows: Window[], stage: Stage, p: 'p50' | 'p99' = 'p99'): { t: number; ms: number } | null {
  let worst: { t: number; ms: number } | null = null;
  for (const w of windows) {
    const s = w.stages[stage];
    if (s.count > 0 && (!worst || s[p] > worst.ms)) worst = { t: w.t, ms: s[p] };
  }
  return worst;
}

const LABELS: Record<Stage, string> = {
  queueWait: 'queue wait',
  work: 'work',
  handOff: 'hand-off',
  reorderWait: 'reorder wait',
  endToEnd: 'end to end',
  overhead: 'end to end - work',
};

/** Stage percentiles over the whole run, one row per stage. */
function renderLatency(latency: Record<Stage, Percentiles>): string {
  const rows = STAGE_NAMES.map((s) => [LABELS[s], ...(['p50', 'p90', 'p99', 'max'] as const).map((p) => `${formatInt(latency[s][p])} ms`)]);
  const header = ['stage', 'p50', 'p90', 'p99', 'max'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]): string => '  ' + c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** Latency over time, a row every `every` seconds: emitted/s, end to end and overhead p50/p99. */
function renderWindows(windows: Window[], rows = 12): string {
  if (windows.length === 0) return '  (no output)';
  const every = Math.max(1, Math.ceil(windows.length / rows));
  const lines = ['     t   out/s   e2e p50   e2e p99   e2e-work p50   e2e-work p99'];
  for (let i = 0; i < windows.length; i += every) {
    const w = windows[i]!;
    const e = w.stages.endToEnd;
    const o = w.stages.overhead;
    lines.push(
      `  ${String(w.t).padStart(4)}s ${formatInt(w.rate).padStart(7)} ${`${e.p50} ms`.padStart(9)} ${`${e.p99} ms`.padStart(9)} ${`${o.p50} ms`.padStart(14)} ${`${o.p99} ms`.padStart(14)}`,
    );
  }
  return lines.join('\n');
}

/**
 * The latency part of a load run's terminal output, each under a blank line and its title: the
 * stages over the whole run, then latency over time in at most `rows` rows.
 */
export function renderLoadLatency(latency: Record<Stage, Percentiles>, windows: Window[], rows?: number): string {
  return [
    '',
    'Latency per stage, whole run',
    renderLatency(latency),
    '',
    'Latency over time (messages emitted in each second)',
    renderWindows(windows, rows),
  ].join('\n');
}
