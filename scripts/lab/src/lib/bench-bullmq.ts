/**
 * BullMQ's side of the benchmark: one Worker in a child process (bench-bullmq-worker.ts), with the
 * given concurrency and BullMQ's defaults otherwise, fed by this process with Queue.addBulk. The
 * same worker runs every phase of one lifetime (cold, then warm).
 *
 * Pre-filled: the queue is paused with BullMQ's own Queue.pause() while it fills, then resumed.
 * Times come from the jobs: the first `processedOn` (pre-filled) or the first add (end-to-end),
 * to the last `finishedOn`. BullMQ keeps no order; the inversions say how far from it it got.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from '@inorder/shared';
import { Queue } from 'bullmq';
import type { Output } from '@inorder/tools';
import { ROOT } from '@inorder/testkit';
import { countInversions, round } from './bench-metrics.js';
import { CpuMeter, commandsPerMessage, timing, type BenchMode, type BenchPhase, type PhaseMeasure, type Workload } from './bench-run.js';
import { RUNNING_FROM_SOURCE } from './stack.js';

/** Jobs per addBulk call: about the chunk inorder's enqueue writes per call. */
const ADD_CHUNK = 2000;

export interface BullmqSideOptions {
  nodes: RedisClient[];
  redisUrl: string;
  out: Output;
  concurrency: number;
  workMs: number;
  /** BullMQ's removeOnComplete: false keeps every completed job (BullMQ's default) */
  removeOnComplete: boolean;
}

interface WorkerMessage {
  ready?: boolean;
  progress?: number;
  done?: boolean;
  seqs?: number[];
  started?: number[];
  finished?: number[];
}

function spawnWorker(env: Record<string, string>): {
  child: ChildProcess;
  next: () => Promise<WorkerMessage | undefined>;
  stderr: string[];
} {
  const file = fileURLToPath(new URL(`bench-bullmq-worker.${RUNNING_FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));
  const args = RUNNING_FROM_SOURCE ? ['--import', 'tsx', file] : [file];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const stdout = child.stdout;
  async function* lines(): AsyncGenerator<WorkerMessage> {
    let partial = '';
    for await (const chunk of stdout) {
      const parts = (partial + (chunk as Buffer).toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) yield JSON.parse(line) as WorkerMessage;
    }
  }
  const iterator = lines();
  return { child, next: async () => (await iterator.next()).value as WorkerMessage | undefined, stderr };
}

export class BullmqSide {
  private sent = 0;

  private constructor(
    private readonly opts: BullmqSideOptions,
    private readonly queue: Queue,
    private readonly worker: ReturnType<typeof spawnWorker>,
  ) {}

  static async start(opts: BullmqSideOptions): Promise<BullmqSide> {
    const name = `bench-${randomBytes(3).toString('hex')}`;
    const url = new URL(opts.redisUrl);
    const queue = new Queue(name, {
      connection: { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null },
      defaultJobOptions: { removeOnComplete: opts.removeOnComplete },
    });
    await queue.waitUntilReady();
    const worker = spawnWorker({
      BENCH_REDIS_URL: opts.redisUrl,
      BENCH_QUEUE: name,
      BENCH_CONCURRENCY: String(opts.concurrency),
      BENCH_WORK_MS: String(opts.workMs),
    });
    const side = new BullmqSide(opts, queue, worker);
    const first = await worker.next();
    if (!first?.ready) {
      await side.stop();
      throw new Error(`the BullMQ worker did not start: ${worker.stderr.join('').trim()}`);
    }
    return side;
  }

  private async feed(count: number): Promise<void> {
    for (let i = 0; i < count; i += ADD_CHUNK) {
      const jobs = [];
      for (let n = i; n < Math.min(count, i + ADD_CHUNK); n++) jobs.push({ name: 'm', data: { seq: this.sent + n + 1 } });
      await this.queue.addBulk(jobs);
    }
    this.sent += count;
  }

  /** Waits for the worker's report that the phase's jobs completed, or undefined past the timeout. */
  private async done(workload: Workload, label: string): Promise<WorkerMessage | undefined> {
    const progress = this.opts.out.progress(workload.count, label);
    const timer = setTimeout(() => this.worker.child.kill('SIGKILL'), workload.timeoutMs);
    try {
      for (let m = await this.worker.next(); m; m = await this.worker.next()) {
        if (m.progress !== undefined) progress.update(m.progress);
        if (m.done) return m;
      }
      return undefined;
    } finally {
      clearTimeout(timer);
      progress.stop();
    }
  }

  async phase(mode: BenchMode, phase: BenchPhase, run: number, workload: Workload): Promise<PhaseMeasure> {
    const from = this.sent;
    this.worker.child.stdin!.write(`${JSON.stringify({ expect: workload.count })}\n`);
    let clockStart: number | undefined;
    if (mode === 'prefilled') {
      await this.queue.pause();
      await this.feed(workload.count);
    }
    const meter = await CpuMeter.start(this.opts.nodes, { worker: this.worker.child.pid });
    if (mode === 'prefilled') await this.queue.resume();
    else {
      clockStart = Date.now();
      await this.feed(workload.count);
    }
    const done = await this.done(workload, `bullmq ${mode} ${phase}`);
    const cpu = await meter.stop(workload.count, mode === 'e2e');
    if (!done)
      this.opts.out.line(
        `  bullmq ${mode} ${phase}: the worker stopped before completing every job: ${this.worker.stderr.join('').trim()}`,
      );
    const seqs = done?.seqs ?? [];
    const { wallMs, completions } = timing(done?.started ?? [], done?.finished ?? [], clockStart);
    const unique = new Set(seqs);
    return {
      system: 'bullmq',
      mode,
      phase,
      run,
      count: workload.count,
      completed: seqs.length,
      wallMs,
      throughput: round((seqs.length / wallMs) * 1000),
      order: countInversions(seqs),
      complete: seqs.length === workload.count && unique.size === workload.count && seqs.every((s) => s > from && s <= this.sent),
      cpuUsPerMessage: cpu.perMessage,
      msgsPerCpuSecond: cpu.msgsPerCpuSecond,
      machineBusyCores: cpu.machineBusyCores,
      commands: commandsPerMessage(cpu.stats, workload.count),
      completions,
    };
  }

  async stop(): Promise<void> {
    const child = this.worker.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      child.kill('SIGKILL');
    }
    await this.queue.obliterate({ force: true }).catch(() => {});
    await this.queue.close();
  }
}
