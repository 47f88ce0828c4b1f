/**
 * The burst engine behind `demo` and `burst` (and a base for runs that add faults): a Redis
 * (given, or a throwaway one), the services (started here, or already running), N messages
 * enqueued at once, a wait until output, dead letters and skips account for all of them, then
 * verification and per-stage latency.
 */
import { randomBytes } from 'node:crypto';
import { connect, enqueue, keysFor, redactRedisUrl, type NewMessage, type PartitionKeys, type RedisClient } from '@inorder/shared';
import { Cleanup, Output, formatDuration, formatInt, renderPairs } from './cli.js';
import { startLocalRedis, startServices, type LocalRedis, type ServiceGroup } from './stack.js';
import { computeStats, parseTimestamps, renderStatsTable, renderThroughput, type PipelineStats, type Percentiles, type Stage, type Timestamps } from './stats.js';
import { readBacklog, renderVerify, verifyPipelineWithOutput, type VerifyResult } from './verify.js';

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
  localRedis: LocalRedis | undefined;
  /** the services, when this run started them */
  services: ServiceGroup | undefined;
  pipeline: string;
  keys: PartitionKeys;
  client: RedisClient;
}

export type LatencySummary = Record<Stage, Percentiles>;

export interface BurstResult {
  ok: boolean;
  pipeline: string;
  redis: 'local' | 'external';
  redisUrl: string;
  sent: number;
  output: number;
  deadLettered: number;
  skipped: number;
  missing: number;
  duplicates: number;
  orderViolations: number;
  unexpected: number;
  /** first enqueue to the last completion (last sequencedAt, or dead-letter time) */
  wallMs: number;
  /** ceil(sent / (processors x concurrency)) x workMs */
  idealMs: number;
  /** wallMs / idealMs (null without work) */
  wallVsIdeal: number | null;
  /** sent / wallMs, msg/s */
  throughput: number;
  processors: number;
  sequencers: number;
  concurrency: number;
  workMs: number;
  /** the wait ended because of a timeout or a stall, not because everything arrived */
  timedOut: boolean;
  latency: LatencySummary;
  throughputPerSecond: number[];
  missingSeqs: number[];
}

/** A finished burst: the figures (what --json prints), and the details behind them. */
export interface BurstRun {
  result: BurstResult;
  verify: VerifyResult;
  stats: PipelineStats;
  /** the timestamps of this run's output entries (for latency over time) */
  entries: Timestamps[];
  /** epoch ms of the first enqueue */
  startedAt: number;
}

/** ceil(N / total concurrency) whole rounds of work. */
export function idealMs(count: number, processors: number, concurrency: number, workMs: number): number {
  const slots = Math.max(1, processors * concurrency);
  return Math.ceil(count / slots) * workMs;
}

/** Output entries, dead letters and skips so far. */
async function settledCount(client: RedisClient, keys: PartitionKeys): Promise<number> {
  const [output, dead, skipped] = await Promise.all([client.llen(keys.output), client.llen(keys.dead), client.hget(keys.meta, 'skipped').then(Number)]);
  return output + dead + skipped;
}

/** Latest dead-letter time (the output's latest sequencedAt comes from the stats). */
async function lastDeadAt(client: RedisClient, keys: PartitionKeys): Promise<number | undefined> {
  const raw = await client.lrange(keys.dead, -1, -1);
  try {
    const deadAt = raw[0] ? (JSON.parse(raw[0]) as { deadAt?: unknown }).deadAt : undefined;
    return typeof deadAt === 'number' ? deadAt : undefined;
  } catch {
    return undefined;
  }
}

async function enqueueRange(client: RedisClient, target: { pipeline: string; partition: number; prefix: string }, from: number, count: number): Promise<void> {
  const CHUNK = 10_000;
  for (let start = from; start < from + count; start += CHUNK) {
    const messages: NewMessage[] = [];
    for (let seq = start; seq < Math.min(from + count, start + CHUNK); seq++) messages.push({ seq, payload: { n: seq } });
    await enqueue(client, target, messages);
  }
}

/** Picks the first seq for a run on an existing pipeline, refusing one that still has work in it. */
async function firstSeq(client: RedisClient, keys: PartitionKeys, pipeline: string, from: number | undefined): Promise<number> {
  const backlog = await readBacklog(client, keys);
  if (from !== undefined) return from;
  const busy = backlog.input + backlog.inFlight + backlog.results;
  if (busy > 0) {
    throw new Error(`pipeline ${pipeline} still has ${busy} messages in flight; wait for them, use another --pipeline, or pass --from`);
  }
  return backlog.next ?? 1;
}

/** Runs one burst. Everything it starts is registered with `cleanup`. */
export async function runBurst(options: BurstOptions, out: Output, cleanup: Cleanup): Promise<BurstRun> {
  const partition = options.partition ?? 0;
  const prefix = options.prefix ?? 'inorder';
  const pipeline = options.pipeline ?? (options.startServices ? `${options.label}-${randomBytes(3).toString('hex')}` : 'default');
  const keys = keysFor(pipeline, partition, prefix);
  const ideal = idealMs(options.count, options.processors, options.concurrency, options.workMs);

  out.line(
    `inorder ${options.label}: ${formatInt(options.count)} messages x ${options.workMs} ms of work, ` +
      `${options.processors} processors x ${options.concurrency} concurrency, ${options.sequencers} sequencers`,
  );

  let localRedis: LocalRedis | undefined;
  let redisUrl = options.redisUrl;
  if (!redisUrl) {
    localRedis = await startLocalRedis();
    cleanup.add('redis-server', () => localRedis!.stop());
    redisUrl = localRedis.url;
  }
  out.line(`  redis      ${redactRedisUrl(redisUrl)}${localRedis ? ` (throwaway redis-server, pid ${localRedis.pid})` : ''}`);
  out.line(`  pipeline   ${pipeline}`);

  const client = connect(redisUrl, { name: `inorder-${options.label}` });
  cleanup.add('connection', () => client.disconnect());
  await client.ping();

  let services: ServiceGroup | undefined;
  if (options.startServices) {
    const started = Date.now();
    services = await startServices({
      redisUrl, pipeline, partition, prefix,
      processors: options.processors,
      sequencers: options.sequencers,
      env: {
        WORK_MS: String(options.workMs),
        CONCURRENCY: String(options.concurrency),
        FAIL_RATE: String(options.failRate ?? 0),
        ...options.env,
      },
    });
    cleanup.add('services', () => services!.stop(12_000));
    const group = services;
    const leader = await waitForLeader(group, 10_000);
    out.line(
      `  services   ${options.processors} processors, ${options.sequencers} sequencers started in ${formatDuration(Date.now() - started)}` +
        (leader ? ` (leader: ${leader.name})` : ' (no leader yet)'),
    );
  } else {
    out.line('  services   already running (not started here)');
  }

  const from = await firstSeq(client, keys, pipeline, options.from);
  const before = await settledCount(client, keys);
  await options.onStarted?.({ redisUrl, localRedis, services, pipeline, keys, client });

  const t0 = Date.now();
  await enqueueRange(client, { pipeline, partition, prefix }, from, options.count);
  out.line(`  enqueued   ${formatInt(options.count)} messages (seq ${from}..${from + options.count - 1}) in ${formatDuration(Date.now() - t0)}`);

  const timedOut = !(await waitForSettled({
    client, keys, services, out,
    target: before + options.count,
    count: options.count,
    base: before,
    timeoutMs: options.timeoutMs ?? ideal * 10 + 60_000,
    stallMs: options.stallMs ?? 60_000,
  }));
  const waitedMs = Date.now() - t0;

  const { result: verify, output } = await verifyPipelineWithOutput(client, {
    pipeline, partition, prefix, expected: { from, to: from + options.count - 1 },
  });
  const entries = parseTimestamps(output).filter((e) => e.seq !== undefined && e.seq >= from && e.seq < from + options.count);
  const stats = computeStats(entries);
  const deadAt = await lastDeadAt(client, keys);
  const end = Math.max(stats.lastSequencedAt ?? 0, deadAt ?? 0);
  const wallMs = end > t0 ? end - t0 : waitedMs;
  const result = burstResult({ options, pipeline, redisUrl, local: !options.redisUrl, verify, stats, wallMs, ideal, timedOut });

  if (!verify.ok || timedOut) dumpServiceLogs(services, out);
  return { result, verify, stats, entries, startedAt: t0 };
}

async function waitForLeader(group: ServiceGroup, timeoutMs: number): Promise<{ name: string } | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const leader = await group.leader().catch(() => undefined);
    if (leader) return leader;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

interface WaitParts {
  client: RedisClient;
  keys: PartitionKeys;
  services: ServiceGroup | undefined;
  out: Output;
  target: number;
  count: number;
  base: number;
  timeoutMs: number;
  stallMs: number;
}

/** Polls until output + dead letters + skips reach the target; false on a timeout, a stall, or dead services. */
async function waitForSettled(p: WaitParts): Promise<boolean> {
  const bar = p.out.progress(p.count, 'settled');
  const started = Date.now();
  let last = -1;
  let lastMoved = started;
  try {
    for (;;) {
      const settled = (await settledCount(p.client, p.keys)) - p.base;
      const now = Date.now();
      if (settled !== last) {
        last = settled;
        lastMoved = now;
      }
      const rate = settled / Math.max(0.001, (now - started) / 1000);
      bar.update(Math.min(settled, p.count), `${formatInt(rate)} msg/s`);
      if (settled >= p.count) return true;
      if (now - started > p.timeoutMs) {
        p.out.line(`  gave up waiting after ${formatDuration(now - started)}: ${formatInt(settled)} of ${formatInt(p.count)} settled`);
        return false;
      }
      if (now - lastMoved > p.stallMs) {
        p.out.line(`  nothing moved for ${formatDuration(now - lastMoved)}: ${formatInt(settled)} of ${formatInt(p.count)} settled`);
        return false;
      }
      if (p.services) {
        const gone = [p.services.processors, p.services.sequencers].find((group) => group.length > 0 && group.every((s) => !s.running));
        if (gone) {
          p.out.line(`  every ${gone[0]!.role} has exited: ${formatInt(settled)} of ${formatInt(p.count)} settled`);
          return false;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    bar.stop();
  }
}

function burstResult(r: {
  options: BurstOptions; pipeline: string; redisUrl: string; local: boolean; verify: VerifyResult; stats: PipelineStats;
  wallMs: number; ideal: number; timedOut: boolean;
}): BurstResult {
  const { options, verify, stats } = r;
  return {
    ok: verify.ok && !r.timedOut,
    pipeline: r.pipeline,
    redis: r.local ? 'local' : 'external',
    redisUrl: redactRedisUrl(r.redisUrl),
    sent: options.count,
    output: verify.output,
    deadLettered: verify.deadLettered,
    skipped: verify.skipped,
    missing: verify.missing,
    duplicates: verify.duplicates,
    orderViolations: verify.orderViolations,
    unexpected: verify.unexpected,
    wallMs: r.wallMs,
    idealMs: r.ideal,
    wallVsIdeal: r.ideal > 0 ? Math.round((r.wallMs / r.ideal) * 1000) / 1000 : null,
    throughput: Math.round((options.count / Math.max(1, r.wallMs)) * 1000 * 10) / 10,
    processors: options.processors,
    sequencers: options.sequencers,
    concurrency: options.concurrency,
    workMs: options.workMs,
    timedOut: r.timedOut,
    latency: stats.stages,
    throughputPerSecond: stats.throughput.perSecond,
    missingSeqs: verify.missingSeqs,
  };
}

/** The human report of a burst: verification, wall time against the ideal, the stage table. */
export function renderBurst({ result, verify, stats }: BurstRun): string {
  const rounds = result.workMs > 0 ? Math.round(result.idealMs / result.workMs) : 0;
  const lines = [
    '',
    'Result',
    renderVerify(verify),
    '',
    renderPairs([
      ['wall time', `${formatDuration(result.wallMs)}  (first enqueue to last message out)`],
      [
        'ideal',
        result.idealMs > 0
          ? `${formatDuration(result.idealMs)}  (${rounds} round${rounds === 1 ? '' : 's'} of ${result.workMs} ms at ${formatInt(result.processors * result.concurrency)} in flight)` +
            `  ->  wall/ideal ${result.wallVsIdeal?.toFixed(3)}x`
          : 'n/a (no work time)',
      ],
      ['throughput', `${formatInt(result.throughput)} msg/s`],
    ]),
    '',
    'Latency per stage (from the five timestamps of each output entry)',
    renderStatsTable(stats),
    renderThroughput(stats.throughput),
  ];
  return lines.join('\n');
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
