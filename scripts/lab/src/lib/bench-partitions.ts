/**
 * `bench --partitions 1,2,4,8`: inorder alone, one pipeline of P partitions served by one
 * processor and one sequencer (default), the messages spread evenly, each partition's order
 * verified. Per count: a cold phase (warm-up), then the measured warm phase, pre-filled. Reports
 * msg/s, CPU per message per process, messages per CPU-second, how busy each process was, and the
 * ceiling each process sets (1 s / its CPU per message), which is what more cores would lift.
 */
import { cpus } from 'node:os';
import type { RedisClient } from '@inorder/shared';
import { formatInt, type Output } from '@inorder/tools';
import { round } from './bench-metrics.js';
import { InorderSide } from './bench-inorder.js';
import { renderTable } from './bench-report.js';
import type { PhaseMeasure, Workload } from './bench-run.js';
import { median } from './bench-summary.js';
import { emptyReport, type RunReport } from './report.js';

export interface PartitionsBenchOptions {
  redis: RedisClient;
  nodes: RedisClient[];
  redisUrl: string;
  label: string;
  out: Output;
  partitions: number[];
  count: number;
  runs: number;
  processors: number;
  workMs: number;
}

export interface PartitionRow {
  partitions: number;
  runs: number;
  throughput: number;
  perPartition: number;
  cpuUsPerMessage: Record<string, number | null>;
  msgsPerCpuSecond: number | null;
  /** CPU seconds per second of each process: 1.0 is one core kept busy */
  busyCores: Record<string, number | null>;
  /** cores the whole machine kept busy meanwhile, other work on it included */
  machineBusyCores: number | null;
  ok: boolean;
}

export interface PartitionsFigures {
  target: string;
  rows: PartitionRow[];
  /** msgs per CPU-second with 8 partitions in one process / with 1 (goal >= 0.9) */
  efficiency8vs1: { measured: number | null; target: string; met: boolean | null };
  /** aggregate msg/s with 4 partitions / with 1 (goal >= 1.6) */
  throughput4vs1: { measured: number | null; target: string; met: boolean | null };
  /** 1 s / CPU per message of each process at the largest count: the msg/s it allows on a core of its own */
  ceilings: Record<string, number | null>;
  ok: boolean;
}

function partitionRow(partitions: number, phases: PhaseMeasure[]): PartitionRow {
  const keys = [...new Set(phases.flatMap((p) => Object.keys(p.cpuUsPerMessage)))].filter((k) => k !== 'producer');
  const cpu = Object.fromEntries(keys.map((k) => [k, median(phases.map((p) => p.cpuUsPerMessage[k]))]));
  const throughput = median(phases.map((p) => p.throughput)) ?? 0;
  const busy = Object.fromEntries(
    keys.filter((k) => k !== 'total').map((k) => [k, cpu[k] == null ? null : round((cpu[k] * throughput) / 1e6, 2)]),
  );
  return {
    partitions,
    runs: phases.length,
    throughput: round(throughput, 0),
    perPartition: round(throughput / partitions, 0),
    cpuUsPerMessage: Object.fromEntries(keys.map((k) => [k, cpu[k] == null ? null : round(cpu[k], 2)])),
    msgsPerCpuSecond: median(phases.map((p) => p.msgsPerCpuSecond)),
    busyCores: busy,
    machineBusyCores: median(phases.map((p) => p.machineBusyCores)),
    ok: phases.every((p) => p.complete && p.order.keptOrder),
  };
}

function ratio(
  rows: PartitionRow[],
  a: number,
  b: number,
  pick: (r: PartitionRow) => number | null,
  goal: number,
): PartitionsFigures['throughput4vs1'] {
  const x = rows.find((r) => r.partitions === a);
  const y = rows.find((r) => r.partitions === b);
  const num = x ? pick(x) : null;
  const den = y ? pick(y) : null;
  const measured = num !== null && den ? round(num / den, 2) : null;
  return { measured, target: `>= ${goal}`, met: measured === null ? null : measured >= goal };
}

export function partitionsFigures(label: string, byCount: Map<number, PhaseMeasure[]>): PartitionsFigures {
  const rows = [...byCount].map(([p, phases]) => partitionRow(p, phases));
  const largest = rows[rows.length - 1];
  const ceilings = Object.fromEntries(
    Object.entries(largest?.cpuUsPerMessage ?? {})
      .filter(([k]) => k !== 'total')
      .map(([k, us]) => [k, us ? Math.round(1e6 / us) : null]),
  );
  return {
    target: label,
    rows,
    efficiency8vs1: ratio(rows, 8, 1, (r) => r.msgsPerCpuSecond, 0.9),
    throughput4vs1: ratio(rows, 4, 1, (r) => r.throughput, 1.6),
    ceilings,
    ok: rows.every((r) => r.ok),
  };
}

export function renderPartitions(f: PartitionsFigures): string {
  const procs = [...new Set(f.rows.flatMap((r) => Object.keys(r.cpuUsPerMessage)))];
  const header = [
    'partitions',
    'msg/s',
    'per partition',
    ...procs.map((p) => `${p} µs`),
    'msg/CPU-s',
    ...procs.filter((p) => p !== 'total').map((p) => `${p} cores`),
    'order',
  ];
  const rows = f.rows.map((r) => [
    String(r.partitions),
    formatInt(r.throughput),
    formatInt(r.perPartition),
    ...procs.map((p) => r.cpuUsPerMessage[p]?.toFixed(1) ?? '-'),
    r.msgsPerCpuSecond === null ? '-' : formatInt(r.msgsPerCpuSecond),
    ...procs.filter((p) => p !== 'total').map((p) => r.busyCores[p]?.toFixed(2) ?? '-'),
    r.ok ? 'each in order' : 'NOT VERIFIED',
  ]);
  const mark = (m: boolean | null): string => (m === null ? 'not measured' : m ? 'met' : 'NOT MET');
  const ours = f.rows.map((r) => Object.entries(r.busyCores).reduce((a, [, v]) => a + (v ?? 0), 0));
  return [
    '',
    `  ${f.target}; warm, pre-filled; medians of ${f.rows[0]?.runs ?? 0} run(s); "cores": CPU seconds per second of each process`,
    ...renderTable(header, rows),
    '',
    `  target msg/CPU-s, 8 partitions in one process vs 1 partition >= 0.9: ${f.efficiency8vs1.measured ?? '-'} -> ${mark(f.efficiency8vs1.met)}`,
    `  target aggregate msg/s, 4 partitions vs 1 >= 1.6x: ${f.throughput4vs1.measured ?? '-'}x -> ${mark(f.throughput4vs1.met)}`,
    `  busy cores per count, ours (Redis + services) / the whole machine's: ${f.rows.map((r, i) => `${r.partitions}: ${ours[i]!.toFixed(2)} / ${r.machineBusyCores?.toFixed(2) ?? '-'}`).join(', ')} of ${cpus().length}`,
    `  ceiling of each process on a core of its own (1 s / its CPU per message): ${Object.entries(f.ceilings)
      .map(([k, v]) => `${k} ${v === null ? '-' : formatInt(v)} msg/s`)
      .join(', ')}`,
  ].join('\n');
}

/** One lifetime of the services over `partitions` partitions: a cold phase, then the measured warm one, printed. */
async function measureCount(opts: PartitionsBenchOptions, partitions: number, run: number, workload: Workload): Promise<PhaseMeasure> {
  const side = await InorderSide.start({
    ...opts,
    system: 'inorder',
    partitions,
    env: { LOG_LEVEL: 'info', WORK_MS: String(opts.workMs) },
  });
  try {
    await side.phase('prefilled', 'cold', run, workload);
    const measure = await side.phase('prefilled', 'warm', run, workload);
    opts.out.line(
      `  run ${run}, ${partitions} partition(s): ${formatInt(measure.throughput)} msg/s, ${measure.cpuUsPerMessage.total ?? '-'} µs CPU/msg${measure.complete && measure.order.keptOrder ? '' : ' (NOT VERIFIED)'}`,
    );
    return measure;
  } finally {
    await side.stop();
  }
}

/** Every run over every partition count: the warm phases, by partition count. */
async function measureCounts(opts: PartitionsBenchOptions): Promise<Map<number, PhaseMeasure[]>> {
  const byCount = new Map<number, PhaseMeasure[]>(opts.partitions.map((p) => [p, []]));
  const workload = { count: opts.count, workMs: opts.workMs, timeoutMs: 60_000 + opts.count * 2 };
  for (let run = 1; run <= opts.runs; run++) {
    for (const partitions of opts.partitions) {
      const measure = await measureCount(opts, partitions, run, workload);
      byCount.get(partitions)!.push(measure);
    }
  }
  return byCount;
}

/** The report page: msg/s by partition count, aggregate and per partition, and the table of every figure. */
function partitionsReport(figures: PartitionsFigures, label: string, startedAt: number): RunReport {
  const report = emptyReport('bench', `inorder over partition counts (${label})`, startedAt);
  report.ok = figures.ok;
  report.summary = { ...figures };
  report.charts = [
    {
      kind: 'bar',
      id: 'partitions-throughput',
      title: 'msg/s by partition count (warm, pre-filled, medians)',
      yLabel: 'msg/s',
      categories: figures.rows.map((r) => String(r.partitions)),
      series: [
        { label: 'aggregate', values: figures.rows.map((r) => r.throughput) },
        { label: 'per partition', values: figures.rows.map((r) => r.perPartition) },
      ],
    },
  ];
  report.tables = [
    {
      title: 'Partitions',
      columns: ['partitions', 'msg/s', 'per partition', 'CPU µs/msg', 'msg/CPU-s', 'busy cores', 'in order'],
      rows: figures.rows.map((r) => [
        r.partitions,
        r.throughput,
        r.perPartition,
        JSON.stringify(r.cpuUsPerMessage),
        r.msgsPerCpuSecond,
        JSON.stringify(r.busyCores),
        r.ok,
      ]),
    },
  ];
  return report;
}

/** Runs the partitions bench and returns its figures and report. */
export async function benchPartitions(opts: PartitionsBenchOptions): Promise<{ figures: PartitionsFigures; report: RunReport }> {
  const startedAt = Date.now();
  opts.out.line(
    `bench --partitions: ${opts.label}; ${opts.count.toLocaleString('en-US')} messages per phase over ${opts.partitions.join(', ')} partitions; ${opts.processors} processor(s), 1 sequencer`,
  );
  const figures = partitionsFigures(opts.label, await measureCounts(opts));
  opts.out.line(renderPartitions(figures));
  return { figures, report: partitionsReport(figures, opts.label, startedAt) };
}
