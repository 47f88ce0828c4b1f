import type { Counter } from 'prom-client';
import type { HistogramSeries } from '../telemetry/fast-histogram.js';
import type { Claimed, Dropped } from '../partition/partition.js';
import type { PartitionStatus } from '../partition/status.js';
import { labels } from '../telemetry/metrics.js';
import type { Scope, Telemetry } from '../telemetry/telemetry.js';
import type { Outcome } from './attempt.js';
import type { SettleItem } from './settle-queue.js';

/** What a processor did, counted since it started. */
export interface ProcessorStats {
  claimed: number;
  completed: number;
  retried: number;
  deadLettered: number;
  malformed: number;
  duplicates: number;
  conflicts: number;
  stale: number;
  abandoned: number;
  reaped: number;
  parked: number;
}

export function newStats(): ProcessorStats {
  return {
    claimed: 0,
    completed: 0,
    retried: 0,
    deadLettered: 0,
    malformed: 0,
    duplicates: 0,
    conflicts: 0,
    stale: 0,
    abandoned: 0,
    reaped: 0,
    parked: 0,
  };
}

type Failure = Exclude<Outcome, { action: 'complete' | 'abandoned' }>;

/**
 * What happens to one partition's messages in a processor, told once: counted in the process's
 * stats and metrics, logged with a stable `event` (at debug, one line per message per stage), and
 * emitted as events. Also the partition's summary line every 10 s.
 */
export class PartitionTelemetry {
  private readonly counters: Record<'claimed' | 'completed' | 'failed' | 'retried' | 'duplicates' | 'reaped', Counter.Internal>;
  private readonly stage: { queueWait: HistogramSeries; work: HistogramSeries };
  /** counts since the last summary */
  private window = { claimed: 0, completed: 0, failed: 0, dead: 0 };

  constructor(
    private readonly telemetry: Telemetry,
    readonly scope: Required<Scope>,
    private readonly stats: ProcessorStats,
  ) {
    const m = telemetry.metrics;
    const l = labels(scope.pipeline, scope.partition);
    this.counters = {
      claimed: m.claimed.labels(l),
      completed: m.completed.labels(l),
      failed: m.failed.labels(l),
      retried: m.retried.labels(l),
      duplicates: m.duplicates.labels(l),
      reaped: m.reaped.labels(l),
    };
    this.stage = { queueWait: m.stage.labels({ ...l, stage: 'queue_wait' }), work: m.stage.labels({ ...l, stage: 'work' }) };
  }

  get logger(): Scope['logger'] {
    return this.scope.logger;
  }

  claimed(claimed: readonly Claimed[]): void {
    this.stats.claimed += claimed.length;
    this.window.claimed += claimed.length;
    this.counters.claimed.inc(claimed.length);
    if (this.logger.isDebugEnabled())
      for (const c of claimed) this.logger.debug('claimed', { event: 'claimed', seq: c.seq, attempt: c.attempts });
  }

  reaped(seqs: number): void {
    this.stats.reaped += seqs;
    this.counters.reaped.inc(seqs);
    this.telemetry.note(this.scope, 'warn', 'returned the claims of a processor that stopped beating', 'claims-reaped', { seqs });
  }

  /** What a claim did not take: duplicates, conflicts, dead letters, held copies. */
  dropped(dropped: readonly Dropped[]): void {
    for (const d of dropped) {
      if (d.kind === 'held') {
        this.telemetry.note(this.scope, 'info', 'copy held until the claim of its seq is judged', 'copy-held', {
          seq: d.seq,
          detail: d.reason,
        });
      } else if (d.kind === 'duplicate') {
        this.stats.duplicates++;
        this.counters.duplicates.inc();
        this.telemetry.note(this.scope, 'warn', 'duplicate dropped', 'duplicate-dropped', { seq: d.seq, detail: d.reason });
      } else {
        if (d.kind === 'conflict') this.stats.conflicts++;
        else this.stats.deadLettered++;
        this.dead(d.kind, d.seq, d.reason, `dead-lettered at claim: ${d.kind}`);
      }
    }
  }

  /** An attempt that ended: its stage latencies, or its retry or dead letter. */
  outcome(claimed: Claimed, outcome: Exclude<Outcome, { action: 'abandoned' }>): void {
    if (outcome.action === 'complete') {
      this.stage.queueWait.observe(Math.max(0, outcome.processingAt - outcome.createdAt) / 1000);
      this.stage.work.observe(Math.max(0, outcome.processedAt - outcome.processingAt) / 1000);
      return;
    }
    this.failure(claimed, outcome);
  }

  /** Redis's answer to a settle: written, or refused because the claim was no longer ours. */
  written(item: SettleItem, ok: boolean): void {
    if (!ok) {
      this.stats.stale++;
      this.telemetry.note(this.scope, 'warn', 'claim no longer ours; attempt result discarded', 'stale-settle', { seq: item.seq });
      return;
    }
    if ('action' in item) {
      if (item.action === 'retry') {
        this.stats.retried++;
        this.counters.retried.inc();
        return;
      }
      if (item.action === 'malformed') this.stats.malformed++;
      else this.stats.deadLettered++;
      this.window.dead++;
      this.telemetry.metrics.deadLettered.inc({ ...labels(this.scope.pipeline, this.scope.partition), reason: item.reason });
      return;
    }
    this.stats.completed++;
    this.window.completed++;
    this.counters.completed.inc();
    if (this.logger.isDebugEnabled()) {
      this.logger.debug('completed', { event: 'completed', seq: item.seq, workMs: item.processedAt - item.createdAt });
    }
  }

  /** A claim whose work stopped: its results are not written. */
  lost(reason: string, token: string, running: number): void {
    this.telemetry.note(this.scope, 'warn', reason, 'claim-lost', { token, running });
  }

  /** One line every 10 s while the partition has anything to say, and its gauges. */
  summary(status: PartitionStatus, inFlight: number, intervalMs: number): void {
    const m = this.telemetry.metrics;
    const l = labels(this.scope.pipeline, this.scope.partition);
    m.inputBacklog.set(l, status.inputDepth);
    m.parked.set(l, status.parked);
    m.inFlight.set(l, inFlight);
    m.oldestWaiting.set(l, status.oldestCreatedAt === null ? 0 : Math.max(0, Date.now() - status.oldestCreatedAt) / 1000);
    const w = this.window;
    this.window = { claimed: 0, completed: 0, failed: 0, dead: 0 };
    if (w.claimed + w.completed + w.failed + w.dead + inFlight + status.inputDepth === 0) return;
    const perSecond = (n: number): number => Math.round((n * 10_000) / intervalMs) / 10;
    this.telemetry.note(this.scope, 'info', 'summary', 'summary', {
      claimedPerS: perSecond(w.claimed),
      completedPerS: perSecond(w.completed),
      failed: w.failed,
      deadLettered: w.dead,
      inFlight,
      backlog: status.inputDepth,
      parked: status.parked,
      retrying: status.retrying,
    });
  }

  private failure(claimed: Claimed, outcome: Failure): void {
    this.window.failed += outcome.action === 'malformed' ? 0 : 1;
    if (outcome.action !== 'malformed') this.counters.failed.inc();
    if (outcome.action === 'retry') {
      this.telemetry.note(this.scope, 'info', 'attempt failed; retry scheduled', 'retry-scheduled', {
        seq: claimed.seq,
        attempts: claimed.attempts,
        delayMs: outcome.delayMs,
        error: outcome.error,
      });
      return;
    }
    const reason = outcome.action === 'malformed' ? 'malformed' : outcome.reason;
    this.telemetry.note(this.scope, 'warn', `dead-lettered: ${reason}`, 'dead-lettered', {
      reason,
      seq: claimed.seq,
      attempts: claimed.attempts,
      error: outcome.error,
    });
  }

  /** A dead letter the claim itself wrote. */
  private dead(reason: string, seq: number | undefined, error: string, message: string): void {
    this.window.dead++;
    this.telemetry.metrics.deadLettered.inc({ ...labels(this.scope.pipeline, this.scope.partition), reason });
    this.telemetry.note(this.scope, 'warn', message, 'dead-lettered', { reason, seq, error });
  }
}

/** The settle item of an attempt's outcome. */
export function settleItem(seq: number, token: string, outcome: Exclude<Outcome, { action: 'abandoned' }>): SettleItem {
  switch (outcome.action) {
    case 'complete':
      return { seq, token, body: outcome.body, createdAt: outcome.createdAt, processedAt: outcome.processedAt };
    case 'retry':
      return { seq, token, action: 'retry', delayMs: outcome.delayMs, body: outcome.body };
    case 'malformed':
      return { seq, token, action: 'malformed', reason: 'malformed', body: outcome.body };
    default:
      return { seq, token, action: 'dead', reason: outcome.reason, body: outcome.body };
  }
}
