/**
 * npm run demo: a throwaway redis-server (or REDIS_URL), 3 processors and 2 sequencers as child
 * processes, a burst of messages, then proof that the output is complete and in order, with
 * wall time against the ideal and latency per stage. Stops everything it started.
 */
import { UsageError, VerificationFailed, intFlag, numberFlag, runTool } from '@inorder/tools';
import { renderBurst, runBurst } from './lib/burst.js';
import { RedisNotInstalledError } from '@inorder/testkit';
import { serviceAvailable } from './lib/stack.js';
import { TOPOLOGY_FLAGS } from './lib/flags.js';

const spec = {
  name: 'demo',
  usage: `
npm run demo -- [flags]

Starts a throwaway redis-server (or uses REDIS_URL when set), processors and sequencers as child
processes, enqueues a burst, waits for it, verifies order, loss and duplicates, and prints
throughput, wall time against the ideal and latency per stage. Stops everything it started.

  --count N          messages to enqueue (default 500)
  --work-ms MS       simulated work per message (default 500)
  --processors N     processor processes (default 3)
  --concurrency N    messages in flight per processor (default 64)
  --sequencers N     sequencer processes, one leads (default 2)
  --timeout-ms MS    give up waiting after this long (default: 10x the ideal + 60 s)
  --json             last stdout line: one JSON object with the figures
`,
  options: {
    count: { type: 'string' },
    ...TOPOLOGY_FLAGS,
    'timeout-ms': { type: 'string' },
  },
} as const;

await runTool(spec, async ({ flags, out, cleanup }) => {
  const options = {
    label: 'demo',
    count: intFlag(flags, 'count', 500, 1),
    workMs: intFlag(flags, 'work-ms', 500, 0),
    processors: intFlag(flags, 'processors', 3, 1),
    concurrency: intFlag(flags, 'concurrency', 64, 1),
    sequencers: intFlag(flags, 'sequencers', 2, 1),
    timeoutMs: flags['timeout-ms'] === undefined ? undefined : numberFlag(flags, 'timeout-ms', 0, 1),
    redisUrl: process.env.REDIS_URL || undefined,
    startServices: true,
  };
  if (!serviceAvailable('processor') || !serviceAvailable('sequencer'))
    throw new UsageError('services/processor and services/sequencer are missing');
  let run;
  try {
    run = await runBurst(options, out, cleanup);
  } catch (error) {
    if (error instanceof RedisNotInstalledError) {
      out.result({ ok: false, error: 'redis-server not found' });
      throw new VerificationFailed(error.message);
    }
    throw error;
  }
  out.line(renderBurst(run));
  out.line('');
  out.result(run.result);
  if (!run.result.ok) throw new VerificationFailed('verification failed (see above)');
  out.line('Verified. Stopping everything the demo started.');
});
