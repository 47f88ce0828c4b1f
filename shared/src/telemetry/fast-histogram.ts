import type { Registry } from 'prom-client';

interface Value {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One series of a FastHistogram: observe() is a bucket search and three additions. */
export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    private readonly buckets: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Array<number>(buckets.length).fill(0);
  }

  observe(value: number): void {
    const { buckets, counts } = this;
    let i = 0;
    while (i < buckets.length && value > buckets[i]!) i++;
    if (i < counts.length) counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram for the per-message hot path: callers hold their series (one per label
 * set, made once), so an observation hashes no labels (prom-client's Histogram hashes them on
 * every call, a few percent of a processor's CPU at tens of thousands of messages a second).
 * Exposed in the registry like any histogram.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
    /** the label names its series carry, as prom-client metrics declare theirs (for tools that read the registry) */
    readonly labelNames: readonly string[] = [],
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The series of one label set, made on first use. */
  labels(labels: Record<string, string>): HistogramSeries {
    const key = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(',');
    let s = this.series.get(key);
    if (!s) {
      s = new HistogramSeries(this.buckets, { ...labels });
      this.series.set(key, s);
    }
    return s;
  }

  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Value[] }> {
    const values: Value[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  reset(): void {
    this.series.clear();
  }
}
