/**
 * bench: inorder against BullMQ and bee-queue on a Redis of its own, pre-filled and end to end, cold and warm,
 * with CPU per message for Redis and every process, medians over --runs; or, with --partitions,
 * inorder's throughput over partition counts (on one Redis or, with --cluster, a local cluster).
 */
import { type Output, UsageError, VerificationFailed, intFlag, type parseFlags, stringFlag, runTool } from '@inorder/tools';
import { benchReport, renderBench } from './lib/bench-report.js';
import { runBench, type BenchPlan } from './lib/bench-plan.js';
import { benchPartitions } from './lib/bench-partitions.js';
import { profileSetup } from './lib/bench-profile.js';
import { openTarget, type BenchTarget } from './lib/bench-target.js';
import { benchSummary } from './lib/bench-summary.js';
import { PEERS, type BenchMode, type PeerSystem } from './lib/bench-run.js';
import { writeReport } from './lib/report.js';
import { REPORT_FLAGS, reportUsage } from './lib/flags.js';

const USAGE = `
npm run bench -- [options]

inorder (1 processor + 1 sequencer, default settings) against the unordered peers: BullMQ
(1 Worker, concurrency 50, BullMQ's defaults otherwise) and bee-queue (1 worker process:
Queue#process with concurrency 50, bee-queue's defaults otherwise, so succeeded jobs are kept:
removeOnSuccess false; its producer queue sets isWorker, getEvents and storeJobs to false), each
as child processes, on a redis-server the bench starts. Pre-filled (the queue full before the
workers start: BullMQ's Queue.pause; bee-queue has none, its worker calls Queue#process once every
job is saved; first start to last finish) and end to end (producer and workers together), each
cold (fresh processes) then warm; CPU per message for Redis (INFO cpu) and each process (/proc),
messages per CPU-second, medians over the runs, ratios against BullMQ in the same run (the
targets name BullMQ; bee-queue's ratio is in their notes), and the targets met or not.

  --count N             messages per phase (default 50000)
  --runs N              repetitions; figures are medians (default 3)
  --modes LIST          prefilled,e2e (default both)
  --work-ms MS          handler work per message (default 0: no-op)
  --concurrency N       inorder CONCURRENCY (default: the processor's own, 64)
  --batch-size N        inorder BATCH_SIZE (default: the processor's own, 256)
  --peers LIST          the peers to run, of bullmq,bee-queue (default both; none: --no-bullmq)
  --bullmq-concurrency N
                        BullMQ Worker concurrency (default 50)
  --bee-queue-concurrency N
                        bee-queue Queue#process concurrency (default 50)
  --bullmq-remove-on-complete
                        BullMQ deletes completed jobs (default: keeps them, BullMQ's default,
                        as inorder keeps every result in its output list)
  --no-bullmq           run inorder alone, no peer at all (no ratios), e.g. to compare builds
                        of it (the name is older than bee-queue's place here)
  --no-log-cost         skip the LOG_LEVEL=error runs that price logging at info
  --profile             also write CPU profiles of the inorder services (node --cpu-prof) with
                        their summary, and time each Lua script (SLOWLOG, which costs Redis CPU)
  --partitions LIST     instead: inorder alone over these partition counts, e.g. 1,2,4,8
                        (pre-filled, warm), one processor and one sequencer serving them all
  --processors N        processors in the partitions bench (default 1)
  --cluster             with --partitions: on a local 3-primary Redis Cluster the bench starts
  --redis-url URL       use this Redis instead of starting one (its keys are left alone but
                        the bench's own; CONFIG RESETSTAT is run on it)
  ${reportUsage(22)}
  --json                last line of stdout: one JSON object with every figure
`;

const SPEC = {
  name: 'bench',
  usage: USAGE,
  options: {
    count: { type: 'string' },
    runs: { type: 'string' },
    modes: { type: 'string' },
    'work-ms': { type: 'string' },
    concurrency: { type: 'string' },
    'batch-size': { type: 'string' },
    peers: { type: 'string' },
    'bullmq-concurrency': { type: 'string' },
    'bee-queue-concurrency': { type: 'string' },
    'bullmq-remove-on-complete': { type: 'boolean', default: false },
    'no-bullmq': { type: 'boolean', default: false },
    'no-log-cost': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    partitions: { type: 'string' },
    processors: { type: 'string' },
    cluster: { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
    ...REPORT_FLAGS,
  },
} as const;

type Flags = ReturnType<typeof parseFlags<typeof SPEC.options>>;

function listFlag(flags: Flags, name: 'modes' | 'partitions' | 'peers', fallback: string): string[] {
  return (stringFlag(flags, name) ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function peersFrom(flags: Flags): PeerSystem[] {
  const peers = listFlag(flags, 'peers', PEERS.join(','));
  for (const p of peers)
    if (!(PEERS as readonly string[]).includes(p)) throw new UsageError(`--peers: unknown peer ${p} (${PEERS.join(', ')})`);
  if (flags['no-bullmq'] === true && flags.peers !== undefined) throw new UsageError('--no-bullmq means no peer at all: leave out --peers');
  return flags['no-bullmq'] === true ? [] : [...new Set(peers as PeerSystem[])];
}

function planFrom(flags: Flags): BenchPlan {
  const count = intFlag(flags, 'count', 50_000, 1);
  const workMs = intFlag(flags, 'work-ms', 0);
  const modes = listFlag(flags, 'modes', 'prefilled,e2e');
  for (const m of modes) if (m !== 'prefilled' && m !== 'e2e') throw new UsageError(`--modes: unknown mode ${m} (prefilled, e2e)`);
  const inorderEnv: Record<string, string> = {};
  if (flags.concurrency !== undefined) inorderEnv.CONCURRENCY = String(intFlag(flags, 'concurrency', 64, 1));
  if (flags['batch-size'] !== undefined) inorderEnv.BATCH_SIZE = String(intFlag(flags, 'batch-size', 256, 1));
  const bullmqConcurrency = intFlag(flags, 'bullmq-concurrency', 50, 1);
  const beeQueueConcurrency = intFlag(flags, 'bee-queue-concurrency', 50, 1);
  const slowest = Math.min(bullmqConcurrency, beeQueueConcurrency);
  return {
    runs: intFlag(flags, 'runs', 3, 1),
    workload: { count, workMs, timeoutMs: 60_000 + count * 2 + Math.ceil(count / slowest) * workMs * 3 },
    modes: modes as BenchMode[],
    inorderEnv,
    logLevel: 'info',
    logCost: flags['no-log-cost'] !== true,
    peers: peersFrom(flags),
    bullmq: { concurrency: bullmqConcurrency, removeOnComplete: flags['bullmq-remove-on-complete'] === true },
    beeQueue: { concurrency: beeQueueConcurrency },
    scriptTimes: flags.profile === true,
  };
}

async function peerBench(flags: Flags, target: BenchTarget, out: Output): Promise<void> {
  const plan = planFrom(flags);
  const startedAt = Date.now();
  const profile = flags.profile === true ? profileSetup(stringFlag(flags, 'report-dir'), startedAt) : undefined;
  out.line(
    `bench: ${target.label}; ${plan.runs} run(s) of ${plan.workload.count.toLocaleString('en-US')} messages per phase, work ${plan.workload.workMs} ms; modes ${plan.modes.join(', ')}`,
  );
  const { phases, scripts } = await runBench(plan, { ...target, out, nodeArgs: profile?.nodeArgs });
  const settings = {
    ...plan,
    workload: { count: plan.workload.count, workMs: plan.workload.workMs },
    bullmqOptionsSet: {
      concurrency: plan.bullmq.concurrency,
      removeOnComplete: plan.bullmq.removeOnComplete,
      connection: 'maxRetriesPerRequest: null (required by Worker)',
    },
    beeQueueOptionsSet: {
      concurrency: plan.beeQueue.concurrency,
      producer: 'isWorker: false, getEvents: false, storeJobs: false (a producer-only queue)',
      removeOnSuccess: 'false (bee-queue default: succeeded jobs kept)',
    },
  };
  const summary = benchSummary(phases, scripts, settings);
  out.line(renderBench(summary));
  if (profile) out.line(profile.summarise());
  if (!flags['no-report']) {
    summary.report = writeReport(benchReport(summary, phases, startedAt), stringFlag(flags, 'report-dir'));
    out.line(`  report: ${summary.report.html}`);
  }
  out.result(summary);
  if (!summary.ok) throw new VerificationFailed('inorder lost, duplicated or reordered messages (see above)');
}

await runTool(SPEC, async ({ flags, out, cleanup }) => {
  const partitions =
    flags.partitions === undefined
      ? undefined
      : listFlag(flags, 'partitions', '1').map((p) => {
          const n = Number(p);
          if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--partitions: ${p} is not a partition count from 1 to 64`);
          return n;
        });
  if (flags.cluster && !partitions) throw new UsageError('--cluster goes with --partitions');
  if (flags.cluster && flags['redis-url']) throw new UsageError('--cluster starts its own cluster: leave out --redis-url');
  planFrom(flags);
  const target = await openTarget({ cluster: flags.cluster === true, redisUrl: stringFlag(flags, 'redis-url') }, cleanup);
  if (!partitions) return peerBench(flags, target, out);
  const count = intFlag(flags, 'count', 50_000, 1);
  const summary = await benchPartitions({
    ...target,
    out,
    partitions,
    count,
    runs: intFlag(flags, 'runs', 3, 1),
    processors: intFlag(flags, 'processors', 1, 1),
    workMs: intFlag(flags, 'work-ms', 0),
  });
  if (!flags['no-report']) out.line(`  report: ${writeReport(summary.report, stringFlag(flags, 'report-dir')).html}`);
  out.result(summary.figures);
  if (!summary.figures.ok) throw new VerificationFailed('a partition lost, duplicated or reordered messages (see above)');
});
