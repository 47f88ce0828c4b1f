/** The figures of a chaos run: what --json prints, and the fault table for a terminal. */
import type { FaultResult } from './chaos-faults.js';
import type { FaultKind, PlannedFault } from './chaos-plan.js';
import { formatInt } from './cli.js';
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
  report?: { json: string; html: string };
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
    targets: { leaderFailoverMs: { target: LEADER_FAILOVER_TARGET_MS, measured: failover, met: failover === null ? null : failover <= LEADER_FAILOVER_TARGET_MS } },
  };
}

export function renderFaults(faults: FaultResult[]): string {
  if (faults.length === 0) return '  (no faults ran)';
  return faults
    .map((f) => {
      const extra = Object.entries(f.details)
        .filter(([k]) => !['process', 'fenceBefore', 'fenceAfter'].includes(k))
        .map(([k, v]) => `${k} ${typeof v === 'number' ? formatInt(v) : String(v)}`)
        .join(', ');
      const recovery = f.recoveryMs === null ? 'NOT RECOVERED' : `${formatInt(f.recoveryMs)} ms`;
      return `  ${`@${f.at.toFixed(1)}s`.padStart(8)}  ${f.kind.padEnd(14)} recovery ${recovery.padStart(9)}  ${f.label}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}
