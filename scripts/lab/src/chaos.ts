/**
 * chaos: a steady load (or a burst) through local services while faults chosen by a seeded PRNG
 * hit them: processor SIGKILL, leader SIGKILL, leader SIGSTOP past its lease, CLIENT KILL of
 * every connection, Redis restart from its append-only file. Each fault's recovery is measured;
 * then everything is verified. Exit 1 on loss, duplicates, disorder, or a fault not recovered.
 */
import { randomBytes } from 'node:crypto';
import { FAULT_KINDS, faultWindowS, parseFaults, planFaults, type FaultKind, type PlannedFault } from './lib/chaos-plan.js';
import { injectFault, type FaultContext, type FaultResult } from './lib/chaos-faults.js';
import { chaosSummary, renderFaults, renderProcessorKills, type ChaosSettings, type ChaosSummary } from './lib/chaos-summary.js';
import {
  type Output,
  UsageError,
  VerificationFailed,
  formatDuration,
  formatInt,
  intFlag,
  numberFlag,
  type parseFlags,
  renderPairs,
  stringFlag,
  renderVerify,
  runTool,
} from '@inorder/tools';
import { emptyReport, writeReport } from './lib/report.js';
import { runSoakLoad, type LoadSpec, type RunContext, type RunOutcome } from './lib/soak-run.js';
import { loadCharts, loadFigures, renderLoadLatency, windowsOf, type LoadFigures } from './lib/soak-summary.js';
import { REPORT_FLAGS, STEADY_LOAD_FLAGS, TOPOLOGY_FLAGS, reportUsage, topologyUsage } from './lib/flags.js';

const SPEC = {
  name: 'chaos',
  usage: `
npm run chaos -- [options]

Runs a steady load (or, with --count, a burst) through local services it starts, on a
throwaway redis-server with appendonly yes, and injects faults at moments drawn from a seeded
PRNG. Reports each fault's recovery time, then verifies order, loss and duplicates.
Faults fall between 15% and 75% of the load's duration (of a burst: of its ideal time
ceil(count / (processors x concurrency)) x work, at least 5 s), one after another.

  --faults LIST         kinds, each optionally ":n" times (default: every kind once):
                        ${FAULT_KINDS.join(', ')}
  --seed S              PRNG seed: the same seed, the same plan (default: random, printed)
  --duration S          seconds of steady load (default 40)
  --rate N              messages per second (default 500)
  --count N             a burst of N messages at once instead of a steady load
  ${topologyUsage(22, { 'work-ms': 50, processors: 3, concurrency: 64, sequencers: '2: a leader and a standby' })}
  --claim-lease-ms MS   processors' CLAIM_LEASE_MS (default 1000, the service default)
  --leader-lease-ms MS  sequencers' LEADER_LEASE_MS (default 1000)
  ${reportUsage(22)}
  --json                last line of stdout: one JSON object with the figures
`,
  options: {
    faults: { type: 'string' },
    seed: { type: 'string' },
    ...STEADY_LOAD_FLAGS,
    count: { type: 'string' },
    ...TOPOLOGY_FLAGS,
    'claim-lease-ms': { type: 'string' },
    'leader-lease-ms': { type: 'string' },
    ...REPORT_FLAGS,
  },
} as const;

type ChaosFlags = ReturnType<typeof parseFlags<typeof SPEC.options>>;

/** The run's settings from its flags; a bad flag throws UsageError. */
function settingsOf(flags: ChaosFlags): ChaosSettings & { kinds: FaultKind[] } {
  let kinds: FaultKind[];
  try {
    kinds = parseFaults(stringFlag(flags, 'faults') ?? FAULT_KINDS.join(','));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const count = flags.count === undefined ? undefined : intFlag(flags, 'count', 1000, 1);
  const load: LoadSpec =
    count !== undefined
      ? { kind: 'burst', count }
      : {
          kind: 'steady',
          rate: numberFlag(flags, 'rate', 500, 1, 100_000),
          durationMs: numberFlag(flags, 'duration', 40, 1, 24 * 3600) * 1000,
        };
  return {
    kinds,
    seed: stringFlag(flags, 'seed') ?? randomBytes(4).toString('hex'),
    load,
    workMs: intFlag(flags, 'work-ms', 50),
    processors: intFlag(flags, 'processors', 3, 1),
    concurrency: intFlag(flags, 'concurrency', 64, 1),
    sequencers: intFlag(flags, 'sequencers', 2, 1),
    claimLeaseMs: intFlag(flags, 'claim-lease-ms', 1000, 500),
    leaderLeaseMs: intFlag(flags, 'leader-lease-ms', 1000, 200),
  };
}

/** Injects each planned fault no earlier than planned, one after another, and measures its recovery. */
async function injectAll(ctx: RunContext, plan: PlannedFault[], settings: ChaosSettings, out: Output): Promise<FaultResult[]> {
  const faultCtx: FaultContext = {
    client: ctx.client,
    keys: ctx.keys,
    services: ctx.services!,
    localRedis: ctx.localRedis,
    startedAt: ctx.startedAt,
    leaderLeaseMs: settings.leaderLeaseMs,
    claimLeaseMs: settings.claimLeaseMs,
    recoveryTimeoutMs: Math.max(30_000, settings.claimLeaseMs * 3),
  };
  const faults: FaultResult[] = [];
  for (const planned of plan) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, ctx.startedAt + planned.atS * 1000 - Date.now())));
    const fault = await injectFault(faultCtx, planned);
    faults.push(fault);
    out.line(
      `  fault      @${fault.at.toFixed(1)}s ${fault.label}: ${fault.recoveryMs === null ? 'NOT RECOVERED' : `recovered in ${formatInt(fault.recoveryMs)} ms`}`,
    );
  }
  return faults;
}

function printOutcome(
  out: Output,
  outcome: RunOutcome,
  figures: LoadFigures,
  summary: ChaosSummary,
  windows: ReturnType<typeof windowsOf>,
): void {
  out.line('');
  out.line(renderVerify(outcome.verify));
  out.line('');
  out.line(
    renderPairs([
      ['wall time', `${formatDuration(figures.wallMs)} (ideal ${formatDuration(figures.idealMs)})`],
      ['throughput', `${formatInt(figures.throughput)} msg/s out`],
    ]),
  );
  out.line('');
  out.line('Faults');
  out.line(renderFaults(summary.faults));
  if (summary.faults.some((f) => f.kind === 'processor-kill')) {
    out.line('');
    out.line('Processor crash recovery');
    out.line(renderProcessorKills(summary.processorKills));
  }
  out.line(renderLoadLatency(figures.latency, windows, 20));
  if (!summary.ok && outcome.services) {
    for (const s of outcome.services.all) {
      const notable = s.logs.filter((l) => /"level":"(warn|error)"/.test(l)).slice(-8);
      if (notable.length > 0) out.line(`  --- ${s.name}: last warnings ---\n  ${notable.join('\n  ')}`);
    }
  }
}

function saveReport(
  outcome: RunOutcome,
  figures: LoadFigures,
  summary: ChaosSummary,
  windows: ReturnType<typeof windowsOf>,
  dir: string | undefined,
): { json: string; html: string } {
  const { seed, faults, settings: s } = summary;
  const report = emptyReport('chaos', `chaos: seed ${seed}, ${faults.length} faults`, outcome.startedAt);
  report.ok = summary.ok;
  const { missingSeqs: _, latency, ...scalars } = figures;
  report.summary = {
    ...scalars,
    ok: summary.ok,
    seed,
    recovery: summary.recovery,
    targets: summary.targets,
    processorKills: summary.processorKills,
    latencyP99: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, v.p99])),
  };
  report.charts = loadCharts(outcome, windows);
  report.faults = faults.map((f) => ({ at: f.at, kind: f.kind, label: f.label, recoveryMs: f.recoveryMs }));
  report.tables = [
    { title: 'Fault details', columns: ['at (s)', 'kind', 'details'], rows: faults.map((f) => [f.at, f.kind, JSON.stringify(f.details)]) },
  ];
  report.notes = [
    `Seed ${seed}: \`npm run chaos -- --seed ${seed}\` with the same options draws the same plan.`,
    `${s.processors} processors x ${s.concurrency}, ${s.sequencers} sequencers; CLAIM_LEASE_MS ${s.claimLeaseMs}, LEADER_LEASE_MS ${s.leaderLeaseMs}; redis-server with appendonly yes, appendfsync always.`,
  ];
  return writeReport(report, dir);
}

await runTool(SPEC, async ({ flags, out, cleanup }) => {
  const { kinds, ...settings } = settingsOf(flags);
  const { seed, load, workMs, processors, concurrency, sequencers } = settings;
  // Faults fall within the load (steady), or within the burst's ideal time (at least 5 s).
  const plan = planFaults(kinds, faultWindowS(load, processors, concurrency, workMs), seed);

  out.line(
    `inorder chaos: seed ${seed}; ${load.kind === 'steady' ? `${formatInt(load.rate)} msg/s for ${load.durationMs / 1000} s` : `a burst of ${formatInt(load.count)}`}, WORK_MS ${workMs}`,
  );
  out.line(`  plan       ${plan.map((p) => `${p.kind} @${p.atS}s`).join(', ')}`);
  let faults: FaultResult[] = [];
  const env = { CLAIM_LEASE_MS: String(settings.claimLeaseMs), LEADER_LEASE_MS: String(settings.leaderLeaseMs) };
  const outcome = await runSoakLoad(
    { label: 'chaos', load, workMs, processors, sequencers, concurrency, appendonly: true, env },
    out,
    cleanup,
    async (ctx) => {
      faults = await injectAll(ctx, plan, settings, out);
    },
  );

  const figures = loadFigures(outcome);
  const windows = windowsOf(outcome);
  const summary = chaosSummary(figures, plan, faults, settings);
  printOutcome(out, outcome, figures, summary, windows);
  if (!flags['no-report']) {
    summary.report = saveReport(outcome, figures, summary, windows, stringFlag(flags, 'report-dir'));
    out.line(`\n  report: ${summary.report.html}`);
  }
  out.result(summary);
  if (!summary.ok) {
    throw new VerificationFailed(!figures.ok ? 'verification failed (see above)' : 'a fault was not recovered from (see above)');
  }
});
