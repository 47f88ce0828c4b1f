/** The benchmark's figures: the --json object, the terminal table and the report page. */
import { cpus, loadavg } from 'node:os';
import { round } from './bench-metrics.js';
import type { RunMeasure } from './bench-run.js';
import { formatDuration, formatInt } from './cli.js';
import { emptyReport, type Chart, type RunReport, type Series } from './report.js';
import { rateWindows } from './report-series.js';

/** Targets from the project's performance goals: reported, never asserted. */
export const TARGETS = { noopRatio: 4, redisCpuUsPerMessage: 10 } as const;

type Pair = { inorder: number | null; bullmq: number | null; ratio: number | null };

export interface BenchSummary {
  /** msg/s; ratio = inorder / BullMQ */
  noop: Pair;
  work: Pair;
  /** Redis CPU µs per message in the no-op run (the figure the target is about) */
  redisCpuUsPerMessage: { inorder: number | null; bullmq: number | null };
  redisCpuUsPerMessageByWorkload: Record<'noop' | 'work', { inorder: number | null; bullmq: number | null }>;
  order: Record<'noop' | 'work', { inorder: { inversions: number; keptOrder: boolean } | null; bullmq: { inversions: number; keptOrder: boolean } | null }>;
  targets: {
    noopRatio: { target: number; measured: number | null; met: boolean | null };
    redisCpuUsPerMessage: { target: number; measured: number | null; met: boolean | null };
  };
  settings: Record<string, unknown>;
  machine: { cpus: number; loadAverage1m: number };
  /** inorder kept order and lost or duplicated nothing in every run */
  ok: boolean;
  runs: Array<Omit<RunMeasure, 'completions'>>;
  report?: { json: string; html: string };
}

function find(runs: RunMeasure[], system: RunMeasure['system'], workload: RunMeasure['workload']): RunMeasure | undefined {
  return runs.find((r) => r.system === system && r.workload === workload);
}

function pair(runs: RunMeasure[], workload: RunMeasure['workload'], pick: (r: RunMeasure) => number): Pair {
  const a = find(runs, 'inorder', workload);
  const b = find(runs, 'bullmq', workload);
  const inorder = a ? pick(a) : null;
  const bullmq = b ? pick(b) : null;
  return { inorder, bullmq, ratio: inorder !== null && bullmq ? round(inorder / bullmq, 2) : null };
}

export function benchSummary(runs: RunMeasure[], settings: Record<string, unknown>): BenchSummary {
  const cpu = (w: RunMeasure['workload']) => {
    const p = pair(runs, w, (r) => r.redisCpuUsPerMessage);
    return { inorder: p.inorder, bullmq: p.bullmq };
  };
  const order = (w: RunMeasure['workload']) => {
    const of = (s: RunMeasure['system']) => {
      const r = find(runs, s, w);
      return r ? { inversions: r.order.inversions, keptOrder: r.order.keptOrder } : null;
    };
    return { inorder: of('inorder'), bullmq: of('bullmq') };
  };
  const noop = pair(runs, 'noop', (r) => r.throughput);
  const noopCpu = cpu('noop');
  return {
    noop,
    work: pair(runs, 'work', (r) => r.throughput),
    redisCpuUsPerMessage: noopCpu,
    redisCpuUsPerMessageByWorkload: { noop: noopCpu, work: cpu('work') },
    order: { noop: order('noop'), work: order('work') },
    targets: {
      noopRatio: { target: TARGETS.noopRatio, measured: noop.ratio, met: noop.ratio === null ? null : noop.ratio >= TARGETS.noopRatio },
      redisCpuUsPerMessage: {
        target: TARGETS.redisCpuUsPerMessage,
        measured: noopCpu.inorder,
        met: noopCpu.inorder === null ? null : noopCpu.inorder <= TARGETS.redisCpuUsPerMessage,
      },
    },
    settings,
    machine: { cpus: cpus().length, loadAverage1m: round(loadavg()[0] ?? 0, 2) },
    ok: runs.filter((r) => r.system === 'inorder').every((r) => r.complete && r.order.keptOrder),
    runs: runs.map(({ completions: _, ...rest }) => rest),
  };
}

/** The terminal table: one row per run, then the ratios and the targets. */
export function renderBench(summary: BenchSummary, runs: RunMeasure[]): string {
  const header = ['run', 'msg/s', 'wall', 'inversions', 'complete', 'Redis µs/msg', 'client µs/msg'];
  const rows = runs.map((r) => [
    `${r.system} ${r.workload}`,
    formatInt(r.throughput),
    formatDuration(r.wallMs),
    r.order.keptOrder ? '0 (in order)' : formatInt(r.order.inversions),
    r.complete ? 'yes' : 'NO',
    r.redisCpuUsPerMessage.toFixed(1),
    Object.entries(r.clientCpuUsPerMessage).map(([k, v]) => `${k} ${v === null ? '-' : v.toFixed(0)}`).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = ['', line(header), '  ' + widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ''];
  const ratio = (label: string, p: Pair): void => {
    if (p.ratio !== null) lines.push(`  ${label}: inorder ${formatInt(p.inorder!)} msg/s / BullMQ ${formatInt(p.bullmq!)} jobs/s = ${p.ratio.toFixed(2)}x`);
  };
  ratio('no-op', summary.noop);
  ratio('work ', summary.work);
  const t = summary.targets;
  if (t.noopRatio.measured !== null) lines.push(`  target no-op ratio >= ${t.noopRatio.target}x: ${t.noopRatio.met ? 'met' : 'missed'} (${t.noopRatio.measured}x)`);
  if (t.redisCpuUsPerMessage.measured !== null) {
    lines.push(`  target Redis CPU <= ${t.redisCpuUsPerMessage.target} µs/msg: ${t.redisCpuUsPerMessage.met ? 'met' : 'missed'} (inorder ${t.redisCpuUsPerMessage.measured} µs, BullMQ ${summary.redisCpuUsPerMessage.bullmq} µs)`);
  }
  lines.push(`  machine: ${summary.machine.cpus} CPUs, load average ${summary.machine.loadAverage1m} at the end`);
  return lines.join('\n');
}

export function benchReport(summary: BenchSummary, runs: RunMeasure[], startedAt: number): RunReport {
  const report = emptyReport('bench', 'inorder vs BullMQ', startedAt);
  report.ok = summary.ok;
  report.summary = { noop: summary.noop, work: summary.work, redisCpuUsPerMessage: summary.redisCpuUsPerMessage, targets: summary.targets, settings: summary.settings, machine: summary.machine };
  const workloads = (['noop', 'work'] as const).filter((w) => runs.some((r) => r.workload === w));
  const charts: Chart[] = [
    {
      kind: 'bar', id: 'throughput', title: 'Throughput, first enqueue to last completion (msg/s)', yLabel: 'msg/s', categories: [...workloads],
      series: (['inorder', 'bullmq'] as const).map((s) => ({ label: s === 'inorder' ? 'inorder (in order)' : 'BullMQ (unordered)', values: workloads.map((w) => find(runs, s, w)?.throughput ?? 0) })),
    },
    {
      kind: 'bar', id: 'redis-cpu', title: 'Redis CPU per message (µs, INFO CPU)', yLabel: 'µs', categories: [...workloads],
      series: (['inorder', 'bullmq'] as const).map((s) => ({ label: s, values: workloads.map((w) => find(runs, s, w)?.redisCpuUsPerMessage ?? 0) })),
    },
  ];
  for (const w of workloads) {
    const windowMs = w === 'noop' ? 100 : 1000;
    const series: Series[] = runs
      .filter((r) => r.workload === w)
      .map((r) => ({ label: r.system, points: rateWindows(r.completions, 0, windowMs).map((p): [number, number] => [p.t, p.rate]) }));
    charts.push({ kind: 'time', id: `rate-${w}`, title: `${w}: completions per second over time (${windowMs} ms windows)`, yLabel: 'msg/s', series });
  }
  report.charts = charts;
  report.tables = [
    {
      title: 'Runs',
      columns: ['run', 'msg/s', 'wall (ms)', 'enqueue (ms)', 'inversions', 'complete', 'Redis µs/msg', 'client CPU µs/msg'],
      rows: runs.map((r) => [`${r.system} ${r.workload}`, r.throughput, r.wallMs, r.enqueueMs, r.order.inversions, r.complete, r.redisCpuUsPerMessage, JSON.stringify(r.clientCpuUsPerMessage)]),
    },
    {
      title: 'Redis commands per message (INFO commandstats; commands run inside Lua count too)',
      columns: ['run', 'command', 'calls/msg', 'µs/msg'],
      rows: runs.flatMap((r) => r.commands.map((c) => [`${r.system} ${r.workload}`, c.command, c.callsPerMessage, c.usPerMessage])),
    },
  ];
  report.notes = [
    'Both systems run their workers as child processes (inorder: one processor and one sequencer; BullMQ: one Worker); this process only enqueues and watches.',
    'Redis CPU is used_cpu_sys + used_cpu_user of the server, read just before the first enqueue and just after the last completion, divided by the message count.',
    `Machine: ${summary.machine.cpus} CPUs shared by Redis, the workers and this process; load average ${summary.machine.loadAverage1m} at the end.`,
  ];
  return report;
}
