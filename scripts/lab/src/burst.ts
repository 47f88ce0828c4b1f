/**
 * npm run burst: N messages enqueued at once (default 10,000 x 500 ms of work), through local
 * services it starts (default 4 processors x 256 concurrency, 2 sequencers) or through services
 * already running against --redis-url; then verification, wall time against the ideal and
 * latency per stage, and a JSON + HTML report.
 */
import { VerificationFailed, intFlag, numberFlag, partitionOptions, partitionUsage, stringFlag, runTool } from '@inorder/tools';
import { renderBurst, runBurst } from './lib/burst.js';
import { burstReport } from './lib/burst-report.js';
import { writeReport } from './lib/report.js';
import { REPORT_FLAGS, TOPOLOGY_FLAGS, reportUsage, topologyUsage } from './lib/flags.js';

const spec = {
  name: 'burst',
  usage: `
npm run burst -- [flags]

Enqueues N messages at once and waits until the output and dead letters account for all of them,
then verifies order, loss and duplicates and prints wall time against the ideal
(ceil(N / (processors x concurrency)) x work time) and latency per stage. Writes a JSON file
and an HTML page (throughput and latency by stage over time) unless --no-report.
A progress bar shows on a terminal; exit 1 when verification fails.

Without --redis-url it starts a throwaway redis-server and the services itself.
With --redis-url it only enqueues, waits and verifies against services already running there
(--processors, --concurrency and --work-ms then describe those services, for the ideal).

  --count N          messages (default 10000)
  ${topologyUsage(19, { 'work-ms': 500, processors: 4, concurrency: 256, sequencers: 2 })}
  --fail-rate P      probability that an attempt fails, 0..1 (default 0; retries and dead letters)
  ${partitionUsage('redis-url', 'use the services running against this Redis')}
  ${partitionUsage('pipeline', 'pipeline (default: a fresh name locally, "default" with --redis-url)')}
  --from SEQ         first seq (default: the pipeline's next seq)
  --timeout-ms MS    give up waiting after this long (default: 10x the ideal + 60 s)
  ${reportUsage(19)}
  --json             last stdout line: one JSON object with the figures
`,
  options: {
    count: { type: 'string' },
    ...TOPOLOGY_FLAGS,
    'fail-rate': { type: 'string' },
    ...partitionOptions('redis-url', 'pipeline'),
    from: { type: 'string' },
    'timeout-ms': { type: 'string' },
    ...REPORT_FLAGS,
  },
} as const;

await runTool(spec, async ({ flags, out, cleanup }) => {
  const redisUrl = stringFlag(flags, 'redis-url');
  const run = await runBurst(
    {
      label: 'burst',
      count: intFlag(flags, 'count', 10_000, 1),
      workMs: intFlag(flags, 'work-ms', 500, 0),
      processors: intFlag(flags, 'processors', 4, 1),
      concurrency: intFlag(flags, 'concurrency', 256, 1),
      sequencers: intFlag(flags, 'sequencers', 2, 1),
      failRate: numberFlag(flags, 'fail-rate', 0, 0, 1),
      redisUrl,
      startServices: redisUrl === undefined,
      pipeline: stringFlag(flags, 'pipeline'),
      from: flags.from === undefined ? undefined : intFlag(flags, 'from', 1, 1),
      timeoutMs: flags['timeout-ms'] === undefined ? undefined : numberFlag(flags, 'timeout-ms', 0, 1),
    },
    out,
    cleanup,
  );
  out.line(renderBurst(run));
  let report: { json: string; html: string } | undefined;
  if (!flags['no-report']) {
    report = writeReport(burstReport(run), stringFlag(flags, 'report-dir'));
    out.line(`\n  report: ${report.html}`);
  }
  out.line('');
  out.result({ ...run.result, ...(report ? { report } : {}) });
  if (!run.result.ok) throw new VerificationFailed('verification failed (see above)');
});
