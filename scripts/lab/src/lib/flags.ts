/** Flags several lab tools take, declared once (their usage lines stay with each tool: the defaults differ). */

/** --work-ms, --processors, --concurrency, --sequencers: the services a run starts. */
export const TOPOLOGY_FLAGS = {
  'work-ms': { type: 'string' },
  processors: { type: 'string' },
  concurrency: { type: 'string' },
  sequencers: { type: 'string' },
} as const;

/** --report-dir DIR and --no-report: where the JSON and HTML report go, or none. */
export const REPORT_FLAGS = {
  'report-dir': { type: 'string' },
  'no-report': { type: 'boolean', default: false },
} as const;
