/**
 * npm run stats -- --pipeline X: latency per stage (queue wait, work, hand-off, reorder wait,
 * end-to-end) with p50/p90/p99/max, and throughput over time, from the five timestamps of each
 * entry in the pipeline's output list.
 */
import { Output, UsageError, formatInt, intFlag, parseFlags, runCli, stringFlag } from './lib/cli.js';
import { keysFor, redactRedisUrl } from '@inorder/shared';
import { connectOnce } from './lib/stack.js';
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

  --pipeline NAME    pipeline (required)
  --from SEQ         only entries with seq >= SEQ
  --to SEQ           only entries with seq <= SEQ
  --partition N      partition (default 0)
  --prefix P         key prefix (default KEY_PREFIX or "inorder")
  --redis-url URL    Redis (default REDIS_URL or redis://127.0.0.1:6379)
  --json             last stdout line: one JSON object with the figures
`,
  options: {
    pipeline: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    partition: { type: 'string' },
    prefix: { type: 'string' },
    'redis-url': { type: 'string' },
  },
} as const;

await runCli(spec, async (cleanup) => {
  const flags = parseFlags(spec);
  const out = new Output(flags.json === true);
  const pipeline = stringFlag(flags, 'pipeline');
  if (!pipeline) throw new UsageError('--pipeline is required');
  const from = intFlag(flags, 'from', 1, 0);
  const to = intFlag(flags, 'to', Number.MAX_SAFE_INTEGER, 0);
  const partition = intFlag(flags, 'partition', 0, 0);
  const prefix = stringFlag(flags, 'prefix') ?? process.env.KEY_PREFIX ?? 'inorder';
  const url = stringFlag(flags, 'redis-url') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

  const redis = await connectOnce(url);
  cleanup.add('connection', () => redis.disconnect());
  const raw = await readList(redis, keysFor(pipeline, partition, prefix).output);
  const entries = parseTimestamps(raw).filter((e) => e.seq === undefined || (e.seq >= from && e.seq <= to));
  const stats = computeStats(entries);
  out.line(`stats ${pipeline} (partition ${partition}): ${formatInt(stats.count)} output entries on ${redactRedisUrl(url)}`);
  out.line(renderStatsTable(stats));
  out.line(renderThroughput(stats.throughput));
  if (stats.count > 0) out.line(`  overall: ${formatInt(stats.throughput.overall)} msg/s from first creation to last emit`);
  out.result({ pipeline, partition, count: stats.count, stages: stats.stages, throughput: stats.throughput, negative: stats.negative });
});
