/**
 * soak: a steady RATE of messages for DURATION against local services it starts (or services
 * already running against --redis-url). Reports latency over time in one-second windows and
 * whether the backlog stayed bounded, then verifies. Fails (exit 1) on loss, duplicates,
 * disorder, messages never drained, or a backlog that grew without bound.
 */
import {
  type Output,
  VerificationFailed,
  formatDuration,
  formatInt,
  intFlag,
  numberFlag,
  partitionOptions,
  partitionUsage,
  renderPairs,
  renderVerify,
  stringFlag,
  runTool,
} from '@inorder/tools';
import { emptyReport, writeReport } from './lib/report.js';
import { judgeBacklog } from './lib/soak-backlog.js';
import { runSoakLoad, type RunOutcome } from './lib/soak-run.js';
import { loadCharts, loadFigures, renderLoadLatency, windowsOf, worstWindow } from './lib/soak-summary.js';
import { REPORT_FLAGS, STEADY_LOAD_FLAGS, TOPOLOGY_FLAGS, reportUsage, topologyUsage } from './lib/flags.js';

/** Soak target from the project's performance goals (at 2,000 msg/s, WORK_MS 100): reported, not asserted. */
const OVERHEAD_P99_TARGET_MS = 15;

const SPEC = {
  name: 'soak',
  usage: `
npm run soak -- [options]

Enqueues at a steady rate for a duration, samples the backlog every second, then waits for the
last messages, verifies, and reports latency over time. Exit 1 when verification fails or the
backlog grew without bound.

  --rate N            messages per second (default 1000)
  --duration S        seconds of load (default 60)
  ${topologyUsage(20, { 'work-ms': 100, processors: 2, concurrency: 128, sequencers: '2: a leader and a standby' })}
  ${partitionUsage('redis-url', 'use the services already running against this Redis (none are started)', 20)}
  ${partitionUsage('pipeline', 'pipeline (default: a fresh name, or "default" with --redis-url)', 20)}
  --drain-timeout S   wait at most this long for the last messages after the load (default 120)
  ${reportUsage(20)}
  --json              last line of stdout: one JSON object with the figures
`,
  options: {
    ...STEADY_LOAD_FLAGS,
    ...TOPOLOGY_FLAGS,
    ...partitionOptions('redis-url', 'pipeline'),
    'drain-timeout': { type: 'string' },
    ...REPORT_FLAGS,
  },
} as const;

await runTool(SPEC, async ({ flags, out, cleanup }) => {
  const rate = numberFlag(flags, 'rate', 1000, 1, 100_000);
  const durationS = numberFlag(flags, 'duration', 60, 1, 24 * 3600);
  const workMs = intFlag(flags, 'work-ms', 100);
  const processors = intFlag(flags, 'processors', 2, 1);
  const concurrency = intFlag(flags, 'concurrency', 128, 1);
  const sequencers = intFlag(flags, 'sequencers', 2, 1);

  out.line(`inorder soak: ${formatInt(rate)} msg/s for ${durationS} s, WORK_MS ${workMs}`);
  const outcome = await runSoakLoad(
    {
      label: 'soak',
      load: { kind: 'steady', rate, durationMs: durationS * 1000 },
      workMs,
      processors,
      sequencers,
      concurrency,
      redisUrl: stringFlag(flags, 'redis-url'),
      pipeline: stringFlag(flags, 'pipeline'),
      drainTimeoutMs: numberFlag(flags, 'drain-timeout', 120, 1) * 1000,
    },
    out,
    cleanup,
  );

  const settings = { rate, durationS, workMs, processors, concurrency, sequencers };
  const { summary, figures, backlog, windows } = summarise(outcome, settings);
  printSoak(out, { outcome, summary, figures, backlog, windows, rate });
  if (!flags['no-report']) {
    summary.report = writeSoakReport({ outcome, summary, figures, backlog, windows, settings }, stringFlag(flags, 'report-dir'));
    out.line(`\n  report: ${summary.report.html}`);
  }
  out.result(summary);
  if (!summary.ok) {
    const reasons = [
      ...(figures.ok ? [] : ['verification failed (see above)']),
      ...(backlog.bounded ? [] : ['the backlog grew without bound: the pipeline did not keep up with the rate']),
    ];
    throw new VerificationFailed(reasons.join('; '));
  }
});

interface SoakSettings {
  rate: number;
  durationS: number;
  workMs: number;
  processors: number;
  concurrency: number;
  sequencers: number;
}

/** The figures of a run, the backlog judged over the seconds the load ran, and the target. */
function summarise(outcome: RunOutcome, settings: SoakSettings) {
  const figures = loadFigures(outcome);
  const windows = windowsOf(outcome);
  // Samples taken while the load ran; the one due at its last second lands a few ms after it.
  const during = outcome.samples.filter((s) => s.t < settings.durationS + 0.5);
  const backlog = judgeBacklog(
    during.map((s) => ({ t: s.t, backlog: s.input + s.results })),
    settings.rate,
  );
  const ok = figures.ok && backlog.bounded;
  const summary = {
    ...figures,
    ok,
    ...settings,
    backlog,
    worstWindowP99: { endToEnd: worstWindow(windows, 'endToEnd'), overhead: worstWindow(windows, 'overhead') },
    targets: {
      overheadP99Ms: {
        target: OVERHEAD_P99_TARGET_MS,
        measured: figures.latency.overhead.p99,
        met: figures.latency.overhead.p99 <= OVERHEAD_P99_TARGET_MS,
        note: 'the target is stated for 2,000 msg/s with WORK_MS 100',
      },
    },
    report: undefined as { json: string; html: string } | undefined,
  };
  return { summary, figures, backlog, windows };
}

type Summarised = ReturnType<typeof summarise>;

function printSoak(
  out: Output,
  at: Omit<Summarised, 'windows'> & { windows: Summarised['windows']; outcome: RunOutcome; rate: number },
): void {
  const { figures, backlog, summary, rate } = at;
  const worstOverhead = summary.worstWindowP99.overhead;
  out.line('');
  out.line(renderVerify(at.outcome.verify));
  out.line('');
  out.line(
    renderPairs([
      ['wall time', `${formatDuration(figures.wallMs)} (ideal ${formatDuration(figures.idealMs)}: the load plus one work time)`],
      ['throughput', `${formatInt(figures.throughput)} msg/s out (asked ${formatInt(rate)} msg/s)`],
      [
        'backlog',
        `${backlog.bounded ? 'bounded' : 'GREW WITHOUT BOUND'}${backlog.judged ? '' : ' (too few samples to judge)'}: max ${formatInt(backlog.max)}, first third max ${formatInt(backlog.firstThirdMax)}, last third max ${formatInt(backlog.lastThirdMax)}, last third slope ${backlog.lastThirdSlope}/s`,
      ],
      [
        'e2e - work p99',
        `${figures.latency.overhead.p99} ms over the run (target ${OVERHEAD_P99_TARGET_MS} ms at 2,000 msg/s); worst second ${worstOverhead ? `${worstOverhead.ms} ms at ${worstOverhead.t} s` : '-'}`,
      ],
    ]),
  );
  out.line(renderLoadLatency(figures.latency, at.windows));
}

function writeSoakReport(
  at: Summarised & { outcome: RunOutcome; settings: SoakSettings },
  dir: string | undefined,
): { json: string; html: string } {
  const { figures, backlog, settings, summary } = at;
  const report = emptyReport(
    'soak',
    `soak: ${formatInt(settings.rate)} msg/s for ${settings.durationS} s, WORK_MS ${settings.workMs}`,
    at.outcome.startedAt,
  );
  report.ok = summary.ok;
  const { missingSeqs: _, latency, ...scalars } = figures;
  report.summary = {
    ...scalars,
    ok: summary.ok,
    backlogBounded: backlog.bounded,
    backlog,
    latencyP99: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, v.p99])),
  };
  report.charts = loadCharts(at.outcome, at.windows);
  report.notes = [
    `Backlog rule: ${backlog.rule}.`,
    `${settings.processors} processors x ${settings.concurrency} concurrency, ${settings.sequencers} sequencers.`,
  ];
  return writeReport(report, dir);
}
