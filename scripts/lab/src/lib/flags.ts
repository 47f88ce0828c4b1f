/**
 * Flags several lab tools take, declared once, and the usage lines they share. A tool's own
 * defaults go into its lines; where a flag means more to one tool, that tool words its line itself.
 */

/** --work-ms, --processors, --concurrency, --sequencers: the services a run starts. */
export const TOPOLOGY_FLAGS = {
  'work-ms': { type: 'string' },
  processors: { type: 'string' },
  concurrency: { type: 'string' },
  sequencers: { type: 'string' },
} as const;

export type TopologyFlag = keyof typeof TOPOLOGY_FLAGS;

/** Each topology flag's usage: its form, and what it sets (its default, which differs by tool, follows). */
const TOPOLOGY_USAGE: Record<TopologyFlag, [string, string]> = {
  'work-ms': ['--work-ms MS', 'simulated work per message'],
  processors: ['--processors N', 'processors'],
  concurrency: ['--concurrency N', 'messages in flight per processor'],
  sequencers: ['--sequencers N', 'sequencers'],
};

/** --rate N and --duration S: a steady load (soak, chaos). */
export const STEADY_LOAD_FLAGS = {
  rate: { type: 'string' },
  duration: { type: 'string' },
} as const;

/** --report-dir DIR and --no-report: where the JSON and HTML report go, or none. */
export const REPORT_FLAGS = {
  'report-dir': { type: 'string' },
  'no-report': { type: 'boolean', default: false },
} as const;

/**
 * The topology flags' lines of a usage text, at the usual indent with their descriptions at
 * `column`, each ending in the tool's default: `(default ${defaults[flag]})`.
 */
export function topologyUsage(column: number, defaults: Record<TopologyFlag, string | number>): string {
  return (Object.keys(TOPOLOGY_USAGE) as TopologyFlag[])
    .map((flag) => {
      const [form, sets] = TOPOLOGY_USAGE[flag];
      return `${form.padEnd(column)}${sets} (default ${defaults[flag]})`;
    })
    .join('\n  ');
}

/** The report flags' lines of a usage text, at the usual indent with their descriptions at `column`. */
export function reportUsage(column: number): string {
  return `${'--report-dir DIR'.padEnd(column)}where the JSON and HTML report go (default reports/)\n  ${'--no-report'.padEnd(column)}write no report`;
}
