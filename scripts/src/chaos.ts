/**
 * chaos: a steady load (or a burst) through local services while faults chosen by a seeded PRNG
 * hit them: processor SIGKILL, leader SIGKILL, leader SIGSTOP past its lease, CLIENT KILL of
 * every connection, Redis restart from its append-only file. Each fault's recovery is measured;
 * then everything is verified. Exit 1 on loss, duplicates, disorder, or a fault not recovered.
 */
import { randomBytes } from 'node:crypto';
import { FAULT_KINDS, faultWindowS, parseFaults, planFaults } from './lib/chaos-plan.js';
import { injectFault, type FaultContext, type FaultResult } from './lib/chaos-faults.js';
import { chaosSummary, renderFaults } from './lib/chaos-summary.js';
import { Output, UsageError, VerificationFailed, formatDuration, formatInt, intFlag, numberFlag, parseFlags, renderPairs, runCli, stringFlag } from './lib/cli.js';
import { emptyReport, writeReport } from './lib/report.js';
import { runSoakLoad, type LoadSpec } from './lib/soak-run.js';
import { loadCharts, loadFigures, renderLatency, renderWindows, windowsOf } from './lib/soak-summary.js';
import { renderVerify } from './lib/verify.js';

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
  --work-ms MS          simulated work per message (default 50)
  --processors N        processors (default 3)
  --concurrency N       messages in flight per processor (default 64)
  --sequencers N        sequencers (default 2: a leader and a standby)
  --claim-lease-ms MS   processors' CLAIM_LEASE_MS (default 2000; the service default is 10000)
  --leader-lease-ms MS  sequencers' LEADER_LEASE_MS (default 1000)
  --report-dir DIR      where the JSON and HTML report go (default reports/)
  --no-report           write no report
  --json                last line of stdout: one JSON object with the figures
`,
  options: {
    faults: { type: 'string' },
    seed: { type: 'string' },
    duration: { type: 'string' },
    rate: { type: 'string' },
    count: { type: 'string' },
    'work-ms': { type: 'string' },
    processors: { type: 'string' },
    concurrency: { type: 'string' },
    sequencers: { type: 'string' },
    'claim-lease-ms': { type: 'string' },
    'leader-lease-ms': { type: 'string' },
    'report-dir': { type: 'string' },
    'no-report': { type: 'boolean', default: false },
  },
} as const;

await runCli(SPEC, async (cleanup) => {
  const flags = parseFlags(SPEC);
  const out = new Output(flags.json === true);
  let kinds;
  try {
    kinds = parseFaults(stringFlag(flags, 'faults') ?? FAULT_KINDS.join(','));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const seed = stringFlag(flags, 'seed') ?? randomBytes(4).toString('hex');
  const workMs = intFlag(flags, 'work-ms', 50);
  const processors = intFlag(flags, 'processors', 3, 1);
  const concurrency = intFlag(flags, 'concurrency', 64, 1);
  const sequencers = intFlag(flags, 'sequencers', 2, 1);
  const claimLeaseMs = intFlag(flags, 'claim-lease-ms', 2000, 500);
  const leaderLeaseMs = intFlag(flags, 'leader-lease-ms', 1000, 200);
  const count = flags.count === undefined ? undefined : intFlag(flags, 'count', 1000, 1);
  const load: LoadSpec = count !== undefined
    ? { kind: 'burst', count }
    : { kind: 'steady', rate: numberFlag(flags, 'rate', 500, 1, 100_000), durationMs: numberFlag(flags, 'duration', 40, 1, 24 * 3600) * 1000 };
  // Faults fall within the load (steady), or within the burst's ideal time (at least 5 s).
  const plan = planFaults(kinds, faultWindowS(load, processors, concurrency, workMs), seed);

  out.line(`inorder chaos: seed ${seed}; ${load.kind === 'steady' ? `${formatInt(load.rate)} msg/s for ${load.durationMs / 1000} s` : `a burst of ${formatInt(load.count)}`}, WORK_MS ${workMs}`);
  out.line(`  plan       ${plan.map((p) => `${p.kind} @${p.atS}s`).join(', ')}`);
  const faults: FaultResult[] = [];
  const outcome = await runSoakLoad(
    {
      label: 'chaos', load, workMs, processors, sequencers, concurrency, appendonly: true,
      env: { CLAIM_LEASE_MS: String(claimLeaseMs), LEADER_LEASE_MS: String(leaderLeaseMs) },
    },
    out,
    cleanup,
    async (ctx) => {
      const faultCtx: FaultContext = {
        client: ctx.client, keys: ctx.keys, services: ctx.services!, localRedis: ctx.localRedis, startedAt: ctx.startedAt,
        leaderLeaseMs, claimLeaseMs, recoveryTimeoutMs: Math.max(30_000, claimLeaseMs * 3),
      };
      for (const planned of plan) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, ctx.startedAt + planned.atS * 1000 - Date.now())));
        const fault = await injectFault(faultCtx, planned);
        faults.push(fault);
        out.line(`  fault      @${fault.at.toFixed(1)}s ${fault.label}: ${fault.recoveryMs === null ? 'NOT RECOVERED' : `recovered in ${formatInt(fault.recoveryMs)} ms`}`);
      }
    },
  );

  const figures = loadFigures(outcome);
  const windows = windowsOf(outcome);
  const summary = chaosSummary(figures, plan, faults, { seed, load, workMs, processors, concurrency, sequencers, claimLeaseMs, leaderLeaseMs });

  out.line('');
  out.line(renderVerify(outcome.verify));
  out.line('');
  out.line(renderPairs([
    ['wall time', `${formatDuration(figures.wallMs)} (ideal ${formatDuration(figures.idealMs)})`],
    ['throughput', `${formatInt(figures.throughput)} msg/s out`],
  ]));
  out.line('');
  out.line('Faults');
  out.line(renderFaults(faults));
  out.line('');
  out.line('Latency per stage, whole run');
  out.line(renderLatency(figures.latency));
  out.line('');
  out.line('Latency over time (messages emitted in each second)');
  out.line(renderWindows(windows, 20));
  if (!summary.ok && outcome.services) {
    for (const s of outcome.services.all) {
      const notable = s.logs.filter((l) => /"level":"(warn|error)"/.test(l)).slice(-8);
      if (notable.length > 0) out.line(`  --- ${s.name}: last warnings ---\n  ${notable.join('\n  ')}`);
    }
  }

  if (!flags['no-report']) {
    const report = emptyReport('chaos', `chaos: seed ${seed}, ${faults.length} faults`, outcome.startedAt);
    report.ok = summary.ok;
    const { missingSeqs: _, latency, ...scalars } = figures;
    report.summary = { ...scalars, ok: summary.ok, seed, recovery: summary.recovery, targets: summary.targets, latencyP99: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, v.p99])) };
    report.charts = loadCharts(outcome, windows);
    report.faults = faults.map((f) => ({ at: f.at, kind: f.kind, label: f.label, recoveryMs: f.recoveryMs }));
    report.tables = [{ title: 'Fault details', columns: ['at (s)', 'kind', 'details'], rows: faults.map((f) => [f.at, f.kind, JSON.stringify(f.details)]) }];
    report.notes = [
      `Seed ${seed}: \`npm run chaos -- --seed ${seed}\` with the same options draws the same plan.`,
      `${processors} processors x ${concurrency}, ${sequencers} sequencers; CLAIM_LEASE_MS ${claimLeaseMs}, LEADER_LEASE_MS ${leaderLeaseMs}; redis-server with appendonly yes, appendfsync always.`,
    ];
    summary.report = writeReport(report, stringFlag(flags, 'report-dir'));
    out.line(`\n  report: ${summary.report.html}`);
  }
  out.result(summary);
  if (!summary.ok) {
    throw new VerificationFailed(!figures.ok ? 'verification failed (see above)' : 'a fault was not recovered from (see above)');
  }
});
