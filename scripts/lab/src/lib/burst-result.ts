/**
 * What a finished burst reports: its figures (what --json prints) from the verification and the
 * timing, the details behind them, and the human report of both.
 */
import { redactRedisUrl } from '@inorder/shared';
import {
  formatDuration,
  formatInt,
  renderPairs,
  renderStatsTable,
  renderThroughput,
  renderVerify,
  verifyFigures,
  type PipelineStats,
  type Percentiles,
  type Stage,
  type Timestamps,
  type VerifyFigures,
  type VerifyResult,
} from '@inorder/tools';

export type LatencySummary = Record<Stage, Percentiles>;

/** What a burst reports: the verification's figures, and its own. */
export interface BurstResult extends VerifyFigures {
  ok: boolean;
  pipeline: string;
  redis: 'local' | 'external';
  redisUrl: string;
  /** seqs found that this run did not send (an earlier run on the same pipeline) */
  unexpected: number;
  /** first enqueue to the last completion (last sequencedAt, or dead-letter time) */
  wallMs: number;
  /** ceil(sent / (processors x concurrency)) x workMs */
  idealMs: number;
  /** wallMs / idealMs (null without work) */
  wallVsIdeal: number | null;
  /** sent / wallMs, msg/s */
  throughput: number;
  processors: number;
  sequencers: number;
  concurrency: number;
  workMs: number;
  /** the wait ended because of a timeout or a stall, not because everything arrived */
  timedOut: boolean;
  latency: LatencySummary;
  throughputPerSecond: number[];
}

/** A finished burst: the figures (what --json prints), and the details behind them. */
export interface BurstRun {
  result: BurstResult;
  verify: VerifyResult;
  stats: PipelineStats;
  /** the timestamps of this run's output entries (for latency over time) */
  entries: Timestamps[];
  /** epoch ms of the first enqueue */
  startedAt: number;
}

/** ceil(N / total concurrency) whole rounds of work. */
export function idealMs(count: number, processors: number, concurrency: number, workMs: number): number {
  const slots = Math.max(1, processors * concurrency);
  return Math.ceil(count / slots) * workMs;
}

/** The figures of a burst: what it ran (from its options), the verification's counts, its timing against the ideal. */
export function burstResult(r: {
  options: { count: number; processors: number; sequencers: number; concurrency: number; workMs: number };
  pipeline: string;
  redisUrl: string;
  local: boolean;
  verify: VerifyResult;
  stats: PipelineStats;
  wallMs: number;
  ideal: number;
  timedOut: boolean;
}): BurstResult {
  const { options, verify, stats } = r;
  return {
    ok: verify.ok && !r.timedOut,
    pipeline: r.pipeline,
    redis: r.local ? 'local' : 'external',
    redisUrl: redactRedisUrl(r.redisUrl),
    ...verifyFigures(verify),
    unexpected: verify.unexpected,
    wallMs: r.wallMs,
    idealMs: r.ideal,
    wallVsIdeal: r.ideal > 0 ? Math.round((r.wallMs / r.ideal) * 1000) / 1000 : null,
    throughput: Math.round((options.count / Math.max(1, r.wallMs)) * 1000 * 10) / 10,
    processors: options.processors,
    sequencers: options.sequencers,
    concurrency: options.concurrency,
    workMs: options.workMs,
    timedOut: r.timedOut,
    latency: stats.stages,
    throughputPerSecond: stats.throughput.perSecond,
  };
}

/** The human report of a burst: verification, wall time against the ideal, the stage table. */
export function renderBurst({ result, verify, stats }: BurstRun): string {
  const rounds = result.workMs > 0 ? Math.round(result.idealMs / result.workMs) : 0;
  const lines = [
    '',
    'Result',
    renderVerify(verify),
    '',
    renderPairs([
      ['wall time', `${formatDuration(result.wallMs)}  (first enqueue to last message out)`],
      [
        'ideal',
        result.idealMs > 0
          ? `${formatDuration(result.idealMs)}  (${rounds} round${rounds === 1 ? '' : 's'} of ${result.workMs} ms at ${formatInt(result.processors * result.concurrency)} in flight)` +
            `  ->  wall/ideal ${result.wallVsIdeal?.toFixed(3)}x`
          : 'n/a (no work time)',
      ],
      ['throughput', `${formatInt(result.throughput)} msg/s`],
    ]),
    '',
    'Latency per stage (from the five timestamps of each output entry)',
    renderStatsTable(stats),
    renderThroughput(stats.throughput),
  ];
  return lines.join('\n');
}
