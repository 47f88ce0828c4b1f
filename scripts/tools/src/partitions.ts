/**
 * npm run partitions -- --pipeline X [--to N | --cancel]: shows a pipeline's partitions, or
 * changes their count the one safe way (drain, then change), or calls off a change left
 * unfinished.
 */
import {
  DrainTimeoutError,
  backlogOf,
  cancelResize,
  describeBacklog,
  getPipeline,
  keysFor,
  redactRedisUrl,
  resizePipeline,
  type PartitionBacklog,
  type RedisClient,
} from '@inorder/shared';
import { UsageError, intFlag, partitionOptions, partitionUsage, type Cleanup, type Output } from './lib/cli.js';
import { formatDuration } from './lib/format.js';
import { runPartitionTool } from './lib/partition-tool.js';

const spec = {
  name: 'partitions',
  usage: `
npm run partitions -- --pipeline NAME [--to N | --cancel] [flags]

Without --to: the pipeline's partition count, and what each partition still holds.

With --to N: changes the count to N (1 to 9999). An ordering key picks its partition by the
count, so while messages routed by the old count wait, a new count would let a key's next
messages overtake them in another partition. So the change drains first:
  1. every partition refuses submits (the ingest answers 503 with Retry-After, enqueue()
     throws PipelineResizingError); processors and sequencers keep working;
  2. waits until every partition holds nothing: no message waiting, claimed, held or not yet
     emitted (at most --drain-timeout-ms; past it the change is called off, submits are taken
     again, the count is unchanged, and the command exits 1 naming what was left);
  3. writes the new count into every partition and the registry; a submit routed by the old
     count is refused and routed again;
  4. takes submits again. Processors and sequencers serving all partitions serve the new
     count within 2 s. A removed partition keeps its output and dead letters.
Per-key order holds across the change: every message of a key routed by the old count is out
before the first one routed by the new count goes in. Run it again with the same --to to finish
a change whose process was killed; --cancel calls such a change off instead.

  ${partitionUsage('pipeline')}
  --to N                 the new partition count
  --drain-timeout-ms MS  how long to wait for the partitions to drain (default 300000)
  --cancel               call off a change left unfinished: submits are taken again
  ${partitionUsage('prefix', undefined, 23)}
  ${partitionUsage('redis-url', undefined, 23)}
  --json                 last stdout line: one JSON object with the outcome
`,
  options: {
    ...partitionOptions('pipeline', 'prefix', 'redis-url'),
    to: { type: 'string' },
    'drain-timeout-ms': { type: 'string' },
    cancel: { type: 'boolean', default: false },
  },
} as const;

interface Target {
  redis: RedisClient;
  pipeline: string;
  prefix: string;
  url: string;
  out: Output;
}

await runPartitionTool(spec, async ({ flags, out, cleanup, target: { pipeline, prefix, url }, connect }) => {
  if (flags.cancel === true && flags.to !== undefined) throw new UsageError('give --to or --cancel, not both');
  const to = flags.to === undefined ? undefined : intFlag(flags, 'to', 1, 1);
  const drainTimeoutMs = intFlag(flags, 'drain-timeout-ms', 300_000, 0);

  const redis = await connect();
  const settings = await getPipeline(redis, pipeline, prefix);
  if (!settings) throw new Error(`pipeline ${pipeline} is not registered on ${redactRedisUrl(url)}`);
  const target = { redis, pipeline, prefix, url, out };
  if (flags.cancel === true) await cancel(target);
  else if (to === undefined) await show(target, settings.partitions, settings.ordering);
  else await resize(target, settings.partitions, to, drainTimeoutMs, cleanup);
});

/** --cancel: calls off a change left unfinished; every partition takes submits again. */
async function cancel({ redis, pipeline, prefix, out }: Target): Promise<void> {
  const { partitions, cancelled } = await cancelResize(redis, pipeline, prefix);
  out.line(
    `${pipeline}: ${cancelled} partition(s) were being resized; the change is called off, ${partitions} partition(s) take submits again`,
  );
  out.result({ pipeline, outcome: 'cancelled', partitions, cancelled });
}

/** No --to: the partition count and what each partition still holds. */
async function show({ redis, pipeline, prefix, url, out }: Target, partitions: number, ordering: string): Promise<void> {
  const backlog = await backlogs(redis, pipeline, prefix, partitions, ordering === 'strict');
  out.line(`${pipeline} (${ordering}): ${partitions} partition(s) on ${redactRedisUrl(url)}`);
  for (const b of backlog) out.line(`  ${describeBacklog(b)}${b.resizing ? `  (being resized to ${b.resizing})` : ''}`);
  out.result({ pipeline, outcome: 'shown', partitions, backlog });
}

/** --to N: freeze, drain, change the count, thaw; progress every 2 s while draining. */
async function resize(
  { redis, pipeline, prefix, out }: Target,
  from: number,
  to: number,
  drainTimeoutMs: number,
  cleanup: Cleanup,
): Promise<void> {
  out.line(`${pipeline}: changing ${from} partition(s) to ${to}; submits are refused until the partitions have drained`);
  let last = 0;
  const abort = new AbortController();
  cleanup.add('resize', () => abort.abort());
  try {
    const result = await resizePipeline(redis, pipeline, to, {
      prefix,
      drainTimeoutMs,
      signal: abort.signal,
      onProgress: (left) => {
        if (Date.now() - last < 2000) return;
        last = Date.now();
        out.line(`  draining: ${left.map(describeBacklog).join('; ')}`);
      },
    });
    if (result.kind === 'unchanged') out.line(`${pipeline} has ${result.partitions} partition(s) already: nothing to do`);
    else
      out.line(
        `${pipeline}: ${result.from} -> ${result.to} partition(s), drained in ${formatDuration(result.drainedMs)}; submits are taken again`,
      );
    out.result({ pipeline, outcome: result.kind, ...result });
  } catch (error) {
    if (error instanceof DrainTimeoutError) out.result({ pipeline, outcome: 'drain-timeout', to, backlog: error.backlog });
    throw error;
  }
}

async function backlogs(
  redis: RedisClient,
  pipeline: string,
  prefix: string,
  count: number,
  strict: boolean,
): Promise<Array<PartitionBacklog & { resizing: string | null }>> {
  const list = [];
  for (let p = 0; p < count; p++) {
    const keys = keysFor(pipeline, p, prefix);
    list.push({ ...(await backlogOf(redis, keys, p, strict)), resizing: await redis.hget(keys.meta, 'resizing') });
  }
  return list;
}
