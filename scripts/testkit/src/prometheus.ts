import { createRequire } from 'node:module';

/** One metric family of a Prometheus text exposition, as parse-prometheus-text-format reads it. */
export interface MetricFamily {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; count?: string }>;
}

/** The families of a scrape, and its text (histogram series are read from their `_count` lines). */
export type Scrape = MetricFamily[] & { text: string };

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => MetricFamily[];

/** Parses a Prometheus text exposition (throws on text that is not one). */
export function parsePrometheus(text: string): Scrape {
  return Object.assign(parse(text), { text });
}

/** GETs `url` (a /metrics endpoint), checks the Prometheus content type, and parses it. */
export async function scrapeMetrics(url: string): Promise<Scrape> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const type = response.headers.get('content-type') ?? '';
  if (!/^text\/plain; version=0\.0\.4/.test(type)) throw new Error(`${url} answered content-type ${type}, not Prometheus text`);
  return parsePrometheus(await response.text());
}

/** The value of a counter or gauge, summed over the series whose labels include `where`; 0 when absent. */
export function metricValue(families: MetricFamily[], name: string, where: Record<string, string> = {}): number {
  const family = families.find((m) => m.name === name);
  if (!family) return 0;
  return family.metrics
    .filter((m) => Object.entries(where).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value ?? m.count ?? 0), 0);
}

/** The `_count` of the histogram series whose labels include `labels`, from the text; 0 when absent. */
export function histogramCount(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}_count{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
