import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from '@inorder/testkit';
import { renderHtml } from './report-html.js';
import type { Stage, Window } from './report-series.js';

/** One line of a chart: points are [x, y]; x is seconds since the run started for time charts. */
export interface Series {
  label: string;
  points: Array<[number, number | null]>;
  /** draw on the right-hand axis */
  right?: boolean;
}

export interface TimeChart {
  kind: 'time';
  id: string;
  title: string;
  yLabel: string;
  /** label of the right-hand axis, when a series uses it */
  y2Label?: string;
  logY?: boolean;
  series: Series[];
}

export interface BarChart {
  kind: 'bar';
  id: string;
  title: string;
  yLabel: string;
  categories: string[];
  series: Array<{ label: string; values: number[] }>;
}

export type Chart = TimeChart | BarChart;

/** A fault injected by chaos, drawn as a vertical line on every time chart. */
export interface FaultMarker {
  /** seconds since the run started */
  at: number;
  kind: string;
  label: string;
  recoveryMs: number | null;
}

export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number | boolean | null>>;
}

export interface RunReport {
  tool: string;
  title: string;
  /** epoch ms */
  startedAt: number;
  ok: boolean;
  /** the figures the tool prints with --json */
  summary: Record<string, unknown>;
  charts: Chart[];
  faults: FaultMarker[];
  tables: Table[];
  /** free text: settings, machine load, what a reader should know */
  notes: string[];
}

/** reports/ at the repository root (ignored by git). */
export const REPORTS_DIR = join(ROOT, 'reports');

/** Writes `<tool>-<time>.json` and `.html` (self-contained, charts drawn offline). */
export function writeReport(report: RunReport, dir = REPORTS_DIR): { json: string; html: string } {
  const base = join(resolve(dir), `${report.tool}-${new Date(report.startedAt).toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(resolve(dir), { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.html`, renderHtml(report));
  return { json: `${base}.json`, html: `${base}.html` };
}

export function emptyReport(tool: string, title: string, startedAt: number): RunReport {
  return { tool, title, startedAt, ok: true, summary: {}, charts: [], faults: [], tables: [], notes: [] };
}

const LATENCY_STAGES: Array<[Stage, string]> = [
  ['endToEnd', 'end to end'],
  ['overhead', 'end to end minus work'],
  ['queueWait', 'queue wait'],
  ['work', 'work'],
  ['handOff', 'hand-off'],
  ['reorderWait', 'reorder wait'],
];

/** Throughput over time: emitted per second, plus any extra series (e.g. enqueued per second). */
export function throughputChart(windows: Window[], extra: Series[] = []): TimeChart {
  return {
    kind: 'time',
    id: 'throughput',
    title: 'Throughput (per second)',
    yLabel: 'msg/s',
    series: [{ label: 'emitted in order', points: windows.map((w) => [w.t, w.rate]) }, ...extra],
  };
}

/** Per-stage latency over time, one chart per percentile (p50 and p99 by default). */
export function latencyCharts(windows: Window[], percentiles: Array<'p50' | 'p90' | 'p99' | 'max'> = ['p50', 'p99']): TimeChart[] {
  return percentiles.map((p) => ({
    kind: 'time' as const,
    id: `latency-${p}`,
    title: `Latency ${p} by stage (messages emitted in each second)`,
    yLabel: 'ms',
    series: LATENCY_STAGES.map(([stage, label]) => ({
      label,
      points: windows.map((w): [number, number | null] => [w.t, w.stages[stage].count > 0 ? w.stages[stage][p] : null]),
    })),
  }));
}

/** Backlog over time from periodic samples. */
export function backlogChart(samples: Array<{ t: number; input: number; results: number; output?: number }>): TimeChart {
  const series: Series[] = [
    { label: 'input list', points: samples.map((s) => [s.t, s.input]) },
    { label: 'results stream', points: samples.map((s) => [s.t, s.results]) },
  ];
  if (samples.some((s) => s.output !== undefined)) {
    series.push({ label: 'output list (right axis)', right: true, points: samples.map((s) => [s.t, s.output ?? null]) });
  }
  return { kind: 'time', id: 'backlog', title: 'Backlog', yLabel: 'entries', y2Label: 'output entries', series };
}
