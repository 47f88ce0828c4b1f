/**
 * inorder's side of the benchmark: one processor (CONCURRENCY as asked) and one sequencer, run
 * as child processes exactly as deployed, fed by this process. Timed from the first enqueue to
 * the last result appended to the ordered output (its sequencedAt).
 */
import { randomBytes } from 'node:crypto';
import { enqueue, keysFor, type NewMessage, type RedisClient } from '@inorder/shared';
import type { Output } from './cli.js';
import { countInversions, round } from './bench-metrics.js';
import { CpuMeter, commandsPerMessage, waitForCount, type RunMeasure, type Workload } from './bench-run.js';
import { startServices } from './stack.js';
import { readList, verifyPipeline } from './verify.js';

export interface InorderBenchOptions {
  redis: RedisClient;
  redisUrl: string;
  out: Output;
  /** extra service settings (BATCH_SIZE, EMIT_BATCH ...) */
  env?: Record<string, string>;
}

export async function benchInorder(workload: Workload, opts: InorderBenchOptions): Promise<RunMeasure> {
  const { redis, out } = opts;
  const pipeline = `bench-${workload.name}-${randomBytes(3).toString('hex')}`;
  const keys = keysFor(pipeline, 0);
  const services = await startServices({
    redisUrl: opts.redisUrl,
    pipeline,
    processors: 1,
    sequencers: 1,
    env: { LOG_LEVEL: 'info', CONCURRENCY: String(workload.concurrency), WORK_MS: String(workload.workMs), ...opts.env },
  });
  try {
    // The sequencer leads before the clock starts, as a running deployment would.
    await waitForCount(async () => ((await services.leader()) ? 1 : 0), 1, 10_000, { update() {}, setTotal() {}, stop() {} }, 20);
    const messages: NewMessage[] = Array.from({ length: workload.count }, (_, i) => ({ seq: i + 1, payload: { n: i + 1 } }));
    const meter = await CpuMeter.start(redis, { processor: services.processors[0]?.pid, sequencer: services.sequencers[0]?.pid });
    const progress = out.progress(workload.count, `inorder ${workload.name}`);
    const startedAt = Date.now();
    await enqueue(redis, { pipeline }, messages, startedAt);
    const enqueueMs = Date.now() - startedAt;
    const reached = await waitForCount(() => redis.llen(keys.output), workload.count, workload.timeoutMs, progress);
    const cpu = await meter.stop(workload.count);
    progress.stop();

    const raw = await readList(redis, keys.output);
    const seqs: number[] = [];
    const completions: number[] = [];
    let lastAt = startedAt;
    for (const line of raw) {
      const entry = JSON.parse(line) as { seq: number; sequencedAt?: number };
      seqs.push(entry.seq);
      const at = entry.sequencedAt ?? startedAt;
      completions.push(at - startedAt);
      if (at > lastAt) lastAt = at;
    }
    const verified = await verifyPipeline(redis, { pipeline, expected: { from: 1, to: workload.count } });
    const wallMs = Math.max(1, lastAt - startedAt);
    if (reached < workload.count) out.line(`  inorder ${workload.name}: only ${reached} of ${workload.count} emitted within ${workload.timeoutMs} ms`);
    return {
      system: 'inorder',
      workload: workload.name,
      count: workload.count,
      completed: raw.length,
      wallMs,
      throughput: round((raw.length / wallMs) * 1000),
      enqueueMs,
      order: countInversions(seqs),
      complete: verified.ok && reached >= workload.count,
      redisCpuUsPerMessage: cpu.redisCpuUsPerMessage,
      clientCpuUsPerMessage: cpu.clientCpuUsPerMessage,
      commands: commandsPerMessage(cpu.stats, workload.count),
      completions,
    };
  } finally {
    await services.stop(5000);
    // The benchmark's keys are not needed afterwards; keep the server's memory flat across runs.
    await redis.del(...Object.values(keys));
  }
}
