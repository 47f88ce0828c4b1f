/**
 * npm run verify -- --pipeline X --from 1 --to N: checks a pipeline's output list, dead-letter
 * list and skipped gaps against the seqs sent. Exits 1 on any missing, duplicated or
 * out-of-order seq.
 */
import { Output, UsageError, VerificationFailed, intFlag, parseFlags, runCli, stringFlag } from './lib/cli.js';
import { connectOnce } from './lib/stack.js';
import { renderVerify, verifyPipeline } from './lib/verify.js';
import { redactRedisUrl } from '@inorder/shared';

const spec = {
  name: 'verify',
  usage: `
npm run verify -- --pipeline NAME [--from 1] --to N [flags]

Reads the pipeline's output list, dead-letter list and skipped gaps and checks that every seq
from --from to --to is there exactly once, and that the output is in strictly increasing order.
Exit code 0 when it holds, 1 on any violation, 2 on a usage error.

  --pipeline NAME    pipeline to check (required)
  --from SEQ         first seq sent (default 1)
  --to SEQ           last seq sent (required)
  --partition N      partition (default 0)
  --prefix P         key prefix (default KEY_PREFIX or "inorder")
  --redis-url URL    Redis (default REDIS_URL or redis://127.0.0.1:6379)
  --json             last stdout line: one JSON object with the counts
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
  if (flags.to === undefined) throw new UsageError('--to is required (the last seq sent)');
  const from = intFlag(flags, 'from', 1, 1);
  const to = intFlag(flags, 'to', 0, from);
  const partition = intFlag(flags, 'partition', 0, 0);
  const prefix = stringFlag(flags, 'prefix') ?? process.env.KEY_PREFIX ?? 'inorder';
  const url = stringFlag(flags, 'redis-url') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

  const redis = await connectOnce(url);
  cleanup.add('connection', () => redis.disconnect());
  const result = await verifyPipeline(redis, { pipeline, partition, prefix, expected: { from, to } });
  out.line(`verify ${pipeline} (partition ${partition}) seqs ${from}..${to} on ${redactRedisUrl(url)}`);
  out.line(renderVerify(result));
  out.result(result);
  if (!result.ok) throw new VerificationFailed(`${result.missing} missing, ${result.duplicates} duplicates, ${result.orderViolations} order violations`);
});
