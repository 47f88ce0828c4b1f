/**
 * bench: the same workload through inorder and through BullMQ, on one throwaway redis-server.
 *
 *   (a) no-op:  20,000 messages, one inorder processor (concurrency 50) + one sequencer,
 *               against one BullMQ Worker (concurrency 50)
 *   (b) work:   10,000 messages of 500 ms each, the same split
 *
 * Each run is timed from the first enqueue to the last completion (inorder: the last result in
 * the ordered output), with Redis CPU (INFO CPU) and Redis command counts read around it.
 */
import { connect, redactRedisUrl } from '@inorder/shared';
import { benchBullmq } from './lib/bench-bullmq.js';
import { benchInorder } from './lib/bench-inorder.js';
import type { RunMeasure, Workload } from './lib/bench-run.js';
import { benchReport, benchSummary, renderBench } from './lib/bench-summary.js';
import { Output, VerificationFailed, intFlag, parseFlags, runCli, stringFlag, UsageError } from './lib/cli.js';
import { writeReport } from './lib/report.js';
import { startLocalRedis } from './lib/stack.js';

const USAGE = `
npm run bench -- [options]

The same workloads through inorder (1 processor + 1 sequencer, as child processes) and BullMQ
(1 Worker, child process) on one throwaway redis-server. Prints throughput, the ratio
inorder / BullMQ, whether each kept order, and Redis CPU per message.

  --noop-count N        no-op messages (default 20000; 0 skips the no-op run)
  --work-count N        messages with work (default 10000; 0 skips the work run)
  --work-ms MS          work per message in the work run (default 500)
  --concurrency N       processor and Worker concurrency (default 50)
  --batch-size N        inorder processor BATCH_SIZE (default: the service's own)
  --bullmq-remove-on-complete
                        BullMQ deletes completed jobs (default: keeps them, BullMQ's default,
                        as inorder keeps every result in its output list)
  --report-dir DIR      where the JSON and HTML report go (default reports/)
  --no-report           write no report
  --json                last line of stdout: one JSON object with every figure
`;

const SPEC = {
  name: 'bench',
  usage: USAGE,
  options: {
    'noop-count': { type: 'string' },
    'work-count': { type: 'string' },
    'work-ms': { type: 'string' },
    concurrency: { type: 'string' },
    'batch-size': { type: 'string' },
    'bullmq-remove-on-complete': { type: 'boolean', default: false },
    'report-dir': { type: 'string' },
    'no-report': { type: 'boolean', default: false },
  },
} as const;

await runCli(SPEC, async (cleanup) => {
  const flags = parseFlags(SPEC);
  const out = new Output(flags.json === true);
  const noopCount = intFlag(flags, 'noop-count', 20_000);
  const workCount = intFlag(flags, 'work-count', 10_000);
  const workMs = intFlag(flags, 'work-ms', 500);
  const concurrency = intFlag(flags, 'concurrency', 50, 1);
  const batchSize = flags['batch-size'] === undefined ? undefined : intFlag(flags, 'batch-size', 256, 1);
  if (noopCount + workCount === 0) throw new UsageError('nothing to run: --noop-count and --work-count are both 0');

  const workloads: Workload[] = [];
  if (noopCount > 0) workloads.push({ name: 'noop', count: noopCount, workMs: 0, concurrency, timeoutMs: 60_000 + noopCount * 5 });
  if (workCount > 0) {
    const idealMs = Math.ceil(workCount / concurrency) * workMs;
    workloads.push({ name: 'work', count: workCount, workMs, concurrency, timeoutMs: idealMs * 3 + 60_000 });
  }

  const server = await startLocalRedis();
  cleanup.add('redis-server', () => server.stop());
  const redis = connect(server.url, { name: 'inorder-bench' });
  cleanup.add('connection', () => redis.disconnect());
  const startedAt = Date.now();
  out.line(`bench: redis-server on ${redactRedisUrl(server.url)}; ${workloads.map((w) => `${w.name} ${w.count.toLocaleString('en-US')} x ${w.workMs} ms`).join(', ')}; concurrency ${concurrency}`);

  const runs: RunMeasure[] = [];
  for (const workload of workloads) {
    runs.push(await benchInorder(workload, { redis, redisUrl: server.url, out, env: batchSize ? { BATCH_SIZE: String(batchSize) } : {} }));
    runs.push(await benchBullmq(workload, { redis, redisUrl: server.url, out, removeOnComplete: flags['bullmq-remove-on-complete'] === true }));
  }

  const settings = { noopCount, workCount, workMs, concurrency, batchSize: batchSize ?? null, bullmqRemoveOnComplete: flags['bullmq-remove-on-complete'] === true };
  const summary = benchSummary(runs, settings);
  out.line(renderBench(summary, runs));
  if (!flags['no-report']) {
    const paths = writeReport(benchReport(summary, runs, startedAt), stringFlag(flags, 'report-dir'));
    summary.report = paths;
    out.line(`  report: ${paths.html}`);
  }
  out.result(summary);
  if (!summary.ok) throw new VerificationFailed('inorder lost, duplicated or reordered messages (see above)');
});
