/**
 * Per-stage latency and throughput from the five timestamps each output entry carries:
 *
 *   queue wait    processingAt - createdAt    waiting in the input list for a processor
 *   work          processedAt  - processingAt the handler
 *   hand-off      sequencingAt - processedAt  from completion to the sequencer reading it
 *   reorder wait  sequencedAt  - sequencingAt held in the reorder buffer for earlier seqs
 *   end-to-end    sequencedAt  - createdAt
 *
 * Percentiles come from HDR histograms (hdr-histogram-js); the minimum, maximum and mean are
 * exact. Throughput over time counts entries per second of sequencedAt.
 */
import { build } from 'hdr-histogram-js';

export const STAGES = ['queueWait', 'work', 'handOff', 'reorderWait', 'endToEnd'] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_LABELS: Record<Stage, string> = {
  queueWait: 'queue wait',
  work: 'work',
  handOff: 'hand-off',
  reorderWait: 'reorder wait',
  endToEnd: 'end-to-end',
};

/** The timestamps of one output entry (epoch ms); the sequencer's two are absent on unordered pipelines. */
export interface Timestamps {
  seq?: number;
  createdAt: number;
  processingAt?: number;
  processedAt?: number;
  sequencingAt?: number;
  sequencedAt?: number;
}

export interface Percentiles {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ThroughputSeries {
  /** epoch ms of the first one-second bucket */
  startMs: number;
  /** entries completed in each second from startMs on (zeros included) */
  perSecond: number[];
  peak: number;
  /** entries / (last completion - first creation), in msg/s */
  overall: number;
}

export interface PipelineStats {
  count: number;
  /** milliseconds, per stage */
  stages: Record<Stage, Percentiles>;
  throughput: ThroughputSeries;
  firstCreatedAt: number | undefined;
  lastSequencedAt: number | undefined;
  /** stage durations below zero (clocks of different hosts disagree), counted as 0 */
  negative: number;
}

/** The duration of each stage of one entry, or undefined when a timestamp is missing. */
export function stageDurations(t: Timestamps): Record<Stage, number | undefined> {
  const diff = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined ? undefined : a - b;
  // Unordered pipelines have no sequencer: their output is complete at processedAt.
  const done = t.sequencedAt ?? t.processedAt;
  return {
    queueWait: diff(t.processingAt, t.createdAt),
    work: diff(t.processedAt, t.processingAt),
    handOff: diff(t.sequencingAt, t.processedAt),
    reorderWait: diff(t.sequencedAt, t.sequencingAt),
    endToEnd: diff(done, t.createdAt),
  };
}

/** Accumulates one stage: HDR histogram for percentiles, exact min, max and mean. */
class StageRecorder {
  private readonly histogram = build({
    bitBucketSize: 'packed',
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  record(ms: number): void {
    const value = Math.max(0, Math.round(ms));
    this.histogram.recordValue(value);
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  summary(): Percentiles {
    if (this.count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    // The histogram reports a bucket's highest equivalent value: never past the exact maximum.
    const at = (p: number): number => Math.min(this.max, this.histogram.getValueAtPercentile(p));
    return {
      count: this.count,
      min: this.min,
      mean: Math.round((this.sum / this.count) * 10) / 10,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      max: this.max,
    };
  }

  destroy(): void {
    this.histogram.destroy();
  }
}

/** Per-stage percentiles and throughput over time for a set of output entries. */
export function computeStats(entries: Iterable<Timestamps>): PipelineStats {
  const recorders = Object.fromEntries(STAGES.map((s) => [s, new StageRecorder()])) as Record<Stage, StageRecorder>;
  const doneTimes: number[] = [];
  let count = 0;
  let negative = 0;
  let firstCreatedAt: number | undefined;
  let lastSequencedAt: number | undefined;
  for (const entry of entries) {
    count++;
    const durations = stageDurations(entry);
    for (const stage of STAGES) {
      const ms = durations[stage];
      if (ms === undefined) continue;
      if (ms < 0) negative++;
      recorders[stage].record(ms);
    }
    if (firstCreatedAt === undefined || entry.createdAt < firstCreatedAt) firstCreatedAt = entry.createdAt;
    const done = entry.sequencedAt ?? entry.processedAt;
    if (done !== undefined) {
      doneTimes.push(done);
      if (lastSequencedAt === undefined || done > lastSequencedAt) lastSequencedAt = done;
    }
  }
  const stages = Object.fromEntries(STAGES.map((s) => [s, recorders[s].summary()])) as Record<Stage, Percentiles>;
  for (const s of STAGES) recorders[s].destroy();
  return { count, stages, throughput: throughputSeries(doneTimes, firstCreatedAt), firstCreatedAt, lastSequencedAt, negative };
}

/** Counts completions per second, from the second of the first one to that of the last one. */
export function throughputSeries(doneTimes: number[], firstCreatedAt?: number): ThroughputSeries {
  if (doneTimes.length === 0) return { startMs: firstCreatedAt ?? 0, perSecond: [], peak: 0, overall: 0 };
  let first = Infinity;
  let last = -Infinity;
  for (const t of doneTimes) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  const start = firstCreatedAt !== undefined ? Math.min(firstCreatedAt, first) : first;
  const perSecond = new Array<number>(Math.floor((last - start) / 1000) + 1).fill(0);
  for (const t of doneTimes) perSecond[Math.floor((t - start) / 1000)]!++;
  const spanMs = Math.max(1, last - start);
  return { startMs: start, perSecond, peak: Math.max(...perSecond), overall: Math.round((doneTimes.length / spanMs) * 1000 * 10) / 10 };
}

export interface LatencyPoint {
  /** epoch ms of the bucket's start */
  t: number;
  /** entries completed in the bucket */
  count: number;
  /** p50 and p99 per stage for entries completed in the bucket (ms) */
  p50: Record<Stage, number>;
  p99: Record<Stage, number>;
}

/** Latency over time: entries grouped by the bucket of their completion, with exact percentiles per bucket. */
export function latencyOverTime(entries: Iterable<Timestamps>, bucketMs = 1000): LatencyPoint[] {
  const buckets = new Map<number, Record<Stage, number[]>>();
  for (const entry of entries) {
    const done = entry.sequencedAt ?? entry.processedAt;
    if (done === undefined) continue;
    const t = Math.floor(done / bucketMs) * bucketMs;
    let bucket = buckets.get(t);
    if (!bucket) {
      bucket = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as Record<Stage, number[]>;
      buckets.set(t, bucket);
    }
    const durations = stageDurations(entry);
    for (const s of STAGES) {
      const ms = durations[s];
      if (ms !== undefined) bucket[s].push(Math.max(0, ms));
    }
  }
  const pick = (sorted: number[], p: number): number =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, bucket]) => {
      for (const s of STAGES) bucket[s].sort((a, b) => a - b);
      return {
        t,
        count: bucket.endToEnd.length,
        p50: Object.fromEntries(STAGES.map((s) => [s, pick(bucket[s], 50)])) as Record<Stage, number>,
        p99: Object.fromEntries(STAGES.map((s) => [s, pick(bucket[s], 99)])) as Record<Stage, number>,
      };
    });
}

/** Parses raw output entries, keeping those that carry a createdAt. */
export function parseTimestamps(raws: Iterable<string>): Timestamps[] {
  const out: Timestamps[] = [];
  for (const raw of raws) {
    try {
      const e = JSON.parse(raw) as Timestamps;
      if (typeof e.createdAt === 'number') out.push(e);
    } catch {
      // unreadable entries are verify's business
    }
  }
  return out;
}

export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms.toLocaleString('en-US', { maximumFractionDigits: 1 })} ms`;
}

/** The stage table for a terminal. */
export function renderStatsTable(stats: PipelineStats): string {
  const header = ['stage', 'p50', 'p90', 'p99', 'max', 'mean'];
  const rows = STAGES.filter((s) => stats.stages[s].count > 0).map((s) => {
    const p = stats.stages[s];
    return [STAGE_LABELS[s], formatMs(p.p50), formatMs(p.p90), formatMs(p.p99), formatMs(p.max), formatMs(p.mean)];
  });
  if (rows.length === 0) return '  (no output entries with timestamps)';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ');
  const out = [line(header), '  ' + widths.map((w) => '-'.repeat(w)).join('   '), ...rows.map(line)];
  if (stats.negative > 0) out.push(`  (${stats.negative} stage durations were negative and counted as 0: clocks differ between hosts)`);
  return out.join('\n');
}

const BARS = '▁▂▃▄▅▆▇█';

/** Throughput over time as one line of bars (each bar a second, or a group of seconds). */
export function renderThroughput(series: ThroughputSeries, width = 60): string {
  const values = series.perSecond;
  if (values.length === 0) return '  throughput: no output';
  const group = Math.ceil(values.length / width);
  const grouped: number[] = [];
  for (let i = 0; i < values.length; i += group) {
    const slice = values.slice(i, i + group);
    grouped.push(slice.reduce((a, b) => a + b, 0) / slice.length);
  }
  const peak = Math.max(...grouped, 1);
  const bars = grouped.map((v) => (v === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((v / peak) * BARS.length))]!)).join('');
  const unit = group === 1 ? '1 s per bar' : `${group} s per bar`;
  return `  msg/s over time (${unit}, peak ${series.peak.toLocaleString('en-US')}/s): ${bars}`;
}
