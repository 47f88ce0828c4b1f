/**
 * BullMQ's side of the benchmark: one Worker (the same concurrency) in a child process, as
 * inorder's processor is, fed by this process with Queue.addBulk. Timed from the first add to
 * the last job completed. BullMQ keeps no order; the inversions say how far from it it got.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from '@inorder/shared';
import { Queue } from 'bullmq';
import type { Output } from './cli.js';
import { countInversions, round } from './bench-metrics.js';
import { CpuMeter, commandsPerMessage, type RunMeasure, type Workload } from './bench-run.js';
import { ROOT, RUNNING_FROM_SOURCE } from './stack.js';

/** Jobs per addBulk call: the same chunk as inorder's enqueue (one RPUSH per 2,000). */
const ADD_CHUNK = 2000;

export interface BullmqBenchOptions {
  redis: RedisClient;
  redisUrl: string;
  out: Output;
  /** BullMQ's removeOnComplete: false keeps every completed job (BullMQ's default) */
  removeOnComplete: boolean;
}

interface WorkerMessage {
  ready?: boolean;
  progress?: number;
  done?: boolean;
  seqs?: number[];
  at?: number[];
}

function spawnWorker(env: Record<string, string>): { child: ChildProcess; messages: AsyncIterable<WorkerMessage>; stderr: string[] } {
  const file = fileURLToPath(new URL(`bench-bullmq-worker.${RUNNING_FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));
  const args = RUNNING_FROM_SOURCE ? ['--import', 'tsx', file] : [file];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const stdout = child.stdout!;
  async function* lines(): AsyncIterable<WorkerMessage> {
    let partial = '';
    for await (const chunk of stdout) {
      const parts = (partial + (chunk as Buffer).toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) yield JSON.parse(line) as WorkerMessage;
    }
  }
  return { child, messages: lines(), stderr };
}

export async function benchBullmq(workload: Workload, opts: BullmqBenchOptions): Promise<RunMeasure> {
  const { redis, out } = opts;
  const name = `bench-${workload.name}-${randomBytes(3).toString('hex')}`;
  const url = new URL(opts.redisUrl);
  const queue = new Queue(name, {
    connection: { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null },
    defaultJobOptions: { removeOnComplete: opts.removeOnComplete },
  });
  const worker = spawnWorker({
    BENCH_REDIS_URL: opts.redisUrl,
    BENCH_QUEUE: name,
    BENCH_COUNT: String(workload.count),
    BENCH_CONCURRENCY: String(workload.concurrency),
    BENCH_WORK_MS: String(workload.workMs),
    BENCH_TIMEOUT_MS: String(workload.timeoutMs),
  });
  const killer = setTimeout(() => worker.child.kill('SIGKILL'), workload.timeoutMs + 30_000);
  try {
    await queue.waitUntilReady();
    const iterator = worker.messages[Symbol.asyncIterator]();
    const next = async (): Promise<WorkerMessage | undefined> => (await iterator.next()).value as WorkerMessage | undefined;
    const first = await next();
    if (!first?.ready) throw new Error(`the BullMQ worker did not start: ${worker.stderr.join('').trim()}`);

    const meter = await CpuMeter.start(redis, { worker: worker.child.pid });
    const progress = out.progress(workload.count, `BullMQ  ${workload.name}`);
    const startedAt = Date.now();
    for (let i = 0; i < workload.count; i += ADD_CHUNK) {
      const jobs = [];
      for (let seq = i + 1; seq <= Math.min(workload.count, i + ADD_CHUNK); seq++) jobs.push({ name: 'm', data: { seq } });
      await queue.addBulk(jobs);
    }
    const enqueueMs = Date.now() - startedAt;
    let done: WorkerMessage | undefined;
    for (let m = await next(); m; m = await next()) {
      if (m.progress !== undefined) progress.update(m.progress);
      if (m.done) {
        done = m;
        break;
      }
    }
    const cpu = await meter.stop(workload.count);
    progress.stop();
    const seqs = done?.seqs ?? [];
    const at = done?.at ?? [];
    if (!done) out.line(`  BullMQ ${workload.name}: the worker stopped before completing every job: ${worker.stderr.join('').trim()}`);
    const lastAt = at.length > 0 ? Math.max(...at.slice(-1000)) : Date.now();
    const wallMs = Math.max(1, lastAt - startedAt);
    const order = countInversions(seqs);
    return {
      system: 'bullmq',
      workload: workload.name,
      count: workload.count,
      completed: seqs.length,
      wallMs,
      throughput: round((seqs.length / wallMs) * 1000),
      enqueueMs,
      order,
      complete: seqs.length === workload.count && new Set(seqs).size === workload.count,
      redisCpuUsPerMessage: cpu.redisCpuUsPerMessage,
      clientCpuUsPerMessage: cpu.clientCpuUsPerMessage,
      commands: commandsPerMessage(cpu.stats, workload.count),
      completions: at.map((t) => t - startedAt),
    };
  } finally {
    clearTimeout(killer);
    if (worker.child.exitCode === null) {
      const exited = new Promise((resolve) => worker.child.once('exit', resolve));
      worker.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      worker.child.kill('SIGKILL');
    }
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}
