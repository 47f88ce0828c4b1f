import type { Counter } from 'prom-client';
import type { HistogramSeries } from '../telemetry/fast-histogram.js';
import type { PartitionStatus } from '../partition/status.js';
import { labels } from '../telemetry/metrics.js';
import type { Scope, Telemetry } from '../telemetry/telemetry.js';
import type { RunItem } from './reorder-buffer.js';
import type { Stall } from './stall.js';

/**
 * What one partition's leaderships do in a sequencer, told once: metrics (emitted, skipped, the
 * stage latencies the sequencer sees, leader and stall gauges), log lines with a stable `event`
 * (at debug, one line per emitted message), events, and the summary line every 10 s.
 */
export class LeaderTelemetry {
  private readonly emittedCount: Counter.Internal;
  private readonly stage: Record<'handOff' | 'reorderWait' | 'endToEnd', HistogramSeries>;
  private readonly l: { pipeline: string; partition: string };
  private window = 0;

  constructor(
    private readonly telemetry: Telemetry,
    readonly scope: Required<Scope>,
  ) {
    const m = telemetry.metrics;
    this.l = labels(scope.pipeline, scope.partition);
    this.emittedCount = m.emitted.labels(this.l);
    this.stage = {
      handOff: m.stage.labels({ ...this.l, stage: 'hand_off' }),
      reorderWait: m.stage.labels({ ...this.l, stage: 'reorder_wait' }),
      endToEnd: m.stage.labels({ ...this.l, stage: 'end_to_end' }),
    };
  }

  get logger(): Scope['logger'] {
    return this.scope.logger;
  }

  note(
    level: 'error' | 'warn' | 'info' | 'debug',
    message: string,
    event: Parameters<Telemetry['note']>[3],
    fields: Record<string, unknown> = {},
  ): void {
    this.telemetry.note(this.scope, level, message, event, fields);
  }

  leading(yes: boolean): void {
    this.telemetry.metrics.leader.set(this.l, yes ? 1 : 0);
    if (!yes) this.telemetry.metrics.stalled.set(this.l, 0);
  }

  /** A run went out at `now`: counts, and the latencies of the results in it. */
  emitted(run: readonly RunItem[], results: number, now: number): void {
    this.emittedCount.inc(results);
    this.window += results;
    this.telemetry.metrics.stalled.set(this.l, 0);
    const debug = this.logger.isDebugEnabled();
    for (const { seq, settled } of run) {
      // A result found by a probe rather than read from the stream has no timestamps: it still
      // gets its line, without the latencies.
      const timed = settled.createdAt !== undefined && settled.processedAt !== undefined;
      if (timed) {
        this.stage.handOff.observe(Math.max(0, settled.readAt - settled.processedAt!) / 1000);
        this.stage.reorderWait.observe(Math.max(0, now - settled.readAt) / 1000);
        this.stage.endToEnd.observe(Math.max(0, now - settled.createdAt!) / 1000);
      }
      if (debug) {
        this.logger.debug(
          'emitted',
          timed
            ? { event: 'emitted', seq, endToEndMs: now - settled.createdAt!, reorderWaitMs: now - settled.readAt }
            : { event: 'emitted', seq },
        );
      }
    }
  }

  skipped(from: number, to: number, lost: number): void {
    const gap = to - from + 1 - lost;
    const m = this.telemetry.metrics.skipped;
    if (gap > 0) m.inc({ ...this.l, cause: 'gap' }, gap);
    if (lost > 0) m.inc({ ...this.l, cause: 'lost' }, lost);
    this.note(
      'warn',
      lost > 0
        ? `skipped seqs ${from}..${to}: accepted into the partition, then lost by Redis (${lost} lost)`
        : `gap skipped: seqs ${from}..${to} never arrived within GAP_TIMEOUT_MS`,
      'gap-skipped',
      { from, to, lost, gap },
    );
  }

  stalled(stall: Stall): void {
    this.telemetry.metrics.stalled.set(this.l, 1);
    this.note('warn', `order stalled: ${stall.reason}`, 'stalled', { ...stall });
  }

  renewed(ms: number): void {
    this.telemetry.metrics.leaseRenewal.observe(this.l, ms / 1000);
  }

  /** One line every 10 s while leading (when anything moved or waits), and the gauges. */
  summary(status: PartitionStatus, bufferSize: number, intervalMs: number): void {
    const m = this.telemetry.metrics;
    const lag = status.nextSeq === null ? 0 : Math.max(0, status.accepted - status.nextSeq + 1);
    m.reorderBuffer.set(this.l, bufferSize);
    m.nextLag.set(this.l, lag);
    m.inputBacklog.set(this.l, status.inputDepth);
    m.parked.set(this.l, status.parked);
    const emitted = this.window;
    this.window = 0;
    if (emitted === 0 && lag === 0 && bufferSize === 0) return;
    this.note('info', 'summary', 'summary', {
      emittedPerS: Math.round((emitted * 10_000) / intervalMs) / 10,
      next: status.nextSeq,
      lag,
      reorderBuffer: bufferSize,
      backlog: status.inputDepth,
      inFlight: status.inFlight,
      deadLetters: status.deadLetters,
    });
  }
}
