/**
 * The burst engine behind `demo` and `burst` (and a base for runs that add faults): a Redis
 * (given, or a throwaway one), the services (started here, or already running), N messages
 * enqueued at once, a wait until output, dead letters and skips account for all of them, then
 * verification and per-stage latency.
 */
import { randomBytes } from 'node:crypto';
import { connect, keysFor, redactRedisUrl, type PartitionKeys, type RedisClient } from '@inorder/shared';
import {
  type Cleanup,
  type Output,
  formatDuration,
  formatInt,
  computeStats,
  parseTimestamps,
  settledCount,
  verifyPipelineWithOutput,
  type PipelineStats,
  type Timestamps,
  type VerifyResult,
} from '@inorder/tools';
import type { RedisServer } from '@inorder/testkit';
import { startLocalRedis, startServices, type ServiceGroup } from './stack.js';
import { enqueueRange, firstSeq, lastDeadAt, waitForSettled } from './burst-steps.js';
import { burstResult, idealMs, type BurstRun } from './burst-result.js';

export { idealMs, renderBurst, type BurstResult, type BurstRun, type LatencySummary } from './burst-result.js';

export interface BurstOptions {
  /** shown in headings: "demo", "burst" */
  label: string;
  count: number;
  workMs: number;
  processors: number;
  sequencers: number;
  /** per processor */
  concurrency: number;
  failRate?: number;
  /** the Redis to use; a throwaway redis-server is started when absent */
  redisUrl?: string;
  /** start the services here (true), or rely on ones already running against redisUrl (false) */
  startServices: boolean;
  /** default: a fresh name per run when services are started here, else "default" */
  pipeline?: string;
  partition?: number;
  prefix?: string;
  /** first seq (default: the partition's next seq, 1 on a fresh pipeline) */
  from?: number;
  /** give up waiting after this long (default: ten times the ideal plus a minute) */
  timeoutMs?: number;
  /** give up when nothing moved for this long (default 60 s) */
  stallMs?: number;
  /** more environment for the services */
  env?: Record<string, string>;
  /** called once everything runs, just before the messages are enqueued (fault injection, extra output) */
  onStarted?: (context: BurstContext) => void | Promise<void>;
}

export interface BurstContext {
  redisUrl: string;
  /** the throwaway server, when this run started one */
  localRedis: RedisServer | undefined;
  /** the services, when this run started them */
  services: ServiceGroup | undefined;
  pipeline: string;
  keys: PartitionKeys;
  client: RedisClient;
}

/** The run's Redis (a throwaway one unless the options name one), its connection, and the services when started here. */
async function setUp(
  options: BurstOptions,
  target: { pipeline: string; partition: number; prefix: string },
  out: Output,
  cleanup: Cleanup,
): Promise<{ localRedis: RedisServer | undefined; redisUrl: string; client: RedisClient; services: ServiceGroup | undefined }> {
  let localRedis: RedisServer | undefined;
  let redisUrl = options.redisUrl;
  if (!redisUrl) {
    const started = await startLocalRedis();
    cleanup.add('redis-server', () => started.destroy());
    localRedis = started;
    redisUrl = started.url;
  }
  out.line(`  redis      ${redactRedisUrl(redisUrl)}${localRedis ? ` (throwaway redis-server, pid ${localRedis.pid})` : ''}`);
  out.line(`  pipeline   ${target.pipeline}`);

  const client = connect(redisUrl, { name: `inorder-${options.label}` });
  cleanup.add('connection', () => client.disconnect());
  await client.ping();

  let services: ServiceGroup | undefined;
  if (options.startServices) {
    services = await startBurstServices(options, { redisUrl, ...target }, out, cleanup);
  } else {
    out.line('  services   already running (not started here)');
  }

  return { localRedis, redisUrl, client, services };
}

/** Starts the services with the burst's work settings, waits for a sequencer to lead, and says how long that took. */
async function startBurstServices(
  options: BurstOptions,
  target: { redisUrl: string; pipeline: string; partition: number; prefix: string },
  out: Output,
  cleanup: Cleanup,
): Promise<ServiceGroup> {
  const started = Date.now();
  const group = await startServices({
    ...target,
    processors: options.processors,
    sequencers: options.sequencers,
    env: {
      WORK_MS: String(options.workMs),
      CONCURRENCY: String(options.concurrency),
      FAIL_RATE: String(options.failRate ?? 0),
      ...options.env,
    },
  });
  cleanup.add('services', () => group.stop(12_000));
  const leader = await group.waitForLeader(10_000);
  out.line(
    `  services   ${options.processors} processors, ${options.sequencers} sequencers started in ${formatDuration(Date.now() - started)}` +
      (leader ? ` (leader: ${leader.name})` : ' (no leader yet)'),
  );
  return group;
}

/** Runs one burst. Everything it starts is registered with `cleanup`. */
export async function runBurst(options: BurstOptions, out: Output, cleanup: Cleanup): Promise<BurstRun> {
  const partition = options.partition ?? 0;
  const prefix = options.prefix ?? 'inorder';
  const pipeline = options.pipeline ?? (options.startServices ? `${options.label}-${randomBytes(3).toString('hex')}` : 'default');
  const target = { pipeline, partition, prefix };
  const keys = keysFor(pipeline, partition, prefix);
  const ideal = idealMs(options.count, options.processors, options.concurrency, options.workMs);

  out.line(
    `inorder ${options.label}: ${formatInt(options.count)} messages x ${options.workMs} ms of work, ` +
      `${options.processors} processors x ${options.concurrency} concurrency, ${options.sequencers} sequencers`,
  );

  const { localRedis, redisUrl, client, services } = await setUp(options, target, out, cleanup);

  const from = await firstSeq(client, keys, pipeline, options.from);
  const before = await settledCount(client, keys);
  await options.onStarted?.({ redisUrl, localRedis, services, pipeline, keys, client });

  const t0 = Date.now();
  await enqueueRange(client, target, from, options.count);
  out.line(
    `  enqueued   ${formatInt(options.count)} messages (seq ${from}..${from + options.count - 1}) in ${formatDuration(Date.now() - t0)}`,
  );

  const timedOut = !(await waitForSettled({
    client,
    keys,
    services,
    out,
    target: before + options.count,
    count: options.count,
    base: before,
    timeoutMs: options.timeoutMs ?? ideal * 10 + 60_000,
    stallMs: options.stallMs ?? 60_000,
  }));
  const waitedMs = Date.now() - t0;

  const { verify, entries, stats, wallMs } = await measure(client, { ...target, keys }, { from, count: options.count, t0, waitedMs });
  const result = burstResult({ options, pipeline, redisUrl, local: !options.redisUrl, verify, stats, wallMs, ideal, timedOut });

  if (!verify.ok || timedOut) dumpServiceLogs(services, out);
  return { result, verify, stats, entries, startedAt: t0 };
}

/**
 * Verifies the burst's seqs and times it: this run's output entries and their stage statistics,
 * and the wall time from the first enqueue (`t0`) to the last completion (the wait's length when
 * nothing completed after `t0`).
 */
async function measure(
  client: RedisClient,
  target: { pipeline: string; partition: number; prefix: string; keys: PartitionKeys },
  run: { from: number; count: number; t0: number; waitedMs: number },
): Promise<{ verify: VerifyResult; entries: Timestamps[]; stats: PipelineStats; wallMs: number }> {
  const { pipeline, partition, prefix, keys } = target;
  const { from, count, t0 } = run;
  const { result: verify, output } = await verifyPipelineWithOutput(client, {
    pipeline,
    partition,
    prefix,
    expected: { from, to: from + count - 1 },
  });
  const entries = parseTimestamps(output).filter((e) => e.seq !== undefined && e.seq >= from && e.seq < from + count);
  const stats = computeStats(entries);
  const deadAt = await lastDeadAt(client, keys);
  const end = Math.max(stats.lastSequencedAt ?? 0, deadAt ?? 0);
  const wallMs = end > t0 ? end - t0 : run.waitedMs;
  return { verify, entries, stats, wallMs };
}

/** Prints the warnings and errors the services logged: what a failed run needs to be understood. */
export function dumpServiceLogs(services: ServiceGroup | undefined, out: Output, lines = 12): void {
  if (!services) return;
  for (const s of services.all) {
    const notable = s.logs.filter((l) => /"level":"(warn|error)"/.test(l) || !l.startsWith('{')).slice(-lines);
    if (notable.length === 0) continue;
    out.line(`  --- ${s.name} (pid ${s.pid}${s.running ? '' : ', exited'}): last warnings ---`);
    for (const l of notable) out.line(`  ${l.length > 300 ? `${l.slice(0, 300)}...` : l}`);
  }
}
