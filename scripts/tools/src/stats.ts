/**
 * npm run stats -- --pipeline X: latency per stage (queue wait, work, hand-off, reorder wait,
 * end-to-end) with p50/p90/p99/max, and throughput over time, from the five timestamps of each
 * entry in the pipeline's output list.
 */
import { PARTITION_FLAGS, SEQ_RANGE_FLAGS, intFlag, partitionUsage, partitionUsages } from './lib/cli.js';
import { formatInt } from './lib/format.js';
import { keysFor, redactRedisUrl } from '@inorder/shared';
import { runPartitionTool } from './lib/partition-tool.js';
import { computeStats, parseTimestamps, renderStatsTable, renderThroughput } from './lib/stats.js';
import { readList } from './lib/verify.js';

const spec = {
  name: 'stats',
  usage: `
npm run stats -- --pipeline NAME [flags]

Latency per stage from the five timestamps of every entry in the pipeline's output list:
  queue wait    processingAt - createdAt
  work          processedAt  - processingAt
  hand-off      sequencingAt - processedAt
  reorder wait  sequencedAt  - sequencingAt
  end-to-end    sequencedAt  - createdAt
with p50/p90/p99/max (HDR histogram), and throughput per second of sequencedAt.

  ${partitionUsage('pipeline')}
  --from SEQ         only entries with seq >= SEQ
  --to SEQ           only entries with seq <= SEQ
  ${partitionUsages('partition', 'prefix', 'redis-url')}
  --json             last stdout line: one JSON object with the figures
`,
  options: { ...PARTITION_FLAGS, ...SEQ_RANGE_FLAGS },
} as const;

await runPartitionTool(spec, async ({ flags, out, target: { pipeline, partition, prefix, url }, connect }) => {
  const from = intFlag(flags, 'from', 1, 0);
  const to = intFlag(flags, 'to', Number.MAX_SAFE_INTEGER, 0);

  const redis = await connect();
  const raw = await readList(redis, keysFor(pipeline, partition, prefix).output);
  const entries = parseTimestamps(raw).filter((e) => e.seq === undefined || (e.seq >= from && e.seq <= to));
  const stats = computeStats(entries);
  out.line(`stats ${pipeline} (partition ${partition}): ${formatInt(stats.count)} output entries on ${redactRedisUrl(url)}`);
  out.line(renderStatsTable(stats));
  out.line(renderThroughput(stats.throughput));
  if (stats.count > 0) out.line(`  overall: ${formatInt(stats.throughput.overall)} msg/s from first creation to last emit`);
  out.result({ pipeline, partition, count: stats.count, stages: stats.stages, throughput: stats.throughput, negative: stats.negative });
});
