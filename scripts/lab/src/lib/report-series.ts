import { build, type Histogram } from 'hdr-histogram-js';
import { STAGES as STATS_STAGES, stageDurations, type Stage as StatsStage, type Timestamps as StatsTimestamps } from '@inorder/tools';

/**
 * The stages charted over time: stats.ts's five, plus what the pipeline adds to the handler's
 * own time (end to end minus work), the figure the soak target is about.
 */
export type Stage = StatsStage | 'overhead';
export const STAGE_NAMES: Stage[] = [...STATS_STAGES, 'overhead'];

/** An entry with every timestamp: what the windows below are computed from. */
export type Timestamps = Required<Pick<StatsTimestamps, 'createdAt' | 'processingAt' | 'processedAt' | 'sequencingAt' | 'sequencedAt'>> & {
  seq: number;
};

function durations(t: Timestamps): Record<Stage, number> {
  const d = stageDurations(t) as Record<StatsStage, number>;
  return { ...d, overhead: d.endToEnd - d.work };
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One time window: what was emitted in it, and the latency of those messages by stage. */
export interface Window {
  /** window start, seconds since the run started */
  t: number;
  /** messages emitted (sequencedAt) in the window, per second */
  rate: number;
  stages: Record<Stage, Percentiles>;
}

function histogram(): Histogram {
  return build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, autoResize: true });
}

function summarize(h: Histogram): Percentiles {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    max: h.maxValue,
  };
}

/** Histograms of every stage over a set of messages. */
export class StageHistograms {
  private readonly histograms = new Map<Stage, Histogram>(STAGE_NAMES.map((s) => [s, histogram()]));
  count = 0;

  record(t: Timestamps): void {
    this.count++;
    const d = durations(t);
    for (const stage of STAGE_NAMES) {
      // Clocks of one machine: a negative difference is rounding, not a real value.
      this.histograms.get(stage)!.recordValue(Math.max(0, Math.round(d[stage])));
    }
  }

  summary(): Record<Stage, Percentiles> {
    const out = {} as Record<Stage, Percentiles>;
    for (const stage of STAGE_NAMES) out[stage] = summarize(this.histograms.get(stage)!);
    return out;
  }

  destroy(): void {
    for (const h of this.histograms.values()) h.destroy();
  }
}

/** True when an output entry carries all five timestamps (tombstones and skips do not). */
export function hasTimestamps(value: unknown): value is Timestamps {
  const v = value as Record<string, unknown>;
  return (
    typeof v === 'object' &&
    v !== null &&
    ['seq', 'createdAt', 'processingAt', 'processedAt', 'sequencingAt', 'sequencedAt'].every((k) => typeof v[k] === 'number')
  );
}

/**
 * Buckets messages by the window in which they were emitted (sequencedAt) and summarizes each
 * window's latency per stage. Empty windows between the first and last are kept (rate 0).
 */
export function latencyWindows(entries: Iterable<Timestamps>, startMs: number, windowMs = 1000): Window[] {
  const buckets = new Map<number, StageHistograms>();
  let last = -1;
  for (const e of entries) {
    const index = Math.max(0, Math.floor((e.sequencedAt - startMs) / windowMs));
    let bucket = buckets.get(index);
    if (!bucket) buckets.set(index, (bucket = new StageHistograms()));
    bucket.record(e);
    last = Math.max(last, index);
  }
  const windows: Window[] = [];
  const empty = new StageHistograms();
  for (let i = 0; i <= last; i++) {
    const bucket = buckets.get(i) ?? empty;
    windows.push({ t: (i * windowMs) / 1000, rate: (bucket.count * 1000) / windowMs, stages: bucket.summary() });
    bucket.destroy();
  }
  empty.destroy();
  return windows;
}

/** Overall percentiles of every stage. */
export function stageSummary(entries: Iterable<Timestamps>): Record<Stage, Percentiles> {
  const all = new StageHistograms();
  for (const e of entries) all.record(e);
  const summary = all.summary();
  all.destroy();
  return summary;
}

/** Counts events per window: e.g. enqueued messages per second from their createdAt. */
export function rateWindows(times: Iterable<number>, startMs: number, windowMs = 1000): Array<{ t: number; rate: number }> {
  const counts: number[] = [];
  for (const at of times) {
    const i = Math.max(0, Math.floor((at - startMs) / windowMs));
    while (counts.length <= i) counts.push(0);
    counts[i]!++;
  }
  return counts.map((c, i) => ({ t: (i * windowMs) / 1000, rate: (c * 1000) / windowMs }));
}
