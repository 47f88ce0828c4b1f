/**
 * replica-acks: what REPLICA_ACKS costs, on a primary and its replica (throwaway redis-servers).
 *
 *   (a) pipeline: N no-op messages through 1 processor + 1 sequencer (child processes, as
 *       deployed), with REPLICA_ACKS=0 and =1 in turn: msg/s, CPU per message of Redis and of
 *       each service, WAITs per message
 *   (b) submits: batches enqueued one after the other by this process, with and without a
 *       WAIT behind each: msg/s and latency per batch
 */
import { performance } from 'node:perf_hooks';
import { connect, enqueue, keysFor, registerPipeline, type NewMessage, type RedisClient } from '@inorder/shared';
import { VerificationFailed, formatInt, intFlag, runTool, type Cleanup, type Output } from '@inorder/tools';
import { RedisServer, waitFor } from '@inorder/testkit';
import { InorderSide } from './lib/bench-inorder.js';
import { commandStats, redisCpuUs, round } from './lib/bench-metrics.js';
import type { PhaseMeasure } from './lib/bench-run.js';
import { startLocalRedis } from './lib/stack.js';

const USAGE = `
npm run replica-acks -- [options]

What REPLICA_ACKS=1 costs, on a throwaway primary and its replica: the same no-op workload
through 1 processor + 1 sequencer with REPLICA_ACKS=0 and =1 (alternating, --rounds times each),
then batches submitted one after the other with and without a WAIT behind each. Prints msg/s,
CPU per message (Redis, processor, sequencer), WAITs per message and submit latency.

  --count N             messages per pipeline run (default 20000)
  --concurrency N       processor CONCURRENCY (default 50)
  --rounds N            runs of each setting, alternating (default 2)
  --submits N           batches in the submit run (default 200; 0 skips it)
  --batch N             messages per submitted batch (default 100)
  --timeout-ms MS       REPLICA_ACKS_TIMEOUT_MS (default 500)
  --json                last line of stdout: one JSON object with every figure
`;

const SPEC = {
  name: 'replica-acks',
  usage: USAGE,
  options: {
    count: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    submits: { type: 'string' },
    batch: { type: 'string' },
    'timeout-ms': { type: 'string' },
  },
} as const;

interface SubmitMeasure {
  replicaAcks: number;
  messages: number;
  throughput: number;
  batchP50Ms: number;
  batchP99Ms: number;
  redisCpuUsPerMessage: number;
}

/** A primary and its replica, the replica attached and acknowledging. */
async function startPair(cleanup: Cleanup): Promise<{ primary: RedisServer; redis: RedisClient }> {
  const primary = await startLocalRedis();
  cleanup.add('primary', () => primary.destroy());
  const replica = await RedisServer.start({ replicaOf: primary.port, detached: true });
  cleanup.add('replica', () => replica.destroy());
  const redis = connect(primary.url, { name: 'inorder-replica-acks' });
  cleanup.add('connection', () => redis.disconnect());
  await waitFor(async () => (await redis.set('replica-acks-ready', '1')) && (await redis.wait(1, 100)) === 1, {
    timeoutMs: 15_000,
    message: 'the replica did not attach',
  });
  return { primary, redis };
}

/** Batches enqueued one after the other on a connection of its own, with or without replica acks. */
async function timeSubmits(
  url: string,
  redis: RedisClient,
  options: { batches: number; batch: number; replicaAcks: number; timeoutMs: number },
): Promise<SubmitMeasure> {
  const producer = connect(url, {
    replicaAcks: options.replicaAcks > 0 ? { replicas: options.replicaAcks, timeoutMs: options.timeoutMs } : undefined,
  });
  const pipeline = `replica-acks-submit-${options.replicaAcks}-${Date.now().toString(36)}`;
  try {
    await registerPipeline(producer, pipeline, { ordering: 'strict' });
    const cpuBefore = await redisCpuUs(redis);
    const latencies: number[] = [];
    const startedAt = performance.now();
    for (let b = 0; b < options.batches; b++) {
      const messages: NewMessage[] = Array.from({ length: options.batch }, (_, i) => ({ seq: b * options.batch + i + 1, payload: { i } }));
      const sentAt = performance.now();
      await enqueue(producer, { pipeline }, messages);
      latencies.push(performance.now() - sentAt);
    }
    const ms = performance.now() - startedAt;
    const messages = options.batches * options.batch;
    latencies.sort((a, b) => a - b);
    const at = (q: number): number => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!, 2);
    return {
      replicaAcks: options.replicaAcks,
      messages,
      throughput: round((messages / ms) * 1000),
      batchP50Ms: at(0.5),
      batchP99Ms: at(0.99),
      redisCpuUsPerMessage: round(((await redisCpuUs(redis)) - cpuBefore) / messages, 2),
    };
  } finally {
    await redis.del(...(Object.values(keysFor(pipeline, 0)) as string[]));
    producer.disconnect();
  }
}

interface PipelineMeasure {
  replicaAcks: number;
  run: PhaseMeasure;
  waitsPerMessage: number;
}

/** How many WAITs the server has run since the last CONFIG RESETSTAT (each phase runs one as it starts). */
async function waits(redis: RedisClient): Promise<number> {
  return (await commandStats(redis)).find((s) => s.command === 'wait')?.calls ?? 0;
}

/** One no-op run through a processor and a sequencer started with REPLICA_ACKS = `acks`. */
async function timePipeline(
  at: { redis: RedisClient; url: string; out: Output },
  acks: number,
  round_: number,
  options: { count: number; concurrency: number; timeoutMs: number },
): Promise<PipelineMeasure> {
  const env = { CONCURRENCY: String(options.concurrency), REPLICA_ACKS: String(acks), REPLICA_ACKS_TIMEOUT_MS: String(options.timeoutMs) };
  const side = await InorderSide.start({ redis: at.redis, nodes: [at.redis], redisUrl: at.url, out: at.out, system: 'inorder', env });
  try {
    const run = await side.phase('e2e', 'warm', round_, { count: options.count, workMs: 0, timeoutMs: 60_000 + options.count * 5 });
    return { replicaAcks: acks, run, waitsPerMessage: round((await waits(at.redis)) / options.count, 4) };
  } finally {
    await side.stop();
  }
}

const mean = (values: number[]): number => round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), 2);

/** One line per setting: the means over its rounds. */
function renderPipeline(runs: PipelineMeasure[]): string[] {
  const lines = ['  pipeline (no-op)   msg/s   Redis µs/msg   processor µs/msg   sequencer µs/msg   WAITs/msg'];
  for (const acks of [0, 1]) {
    const mine = runs.filter((r) => r.replicaAcks === acks);
    const cpu = (name: string): number => mean(mine.map((r) => r.run.cpuUsPerMessage[name] ?? 0));
    lines.push(
      `  REPLICA_ACKS=${acks}    ${formatInt(mean(mine.map((r) => r.run.throughput))).padStart(7)}   ${String(cpu('redis')).padStart(12)}` +
        `   ${String(cpu('processor')).padStart(16)}   ${String(cpu('sequencer')).padStart(16)}   ${String(mean(mine.map((r) => r.waitsPerMessage))).padStart(9)}`,
    );
  }
  return lines;
}

function renderSubmits(runs: SubmitMeasure[]): string[] {
  const lines = ['  submits             msg/s   batch p50 ms   batch p99 ms   Redis µs/msg'];
  for (const r of runs) {
    lines.push(
      `  REPLICA_ACKS=${r.replicaAcks}    ${formatInt(r.throughput).padStart(7)}   ${String(r.batchP50Ms).padStart(12)}   ${String(r.batchP99Ms).padStart(12)}   ${String(r.redisCpuUsPerMessage).padStart(12)}`,
    );
  }
  return lines;
}

await runTool(SPEC, async ({ flags, out, cleanup }) => {
  const count = intFlag(flags, 'count', 20_000, 1);
  const concurrency = intFlag(flags, 'concurrency', 50, 1);
  const rounds = intFlag(flags, 'rounds', 2, 1);
  const batches = intFlag(flags, 'submits', 200);
  const batch = intFlag(flags, 'batch', 100, 1);
  const timeoutMs = intFlag(flags, 'timeout-ms', 500, 1);
  const { primary, redis } = await startPair(cleanup);
  out.line(
    `replica-acks: primary ${primary.url} with one replica; ${formatInt(count)} no-op messages x ${rounds} rounds per setting, concurrency ${concurrency}`,
  );
  const pipelineRuns: PipelineMeasure[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const acks of [0, 1])
      pipelineRuns.push(await timePipeline({ redis, url: primary.url, out }, acks, r + 1, { count, concurrency, timeoutMs }));
  }
  const submitRuns: SubmitMeasure[] = [];
  for (const acks of batches > 0 ? [0, 1] : [])
    submitRuns.push(await timeSubmits(primary.url, redis, { batches, batch, replicaAcks: acks, timeoutMs }));
  for (const line of [...renderPipeline(pipelineRuns), '', ...renderSubmits(submitRuns)]) out.line(line);
  const ok = pipelineRuns.every((r) => r.run.complete && r.run.order.keptOrder);
  out.result({
    ok,
    count,
    concurrency,
    rounds,
    timeoutMs,
    pipeline: pipelineRuns.map((r) => ({
      replicaAcks: r.replicaAcks,
      ...r.run,
      completions: undefined,
      waitsPerMessage: r.waitsPerMessage,
    })),
    submits: submitRuns,
  });
  if (!ok) throw new VerificationFailed('a run lost, duplicated or reordered messages');
});
