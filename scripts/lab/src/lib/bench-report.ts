/** The bench's terminal table and its report page. */
import { formatInt } from '@inorder/tools';
import { isPeer, type BenchMode, type PhaseMeasure } from './bench-run.js';
import type { BenchSummary, SummaryRow } from './bench-summary.js';
import { emptyReport, type Chart, type RunReport, type Series, type Table } from './report.js';
import { rateWindows } from './report-series.js';

const PROCESSES = ['redis', 'processor', 'sequencer', 'worker', 'producer', 'total'] as const;
const MODE_LABEL: Record<BenchMode, string> = { prefilled: 'pre-filled', e2e: 'end-to-end' };
const SYSTEM_LABEL: Record<string, string> = {
  inorder: 'inorder',
  'inorder-quiet': 'inorder (LOG_LEVEL=error)',
  bullmq: 'BullMQ',
  'bee-queue': 'bee-queue',
};

const cpuCell = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v.toFixed(1));

function rowCells(r: SummaryRow): string[] {
  return [
    `${SYSTEM_LABEL[r.system]} ${MODE_LABEL[r.mode]} ${r.phase}`,
    formatInt(r.throughput),
    ...PROCESSES.map((p) => cpuCell(r.cpuUsPerMessage[p])),
    r.msgsPerCpuSecond === null ? '-' : formatInt(r.msgsPerCpuSecond),
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`,
    r.cpuEfficiencyRatio === null ? '' : `${r.cpuEfficiencyRatio.toFixed(2)}x`,
    r.machineBusyCores === null ? '-' : r.machineBusyCores.toFixed(2),
    isPeer(r.system) ? `${formatInt(r.inversions)} inv.` : r.keptOrder && r.complete ? 'in order' : 'NOT VERIFIED',
  ];
}

/** A table with the first column left-aligned and the others right-aligned. */
export function renderTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), '  ' + widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** The medians table, the per-script Redis time (under --profile), then the targets. */
export function renderBench(summary: BenchSummary): string {
  const header = [
    'median of runs',
    'msg/s',
    ...PROCESSES.map((p) => `${p} µs`),
    'msg/CPU-s',
    'vs BullMQ',
    'msg/CPU-s vs',
    'machine',
    'order',
  ];
  const runs = Math.max(0, ...summary.rows.map((r) => r.runs));
  const lines = [
    '',
    `  CPU µs per message per process; medians of ${runs} run(s); ratios: median of inorder / BullMQ in the same run; machine: cores busy, every process on it counted`,
    ...renderTable(header, summary.rows.map(rowCells)),
    '',
  ];
  if (summary.scripts) {
    lines.push(
      '  Redis time per Lua script, warm pre-filled inorder phase, the fill (submit) included (SLOWLOG; this run is slower for it):',
    );
    lines.push(
      ...renderTable(
        ['script', 'µs/msg', 'µs/call', 'msg/call', 'calls'],
        summary.scripts.byScript.map((s) => [
          s.script,
          s.usPerMessage.toFixed(2),
          s.usPerCall.toFixed(1),
          s.messagesPerCall.toFixed(1),
          formatInt(s.calls),
        ]),
      ),
      '',
    );
  }
  for (const t of summary.targets) {
    const mark = t.met === null ? 'not measured' : t.met ? 'met' : 'NOT MET';
    lines.push(`  target ${t.name} ${t.target}: ${t.measured ?? '-'} -> ${mark} (${t.note})`);
  }
  lines.push(`  machine: ${summary.machine.cpus} CPUs, load average ${summary.machine.loadAverage1m} at the end`);
  return lines.join('\n');
}

/** The bar charts of the medians: msg/s, and CPU per message, per system in each mode and phase. */
function medianCharts(summary: BenchSummary): Chart[] {
  const categories = [...new Set(summary.rows.map((r) => `${MODE_LABEL[r.mode]} ${r.phase}`))];
  const systems = [...new Set(summary.rows.map((r) => r.system))];
  const value = (s: string, c: string, pick: (r: SummaryRow) => number | null | undefined): number =>
    pick(summary.rows.find((r) => r.system === s && `${MODE_LABEL[r.mode]} ${r.phase}` === c)!) ?? 0;
  return [
    {
      kind: 'bar',
      id: 'throughput',
      title: 'Throughput (msg/s, medians)',
      yLabel: 'msg/s',
      categories,
      series: systems.map((s) => ({ label: SYSTEM_LABEL[s]!, values: categories.map((c) => value(s, c, (r) => r?.throughput)) })),
    },
    {
      kind: 'bar',
      id: 'cpu',
      title: 'CPU per message, Redis and workers (µs, medians)',
      yLabel: 'µs',
      categories,
      series: systems.map((s) => ({
        label: SYSTEM_LABEL[s]!,
        values: categories.map((c) => value(s, c, (r) => r?.cpuUsPerMessage.total)),
      })),
    },
  ];
}

/** Per mode, the completions per second of each system's warm phase in the last run (none for a mode not run). */
function rateCharts(phases: PhaseMeasure[]): Chart[] {
  const charts: Chart[] = [];
  const lastRun = Math.max(...phases.map((p) => p.run));
  for (const mode of ['prefilled', 'e2e'] as const) {
    const series: Series[] = phases
      .filter((p) => p.run === lastRun && p.mode === mode && p.phase === 'warm')
      .map((p) => ({
        label: SYSTEM_LABEL[p.system]!,
        points: rateWindows(p.completions, 0, 100).map((w): [number, number] => [w.t, w.rate]),
      }));
    if (series.length > 0)
      charts.push({
        kind: 'time',
        id: `rate-${mode}`,
        title: `${MODE_LABEL[mode]}, warm, last run: completions per second (100 ms windows)`,
        yLabel: 'msg/s',
        series,
      });
  }
  return charts;
}

/** Every phase of every run, one row each. */
function phasesTable(phases: PhaseMeasure[]): Table {
  return {
    title: 'Every phase',
    columns: ['run', 'system', 'mode', 'phase', 'msg/s', 'wall (ms)', 'CPU µs/msg', 'msg/CPU-s', 'inversions', 'complete'],
    rows: phases.map((p) => [
      p.run,
      p.system,
      p.mode,
      p.phase,
      p.throughput,
      p.wallMs,
      JSON.stringify(p.cpuUsPerMessage),
      p.msgsPerCpuSecond,
      p.order.inversions,
      p.complete,
    ]),
  };
}

/** The report's tables: medians, targets, every phase, then the Redis time per script (under --profile). */
function reportTables(summary: BenchSummary, phases: PhaseMeasure[]): Table[] {
  const tables: Table[] = [
    {
      title: 'Medians',
      columns: [
        'system, mode, phase',
        'msg/s',
        ...PROCESSES.map((p) => `${p} µs/msg`),
        'msg/CPU-s',
        'vs BullMQ',
        'msg/CPU-s vs BullMQ',
        'machine busy cores',
        'order',
      ],
      rows: summary.rows.map(rowCells),
    },
    {
      title: 'Targets',
      columns: ['target', 'goal', 'measured', 'met', 'how'],
      rows: summary.targets.map((t) => [t.name, t.target, t.measured, t.met, t.note]),
    },
    phasesTable(phases),
  ];
  if (summary.scripts)
    tables.push({
      title: 'Redis time per script (SLOWLOG)',
      columns: ['script', 'µs/msg', 'µs/call', 'msg/call', 'calls'],
      rows: summary.scripts.byScript.map((s) => [s.script, s.usPerMessage, s.usPerCall, s.messagesPerCall, s.calls]),
    });
  return tables;
}

/** How the bench ran and measured, and the machine it ran on. */
function reportNotes(summary: BenchSummary): string[] {
  return [
    'Every worker runs as a child process (inorder: one processor and one sequencer; BullMQ: one Worker; bee-queue: one Queue#process); this process enqueues (the producer) and watches.',
    'Pre-filled: the queue is full before the workers may take from it (inorder: processor stopped with SIGSTOP while filling; BullMQ: Queue.pause(); bee-queue: the worker calls Queue#process once the jobs are saved); timed from the first message started to the last finished. End-to-end: timed from the first enqueue.',
    'CPU: Redis from INFO cpu (used_cpu_sys + used_cpu_user), each process from /proc/<pid>/stat (utime + stime), read around each phase. msg/CPU-s counts Redis and the workers, and the producer end to end.',
    `Machine: ${summary.machine.cpus} CPUs shared by Redis, the workers and this process; load average ${summary.machine.loadAverage1m} at the end.`,
  ];
}

/** The bench's report page: the medians and rate charts, the tables and the notes. */
export function benchReport(summary: BenchSummary, phases: PhaseMeasure[], startedAt: number): RunReport {
  const peers = [...new Set(summary.rows.filter((r) => isPeer(r.system)).map((r) => SYSTEM_LABEL[r.system]))];
  const report = emptyReport('bench', peers.length > 0 ? `inorder vs ${peers.join(' and ')}` : 'inorder', startedAt);
  report.ok = summary.ok;
  const { phases: _, ...figures } = summary;
  report.summary = figures;
  report.charts = [...medianCharts(summary), ...rateCharts(phases)];
  report.tables = reportTables(summary, phases);
  report.notes = reportNotes(summary);
  return report;
}
