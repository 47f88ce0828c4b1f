/**
 * What the sides of the unordered peers (BullMQ, bee-queue) share: a worker in a child process
 * that reports on stdout what it completed (bench-peer-child.ts), and one phase run through it.
 *
 * A phase: the worker is told how many jobs end it and held (pre-filled: the queue fills first),
 * the CPU meter starts, the worker is let go (end to end: the feed starts with the clock), and the
 * worker's report of every completed job, with the times it recorded, gives the figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from '@inorder/shared';
import type { Output } from '@inorder/tools';
import { ROOT } from '@inorder/testkit';
import { countInversions, round } from './bench-metrics.js';
import { CpuMeter, commandsPerMessage, timing } from './bench-run.js';
import type { BenchMode, BenchPhase, PeerSystem, PhaseMeasure, Workload } from './bench-run.js';
import { RUNNING_FROM_SOURCE } from './stack.js';

/** Jobs per addBulk / saveAll call: about the chunk inorder's enqueue writes per call. */
export const ADD_CHUNK = 2000;

export interface PeerSideOptions {
  nodes: RedisClient[];
  redisUrl: string;
  out: Output;
  concurrency: number;
  workMs: number;
}

export interface WorkerMessage {
  ready?: boolean;
  progress?: number;
  done?: boolean;
  seqs?: number[];
  started?: number[];
  finished?: number[];
}

/** A peer's worker program (bench-<name>.ts next to this file) as a child process. */
export class PeerWorker {
  readonly stderr: string[] = [];
  private readonly messages: AsyncGenerator<WorkerMessage>;

  private constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    const stdout = child.stdout!;
    this.messages = (async function* lines(): AsyncGenerator<WorkerMessage> {
      let partial = '';
      for await (const chunk of stdout) {
        const parts = (partial + (chunk as Buffer).toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) if (line.trim()) yield JSON.parse(line) as WorkerMessage;
      }
    })();
  }

  /** Starts the program and waits for its first {"ready":true}. */
  static async start(program: string, env: Record<string, string>): Promise<PeerWorker> {
    const file = fileURLToPath(new URL(`${program}.${RUNNING_FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));
    const args = RUNNING_FROM_SOURCE ? ['--import', 'tsx', file] : [file];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const worker = new PeerWorker(child);
    await worker.ready(program);
    return worker;
  }

  async next(): Promise<WorkerMessage | undefined> {
    return (await this.messages.next()).value as WorkerMessage | undefined;
  }

  send(message: unknown): void {
    this.child.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  /** Waits for {"ready":true}, passing over progress reports; throws if the worker ends first. */
  async ready(what: string): Promise<void> {
    for (let m = await this.next(); m; m = await this.next()) if (m.ready) return;
    await this.stop();
    throw new Error(`${what} did not start: ${this.stderr.join('').trim()}`);
  }

  /** Waits for the worker's report that the phase's jobs completed, or undefined past the timeout. */
  async done(out: Output, workload: Workload, label: string): Promise<WorkerMessage | undefined> {
    const progress = out.progress(workload.count, label);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), workload.timeoutMs);
    try {
      for (let m = await this.next(); m; m = await this.next()) {
        if (m.progress !== undefined) progress.update(m.progress);
        if (m.done) return m;
      }
      return undefined;
    } finally {
      clearTimeout(timer);
      progress.stop();
    }
  }

  /** Closes its stdin (the worker closes and exits), then kills it if it is still there after 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    child.kill('SIGKILL');
  }
}

/** How a peer's side holds, lets go and feeds its worker. */
export interface PeerHooks {
  /** tells the worker how many jobs end the phase; pre-filled: keeps it from taking any */
  hold(mode: BenchMode, count: number): Promise<void>;
  /** lets the worker take jobs */
  release(mode: BenchMode): Promise<void>;
  /** adds `count` jobs with seqs from `from` + 1 */
  feed(from: number, count: number): Promise<void>;
}

export interface PeerPhase {
  system: PeerSystem;
  mode: BenchMode;
  phase: BenchPhase;
  run: number;
  workload: Workload;
  /** the seqs of earlier phases end here */
  from: number;
}

/** A peer's side: its producer (this process) and its worker, over the phases of one lifetime. */
export class PeerSide {
  private sent = 0;

  constructor(
    private readonly system: PeerSystem,
    private readonly opts: PeerSideOptions,
    private readonly worker: PeerWorker,
    private readonly hooks: PeerHooks,
    /** ends the producer: deletes the queue's keys, closes its connections */
    private readonly closeProducer: () => Promise<void>,
  ) {}

  /** Starts the peer's worker program on queue `name`; ends the producer if the worker does not start. */
  static async worker(program: string, name: string, opts: PeerSideOptions, closeProducer: () => Promise<void>): Promise<PeerWorker> {
    const env = {
      BENCH_REDIS_URL: opts.redisUrl,
      BENCH_QUEUE: name,
      BENCH_CONCURRENCY: String(opts.concurrency),
      BENCH_WORK_MS: String(opts.workMs),
    };
    return PeerWorker.start(program, env).catch(async (error: unknown) => {
      await closeProducer();
      throw error;
    });
  }

  async phase(mode: BenchMode, phase: BenchPhase, run: number, workload: Workload): Promise<PhaseMeasure> {
    const from = this.sent;
    this.sent += workload.count;
    return peerPhase(this.opts, this.worker, this.hooks, { system: this.system, mode, phase, run, workload, from });
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    await this.closeProducer();
  }
}

/** Runs one phase through a peer's worker and measures it. */
async function peerPhase(opts: PeerSideOptions, worker: PeerWorker, hooks: PeerHooks, p: PeerPhase): Promise<PhaseMeasure> {
  const { mode, workload, from } = p;
  const to = from + workload.count;
  await hooks.hold(mode, workload.count);
  if (mode === 'prefilled') await hooks.feed(from, workload.count);
  const meter = await CpuMeter.start(opts.nodes, { worker: worker.child.pid });
  await hooks.release(mode);
  let clockStart: number | undefined;
  if (mode === 'e2e') {
    clockStart = Date.now();
    await hooks.feed(from, workload.count);
  }
  const label = `${p.system} ${mode} ${p.phase}`;
  const done = await worker.done(opts.out, workload, label);
  const cpu = await meter.stop(workload.count, mode === 'e2e');
  if (!done) opts.out.line(`  ${label}: the worker stopped before completing every job: ${worker.stderr.join('').trim()}`);
  const seqs = done?.seqs ?? [];
  const { wallMs, completions } = timing(done?.started ?? [], done?.finished ?? [], clockStart);
  return {
    system: p.system,
    mode,
    phase: p.phase,
    run: p.run,
    count: workload.count,
    completed: seqs.length,
    wallMs,
    throughput: round((seqs.length / wallMs) * 1000),
    order: countInversions(seqs),
    complete: seqs.length === workload.count && new Set(seqs).size === workload.count && seqs.every((s) => s > from && s <= to),
    cpuUsPerMessage: cpu.perMessage,
    msgsPerCpuSecond: cpu.msgsPerCpuSecond,
    machineBusyCores: cpu.machineBusyCores,
    commands: commandsPerMessage(cpu.stats, workload.count),
    completions,
  };
}
