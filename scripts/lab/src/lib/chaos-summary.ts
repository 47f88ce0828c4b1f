/** The figures of a chaos run: what --json prints, and the fault table for a terminal. */
import type { FaultResult } from './chaos-faults.js';
import type { FaultKind, PlannedFault } from './chaos-plan.js';
import { formatInt } from '@inorder/tools';
import type { LoadSpec } from './soak-run.js';
import type { LoadFigures } from './soak-summary.js';

/** Leader failover target from the project's goals: reported, not asserted. */
export const LEADER_FAILOVER_TARGET_MS = 1500;

export interface ChaosSettings {
  seed: string;
  load: LoadSpec;
  workMs: number;
  processors: number;
  concurrency: number;
  sequencers: number;
  claimLeaseMs: number;
  leaderLeaseMs: number;
}

export interface ChaosSummary extends Omit<LoadFigures, 'ok'> {
  /** verified, drained, and every fault recovered from */
  ok: boolean;
  seed: string;
  settings: ChaosSettings;
  /** what the seed drew: kind, earliest moment (s) and target pick of each fault, in order */
  plan: PlannedFault[];
  faults: Array<FaultResult>;
  /** per kind: how many, and the recovery times (ms) */
  recovery: Partial<Record<FaultKind, { count: number; recovered: number; maxMs: number | null; meanMs: number | null }>>;
  targets: { leaderFailoverMs: { target: number; measured: number | null; met: boolean | null } };
  /** processor kills whose processor held claims: from the kill to each step of their recovery */
  processorKills: ProcessorKillFigures | null;
  report?: { json: string; html: string };
}

/** Median, lowest and highest of some times (ms); null when there are none. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface ProcessorKillFigures {
  /** kills of a processor that held claims */
  kills: number;
  claimLeaseMs: number;
  /** to the first re-claim of its claims by another processor */
  reclaimedMs: Spread | null;
  /** to the first emit past the lowest seq it held (where the order waited) */
  emittedPastStalledMs: Spread | null;
  /** to the emit of every seq it held */
  allEmittedMs: Spread | null;
}

export function spread(values: ReadonlyArray<number | null | undefined>): Spread | null {
  const sorted = values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

function processorKillFigures(faults: FaultResult[], claimLeaseMs: number): ProcessorKillFigures | null {
  const kills = faults.filter((f) => f.kind === 'processor-kill' && Number(f.details.seqsHeld) > 0);
  if (kills.length === 0) return null;
  const of = (key: string): Array<number | null> => kills.map((f) => (typeof f.details[key] === 'number' ? f.details[key] : null));
  return {
    kills: kills.length,
    claimLeaseMs,
    reclaimedMs: spread(of('reclaimedMs')),
    emittedPastStalledMs: spread(of('emittedPastStalledMs')),
    allEmittedMs: spread(kills.map((f) => f.recoveryMs)),
  };
}

/** "3 kills (CLAIM_LEASE_MS 1,000): re-claimed after 1,010 ms (980-1,100), ..." for a terminal. */
export function renderProcessorKills(p: ProcessorKillFigures | null): string {
  if (!p) return '  (no processor was killed while it held claims)';
  const show = (s: Spread | null): string => (s ? `${formatInt(s.median)} ms (${formatInt(s.min)}-${formatInt(s.max)})` : 'n/a');
  return [
    `  ${p.kills} ${p.kills === 1 ? 'kill' : 'kills'} of a processor holding claims, CLAIM_LEASE_MS ${formatInt(p.claimLeaseMs)}; from the kill, median (range):`,
    `    first re-claim of its claims            ${show(p.reclaimedMs)}`,
    `    first emit past the seq it held back    ${show(p.emittedPastStalledMs)}`,
    `    every seq it held emitted               ${show(p.allEmittedMs)}`,
  ].join('\n');
}

export function chaosSummary(figures: LoadFigures, plan: PlannedFault[], faults: FaultResult[], settings: ChaosSettings): ChaosSummary {
  const recovery: ChaosSummary['recovery'] = {};
  for (const f of faults) {
    const r = (recovery[f.kind] ??= { count: 0, recovered: 0, maxMs: null, meanMs: null });
    r.count++;
    if (f.recoveryMs !== null) {
      r.meanMs = Math.round(((r.meanMs ?? 0) * r.recovered + f.recoveryMs) / (r.recovered + 1));
      r.recovered++;
      r.maxMs = Math.max(r.maxMs ?? 0, f.recoveryMs);
    }
  }
  const failover = recovery['leader-kill']?.maxMs ?? null;
  const recoveredAll = faults.every((f) => f.recoveryMs !== null || f.details.skipped === true);
  return {
    ...figures,
    ok: figures.ok && recoveredAll,
    seed: settings.seed,
    settings,
    plan,
    faults,
    recovery,
    targets: {
      leaderFailoverMs: {
        target: LEADER_FAILOVER_TARGET_MS,
        measured: failover,
        met: failover === null ? null : failover <= LEADER_FAILOVER_TARGET_MS,
      },
    },
    processorKills: processorKillFigures(faults, settings.claimLeaseMs),
  };
}

export function renderFaults(faults: FaultResult[]): string {
  if (faults.length === 0) return '  (no faults ran)';
  return faults
    .map((f) => {
      const extra = Object.entries(f.details)
        .filter(([k, v]) => !['process', 'fenceBefore', 'fenceAfter'].includes(k) && v !== null && !(Array.isArray(v) && v.length === 0))
        .map(([k, v]) => `${k} ${typeof v === 'number' ? formatInt(v) : String(v)}`)
        .join(', ');
      const recovery = f.recoveryMs === null ? 'NOT RECOVERED' : `${formatInt(f.recoveryMs)} ms`;
      return `  ${`@${f.at.toFixed(1)}s`.padStart(8)}  ${f.kind.padEnd(14)} recovery ${recovery.padStart(9)}  ${f.label}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}
