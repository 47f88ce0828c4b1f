/**
 * The load engine behind soak and chaos: a Redis (given, or a throwaway one), the services
 * (started here, or already running), a load (a steady rate for a duration, or a burst), a
 * backlog sample every second, whatever the caller runs alongside (chaos: its faults), then a
 * bounded wait until every message is accounted for, and verification.
 */
import { randomBytes } from 'node:crypto';
import { connect, enqueue, keysFor, redactRedisUrl, type NewMessage, type PartitionKeys, type RedisClient } from '@inorder/shared';
import {
  parseTimestamps,
  readBacklog,
  settledCount,
  verifyPipelineWithOutput,
  type Cleanup,
  type Output,
  type VerifyResult,
} from '@inorder/tools';
import { hasTimestamps, type Timestamps } from './report-series.js';
import type { RedisServer } from '@inorder/testkit';
import { startLocalRedis, startServices, type ServiceGroup } from './stack.js';
import { startSampler, waitForDrain, type Sample } from './soak-sampler.js';

export type { Sample } from './soak-sampler.js';

export type LoadSpec = { kind: 'steady'; rate: number; durationMs: number } | { kind: 'burst'; count: number };

export interface RunSpec {
  label: string;
  load: LoadSpec;
  workMs: number;
  processors: number;
  sequencers: number;
  concurrency: number;
  /** use this Redis and the services already running against it */
  redisUrl?: string;
  pipeline?: string;
  /** the throwaway server keeps an append-only file (needed to restart it without loss) */
  appendonly?: boolean;
  /** more environment for the services */
  env?: Record<string, string>;
  /** give up waiting for the last messages after this long once the load ended (default 120 s) */
  drainTimeoutMs?: number;
  /** give up when nothing moved for this long (default 60 s) */
  stallMs?: number;
}

export interface RunContext {
  spec: RunSpec;
  client: RedisClient;
  redisUrl: string;
  localRedis: RedisServer | undefined;
  services: ServiceGroup | undefined;
  pipeline: string;
  keys: PartitionKeys;
  /** epoch ms of the first enqueue */
  startedAt: number;
  /** how many messages the load will send in all */
  total: number;
  /** sent so far */
  sent(): number;
  /** resolves when the load has sent everything */
  loadDone: Promise<void>;
  out: Output;
}

export interface RunOutcome {
  pipeline: string;
  redisUrl: string;
  startedAt: number;
  from: number;
  sent: number;
  verify: VerifyResult;
  /** output entries of this run with all five timestamps */
  entries: Timestamps[];
  samples: Sample[];
  /** first enqueue to the last message out */
  wallMs: number;
  /** the load's own length plus one work time: what a pipeline with no delay would take */
  idealMs: number;
  /** every message was accounted for before the wait gave up */
  drained: boolean;
  services: ServiceGroup | undefined;
}

const TICK_MS = 20;

export function loadTotal(load: LoadSpec): number {
  return load.kind === 'burst' ? load.count : Math.round((load.rate * load.durationMs) / 1000);
}

/**
 * Sends `total` messages from seq `from`: all at once (burst), or at `rate` per second in ticks
 * of 20 ms. A tick that falls behind (Redis down) sends the backlog on the next; bounded by count.
 */
async function runLoad(
  client: RedisClient,
  target: { pipeline: string },
  load: LoadSpec,
  from: number,
  state: { sent: number },
): Promise<void> {
  const total = loadTotal(load);
  const started = Date.now();
  while (state.sent < total) {
    const due = load.kind === 'burst' ? total : Math.min(total, Math.floor((load.rate * (Date.now() - started)) / 1000));
    if (due > state.sent) {
      const messages: NewMessage[] = [];
      for (let i = state.sent; i < due; i++) messages.push({ seq: from + i, payload: { n: from + i } });
      await enqueue(client, target, messages);
      state.sent = due;
    }
    if (state.sent < total) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}

/** The first seq to send: the partition's next, refusing a pipeline that still has work in it. */
async function firstSeq(client: RedisClient, keys: PartitionKeys, pipeline: string): Promise<number> {
  const backlog = await readBacklog(client, keys);
  const busy = backlog.input + backlog.inFlight + backlog.results;
  if (busy > 0) throw new Error(`pipeline ${pipeline} still has ${busy} messages in flight; wait for them or use another --pipeline`);
  return backlog.next ?? 1;
}

/** Sets up, runs the load with `during` alongside, drains, verifies. Everything started is registered with `cleanup`. */
export async function runSoakLoad(
  spec: RunSpec,
  out: Output,
  cleanup: Cleanup,
  during?: (ctx: RunContext) => Promise<void>,
): Promise<RunOutcome> {
  const { pipeline, keys, localRedis, redisUrl, client, services } = await setUp(spec, out, cleanup);
  const from = await firstSeq(client, keys, pipeline);
  const base = await settledCount(client, keys);
  const total = loadTotal(spec.load);
  const startedAt = Date.now();
  const { sent, loadDone } = startProducer(spec, { redisUrl, pipeline, from }, cleanup);
  const ctx: RunContext = {
    spec,
    client,
    redisUrl,
    localRedis,
    services,
    pipeline,
    keys,
    startedAt,
    total,
    sent,
    loadDone,
    out,
  };
  const { samples, drained } = await loadAndDrain(ctx, base, during);
  return outcome(ctx, from, samples, drained);
}

/** Starts the load on a connection of its own: a slow or failed enqueue does not hold up sampling. */
function startProducer(
  spec: RunSpec,
  target: { redisUrl: string; pipeline: string; from: number },
  cleanup: Cleanup,
): { sent: () => number; loadDone: Promise<void> } {
  const state = { sent: 0 };
  const producer = connect(target.redisUrl, { name: `inorder-${spec.label}-producer` });
  cleanup.add('producer connection', () => producer.disconnect());
  const loadDone = runLoad(producer, { pipeline: target.pipeline }, spec.load, target.from, state);
  return { sent: () => state.sent, loadDone };
}

/** Samples while the load and `during` run, then waits for the drain: the samples, and whether every message arrived. */
async function loadAndDrain(
  ctx: RunContext,
  base: number,
  during: ((ctx: RunContext) => Promise<void>) | undefined,
): Promise<{ samples: Sample[]; drained: boolean }> {
  const { client, keys, spec, out } = ctx;
  const sampler = startSampler({
    client,
    keys,
    startedAt: ctx.startedAt,
    base,
    total: ctx.total,
    label: spec.label,
    out,
    sent: () => ctx.sent(),
  });
  try {
    await Promise.all([ctx.loadDone, during?.(ctx)]);
    const drained = await waitForDrain(client, keys, base + ctx.sent(), spec.drainTimeoutMs ?? 120_000, spec.stallMs ?? 60_000, out);
    return { samples: sampler.samples, drained };
  } finally {
    await sampler.stop();
  }
}

/** Verifies the seqs sent and sums the run up: its output entries, wall time, ideal time. */
async function outcome(ctx: RunContext, from: number, samples: Sample[], drained: boolean): Promise<RunOutcome> {
  const { spec, client, pipeline, startedAt } = ctx;
  const sent = ctx.sent();
  const { result: verify, output } = await verifyPipelineWithOutput(client, { pipeline, expected: { from, to: from + sent - 1 } });
  const entries = parseTimestamps(output).filter((e): e is Timestamps => hasTimestamps(e) && e.seq >= from && e.seq < from + sent);
  const last = entries.reduce((m, e) => Math.max(m, e.sequencedAt), startedAt);
  return {
    pipeline,
    redisUrl: redactRedisUrl(ctx.redisUrl),
    startedAt,
    from,
    sent,
    verify,
    entries,
    samples,
    wallMs: Math.max(1, last - startedAt),
    idealMs: idealMs(spec, sent),
    drained,
    services: ctx.services,
  };
}

/** What a pipeline with no delay would take: a steady load's length plus one work time; a burst's whole rounds of work. */
function idealMs(spec: RunSpec, sent: number): number {
  if (spec.load.kind === 'steady') return spec.load.durationMs + spec.workMs;
  return Math.ceil(sent / Math.max(1, spec.processors * spec.concurrency)) * spec.workMs;
}

/** The run's Redis (a throwaway one unless the spec names one), its connection and services. */
async function setUp(
  spec: RunSpec,
  out: Output,
  cleanup: Cleanup,
): Promise<{
  pipeline: string;
  keys: PartitionKeys;
  localRedis: RedisServer | undefined;
  redisUrl: string;
  client: RedisClient;
  services: ServiceGroup | undefined;
}> {
  const pipeline = spec.pipeline ?? (spec.redisUrl ? 'default' : `${spec.label}-${randomBytes(3).toString('hex')}`);
  let localRedis: RedisServer | undefined;
  let redisUrl = spec.redisUrl;
  if (!redisUrl) {
    const started = await startLocalRedis({ appendonly: spec.appendonly === true });
    cleanup.add('redis-server', () => started.destroy());
    localRedis = started;
    redisUrl = started.url;
  }
  const client = connect(redisUrl, { name: `inorder-${spec.label}` });
  cleanup.add('connection', () => client.disconnect());
  await client.ping();
  let services: ServiceGroup | undefined;
  if (!spec.redisUrl) {
    const group = await startServices({
      redisUrl,
      pipeline,
      processors: spec.processors,
      sequencers: spec.sequencers,
      env: { LOG_LEVEL: 'info', WORK_MS: String(spec.workMs), CONCURRENCY: String(spec.concurrency), ...spec.env },
    });
    cleanup.add('services', () => group.stop(12_000));
    await group.waitForLeader(15_000);
    services = group;
  }
  out.line(
    `  redis      ${redactRedisUrl(redisUrl)}${localRedis ? ` (throwaway redis-server${spec.appendonly ? ', appendonly yes, appendfsync always' : ''})` : ''}`,
  );
  out.line(
    `  pipeline   ${pipeline}${services ? `; ${spec.processors} processors x ${spec.concurrency}, ${spec.sequencers} sequencers, WORK_MS ${spec.workMs}` : ' (services already running)'}`,
  );
  return { pipeline, keys: keysFor(pipeline, 0), localRedis, redisUrl, client, services };
}
