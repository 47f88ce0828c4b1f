/**
 * npm run verify -- --pipeline X --from 1 --to N: checks a pipeline's output list, dead-letter
 * list and skipped gaps against the seqs sent. Exits 1 on any missing, duplicated or
 * out-of-order seq.
 */
import { PARTITION_FLAGS, SEQ_RANGE_FLAGS, UsageError, VerificationFailed, intFlag, partitionUsage, partitionUsages } from './lib/cli.js';
import { runPartitionTool } from './lib/partition-tool.js';
import { renderVerify, verifyPipeline, verifyProblems } from './lib/verify.js';
import { redactRedisUrl } from '@inorder/shared';

const spec = {
  name: 'verify',
  usage: `
npm run verify -- --pipeline NAME [--from 1] --to N [flags]

Reads the pipeline's output list, dead-letter list and skipped gaps and checks that every seq
from --from to --to is there exactly once, and that the output is in strictly increasing order.
Exit code 0 when it holds, 1 on any violation, 2 on a usage error.

  ${partitionUsage('pipeline', 'pipeline to check (required)')}
  --from SEQ         first seq sent (default 1)
  --to SEQ           last seq sent (required)
  ${partitionUsages('partition', 'prefix', 'redis-url')}
  --json             last stdout line: one JSON object with the counts
`,
  options: { ...PARTITION_FLAGS, ...SEQ_RANGE_FLAGS },
} as const;

await runPartitionTool(spec, async ({ flags, out, target: { pipeline, partition, prefix, url }, connect }) => {
  if (flags.to === undefined) throw new UsageError('--to is required (the last seq sent)');
  const from = intFlag(flags, 'from', 1, 1);
  const to = intFlag(flags, 'to', 0, from);

  const redis = await connect();
  const result = await verifyPipeline(redis, { pipeline, partition, prefix, expected: { from, to } });
  out.line(`verify ${pipeline} (partition ${partition}) seqs ${from}..${to} on ${redactRedisUrl(url)}`);
  out.line(renderVerify(result));
  out.result(result);
  if (!result.ok) throw new VerificationFailed(verifyProblems(result));
});
