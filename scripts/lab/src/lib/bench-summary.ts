/**
 * The bench's figures: medians over the runs of each system, mode and phase; ratios against the
 * peer in the same run (then their median); the targets with a met / not-met mark. Targets are
 * printed, never asserted.
 */
import { cpus, loadavg } from 'node:os';
import { round } from './bench-metrics.js';
import { isPeer, PEERS, type BenchMode, type BenchPhase, type BenchSystem, type PhaseMeasure } from './bench-run.js';
import type { ScriptTimes } from './bench-scripts.js';

/** The performance goals: printed with each measured value, never asserted. */
export const TARGETS = {
  /** inorder / BullMQ msg/s, pre-filled, warm, same run */
  prefilledRatio: 3,
  /** the same, end to end */
  e2eRatio: 3,
  /** Redis + processor + sequencer CPU µs per message, pre-filled, warm */
  totalCpuUs: 25,
  /** Redis alone */
  redisCpuUs: 8,
  /** throughput lost to logging at info, against LOG_LEVEL=error, in % */
  logCostPct: 5,
} as const;

export interface SummaryRow {
  system: BenchSystem;
  mode: BenchMode;
  phase: BenchPhase;
  /** phases the medians are over */
  runs: number;
  throughput: number;
  wallMs: number;
  /** median CPU µs per message of each process (redis, processor, sequencer, worker, producer, total) */
  cpuUsPerMessage: Record<string, number | null>;
  msgsPerCpuSecond: number | null;
  /** cores the whole machine kept busy during the phase (others' work included) */
  machineBusyCores: number | null;
  /** median over runs of inorder / BullMQ in the same run (msg/s), for inorder rows */
  ratio: number | null;
  /** median over runs of the same ratio in messages per CPU-second */
  cpuEfficiencyRatio: number | null;
  /** every phase kept order (per partition) */
  keptOrder: boolean;
  /** median inversions (the peers: how far from order they got) */
  inversions: number;
  /** every phase complete: each message exactly once */
  complete: boolean;
}

export interface Target {
  name: string;
  target: string;
  measured: number | null;
  met: boolean | null;
  /** how it was measured */
  note: string;
}

export interface BenchSummary {
  rows: SummaryRow[];
  targets: Target[];
  /** the per-script Redis time of the warm pre-filled inorder phases (median run), under --profile */
  scripts: ScriptTimes | null;
  settings: Record<string, unknown>;
  machine: { cpus: number; loadAverage1m: number };
  /** inorder kept order and lost or duplicated nothing in every phase */
  ok: boolean;
  phases: Array<Omit<PhaseMeasure, 'completions'>>;
  report?: { json: string; html: string };
}

export function median(values: Array<number | null | undefined>): number | null {
  const known = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const mid = known.length >> 1;
  return known.length % 2 === 1 ? known[mid]! : (known[mid - 1]! + known[mid]!) / 2;
}

const medianRounded = (values: Array<number | null | undefined>, digits = 1): number | null => {
  const m = median(values);
  return m === null ? null : round(m, digits);
};

/** The median over runs of a / b, each pair taken from the same run. */
function pairedRatio(phases: PhaseMeasure[], a: PhaseMeasure[], b: BenchSystem, pick: (p: PhaseMeasure) => number | null): number | null {
  const ratios = a.map((x) => {
    const peer = phases.find((p) => p.system === b && p.mode === x.mode && p.phase === x.phase && p.run === x.run);
    const num = pick(x);
    const den = peer ? pick(peer) : null;
    return num !== null && den ? num / den : null;
  });
  return medianRounded(ratios, 2);
}

function row(phases: PhaseMeasure[], system: BenchSystem, mode: BenchMode, phase: BenchPhase): SummaryRow | undefined {
  const mine = phases.filter((p) => p.system === system && p.mode === mode && p.phase === phase);
  if (mine.length === 0) return undefined;
  const keys = [...new Set(mine.flatMap((p) => Object.keys(p.cpuUsPerMessage)))];
  const inorder = !isPeer(system);
  return {
    system,
    mode,
    phase,
    runs: mine.length,
    throughput:
      medianRounded(
        mine.map((p) => p.throughput),
        0,
      ) ?? 0,
    wallMs:
      medianRounded(
        mine.map((p) => p.wallMs),
        0,
      ) ?? 0,
    cpuUsPerMessage: Object.fromEntries(
      keys.map((k) => [
        k,
        medianRounded(
          mine.map((p) => p.cpuUsPerMessage[k]),
          2,
        ),
      ]),
    ),
    msgsPerCpuSecond: medianRounded(
      mine.map((p) => p.msgsPerCpuSecond),
      0,
    ),
    machineBusyCores: medianRounded(
      mine.map((p) => p.machineBusyCores),
      2,
    ),
    ratio: inorder ? pairedRatio(phases, mine, 'bullmq', (p) => p.throughput) : null,
    cpuEfficiencyRatio: inorder ? pairedRatio(phases, mine, 'bullmq', (p) => p.msgsPerCpuSecond) : null,
    keptOrder: mine.every((p) => p.order.keptOrder),
    inversions: median(mine.map((p) => p.order.inversions)) ?? 0,
    complete: mine.every((p) => p.complete),
  };
}

const consumeCpu = (r: SummaryRow | undefined): number | null => {
  const c = r?.cpuUsPerMessage;
  if (!c || c.redis == null || c.processor == null || c.sequencer == null) return null;
  return round(c.redis + c.processor + c.sequencer, 2);
};

const atLeast = (name: string, target: number, measured: number | null, note: string, unit = 'x'): Target => ({
  name,
  target: `>= ${target}${unit}`,
  measured,
  met: measured === null ? null : measured >= target,
  note,
});
const atMost = (name: string, target: number, measured: number | null, note: string, unit: string): Target => ({
  name,
  target: `<= ${target} ${unit}`,
  measured,
  met: measured === null ? null : measured <= target,
  note,
});

function targets(rows: SummaryRow[], phases: PhaseMeasure[]): Target[] {
  const find = (s: BenchSystem, m: BenchMode, p: BenchPhase) => rows.find((r) => r.system === s && r.mode === m && r.phase === p);
  const pre = find('inorder', 'prefilled', 'warm');
  const e2e = find('inorder', 'e2e', 'warm');
  const quiet = phases.filter((p) => p.system === 'inorder-quiet' && p.mode === 'prefilled' && p.phase === 'warm');
  const logRatio = pairedRatio(phases, quiet, 'inorder', (p) => p.throughput);
  const logCpu = pairedRatio(phases, quiet, 'inorder', (p) => p.cpuUsPerMessage.total ?? null);
  const cpuPct = logCpu === null ? null : round((1 / logCpu - 1) * 100, 1);
  const cpuNote = cpuPct === null ? '' : `; CPU per message at info ${cpuPct >= 0 ? '+' : ''}${cpuPct}% against error`;
  const ratioNote = (mode: BenchMode): string => {
    const cold = `cold: ${find('inorder', mode, 'cold')?.ratio ?? '-'}x`;
    const warm = phases.filter((p) => p.system === 'inorder' && p.mode === mode && p.phase === 'warm');
    const bee = pairedRatio(phases, warm, 'bee-queue', (p) => p.throughput);
    return `warm, same run (${cold}${bee === null ? '' : `; vs bee-queue, warm: ${bee}x`})`;
  };
  return [
    atLeast('pre-filled msg/s vs BullMQ', TARGETS.prefilledRatio, pre?.ratio ?? null, ratioNote('prefilled')),
    atLeast('end-to-end msg/s vs BullMQ', TARGETS.e2eRatio, e2e?.ratio ?? null, ratioNote('e2e')),
    atMost(
      'CPU per message: Redis + processor + sequencer',
      TARGETS.totalCpuUs,
      consumeCpu(pre),
      `pre-filled, warm (end to end, with submits: ${consumeCpu(e2e) ?? '-'} µs)`,
      'µs',
    ),
    atMost(
      'CPU per message: Redis',
      TARGETS.redisCpuUs,
      pre?.cpuUsPerMessage.redis ?? null,
      `pre-filled, warm (end to end, with submits: ${e2e?.cpuUsPerMessage.redis ?? '-'} µs)`,
      'µs',
    ),
    atMost(
      'logging cost at info',
      TARGETS.logCostPct,
      logRatio === null ? null : round((1 - 1 / logRatio) * 100, 1),
      `msg/s lost at LOG_LEVEL=info against error, pre-filled, warm, same run${cpuNote}`,
      '%',
    ),
  ];
}

export function benchSummary(phases: PhaseMeasure[], scripts: ScriptTimes[], settings: Record<string, unknown>): BenchSummary {
  const rows: SummaryRow[] = [];
  for (const system of ['inorder', 'inorder-quiet', ...PEERS] as const) {
    for (const mode of ['prefilled', 'e2e'] as const) {
      for (const phase of ['cold', 'warm'] as const) {
        const r = row(phases, system, mode, phase);
        if (r) rows.push(r);
      }
    }
  }
  const byTotal = [...scripts].sort((a, b) => sum(a) - sum(b));
  return {
    rows,
    targets: targets(rows, phases),
    scripts: byTotal[(byTotal.length - 1) >> 1] ?? null,
    settings,
    machine: { cpus: cpus().length, loadAverage1m: round(loadavg()[0] ?? 0, 2) },
    ok: phases.filter((p) => !isPeer(p.system)).every((p) => p.complete && p.order.keptOrder),
    phases: phases.map(({ completions: _, ...rest }) => rest),
  };
}

function sum(t: ScriptTimes): number {
  return t.byScript.reduce((a, s) => a + s.usPerMessage, 0);
}
