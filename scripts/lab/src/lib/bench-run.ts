/**
 * What one benchmark phase is and what it measured, for any system. A phase is one batch of
 * messages through workers already running: pre-filled (the queue is full before the workers may
 * take from it; timed from the first message started to the last finished) or end-to-end (the
 * producer and the workers together; timed from the first enqueue to the last finished). The
 * first phase of fresh processes is cold, the next one warm.
 */
import type { RedisClient } from '@inorder/shared';
import { waitFor } from '@inorder/testkit';
import type { Progress } from '@inorder/tools';
import { performance } from 'node:perf_hooks';
import {
  commandStats,
  machineBusyUs,
  ownCpuUs,
  perMessage,
  processCpuUs,
  redisCpuUs,
  round,
  type CommandStat,
  type OrderCheck,
} from './bench-metrics.js';

export type BenchMode = 'prefilled' | 'e2e';
export type BenchPhase = 'cold' | 'warm';
/** The unordered queues inorder is measured against. */
export const PEERS = ['bullmq', 'bee-queue'] as const;
export type PeerSystem = (typeof PEERS)[number];
/** inorder-quiet: inorder with LOG_LEVEL=error, to price logging at info */
export type BenchSystem = 'inorder' | 'inorder-quiet' | PeerSystem;

export const isPeer = (system: BenchSystem): system is PeerSystem => (PEERS as readonly string[]).includes(system);

export interface Workload {
  count: number;
  workMs: number;
  /** the phase fails when it has not completed within this */
  timeoutMs: number;
}

export interface PhaseMeasure {
  system: BenchSystem;
  mode: BenchMode;
  phase: BenchPhase;
  /** which repetition (1-based) */
  run: number;
  count: number;
  completed: number;
  /** pre-filled: first started to last finished; end-to-end: first enqueue to last finished */
  wallMs: number;
  /** completed / wallMs, in msg/s */
  throughput: number;
  order: OrderCheck;
  /** every message exactly once */
  complete: boolean;
  /** CPU µs per message: redis, each worker process, producer (this process: enqueues and watches), total */
  cpuUsPerMessage: Record<string, number | null>;
  /** messages per CPU-second of Redis and the workers (end-to-end: and the producer) */
  msgsPerCpuSecond: number | null;
  /** cores the whole machine kept busy during the phase, every process counted (others' too) */
  machineBusyCores: number | null;
  /** Redis commands per message (Lua's inner calls included), heaviest first */
  commands: Array<{ command: string; callsPerMessage: number; usPerMessage: number }>;
  /** finish times, ms since the phase's clock started (for the throughput chart) */
  completions: number[];
}

/** The CPU counters of Redis (every node) and of named client processes, read around a phase. */
export class CpuMeter {
  private constructor(
    private readonly nodes: RedisClient[],
    private readonly redisStart: number,
    private readonly pids: Record<string, number | undefined>,
    private readonly procStart: Record<string, number | undefined>,
    private readonly ownStart: number,
    private readonly machineStart = machineBusyUs(),
    private readonly startedAt = performance.now(),
  ) {}

  /** Resets INFO commandstats on every node and reads the counters. */
  static async start(nodes: RedisClient[], pids: Record<string, number | undefined>): Promise<CpuMeter> {
    await Promise.all(nodes.map((n) => n.config('RESETSTAT')));
    const procStart = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuUs(pid)]));
    const redis = await sumRedisCpu(nodes);
    return new CpuMeter(nodes, redis, pids, procStart, ownCpuUs());
  }

  /**
   * CPU µs per message for Redis, each process and the producer, their total, and messages per
   * CPU-second. `withProducer`: the producer's CPU counts in the total (end-to-end).
   */
  async stop(
    messages: number,
    withProducer: boolean,
  ): Promise<{
    perMessage: Record<string, number | null>;
    msgsPerCpuSecond: number | null;
    machineBusyCores: number | null;
    stats: CommandStat[];
  }> {
    const own = ownCpuUs() - this.ownStart;
    const machineEnd = machineBusyUs();
    const machineBusyCores =
      machineEnd === undefined || this.machineStart === undefined
        ? null
        : round((machineEnd - this.machineStart) / ((performance.now() - this.startedAt) * 1000), 2);
    const redis = (await sumRedisCpu(this.nodes)) - this.redisStart;
    const per: Record<string, number | null> = { redis: round(redis / messages, 2) };
    let total = redis + (withProducer ? own : 0);
    let known = true;
    for (const [name, pid] of Object.entries(this.pids)) {
      const start = this.procStart[name];
      const end = processCpuUs(pid);
      if (start === undefined || end === undefined) known = false;
      else total += end - start;
      per[name] = start === undefined || end === undefined ? null : round((end - start) / messages, 2);
    }
    per.producer = round(own / messages, 2);
    per.total = known ? round(total / messages, 2) : null;
    const stats = mergeStats(await Promise.all(this.nodes.map((n) => commandStats(n))));
    return { perMessage: per, msgsPerCpuSecond: known && total > 0 ? Math.round((messages / total) * 1e6) : null, machineBusyCores, stats };
  }
}

async function sumRedisCpu(nodes: RedisClient[]): Promise<number> {
  return (await Promise.all(nodes.map((n) => redisCpuUs(n)))).reduce((a, b) => a + b, 0);
}

function mergeStats(perNode: CommandStat[][]): CommandStat[] {
  const merged = new Map<string, CommandStat>();
  for (const stat of perNode.flat()) {
    const m = merged.get(stat.command) ?? { command: stat.command, calls: 0, usec: 0 };
    m.calls += stat.calls;
    m.usec += stat.usec;
    merged.set(stat.command, m);
  }
  return [...merged.values()].sort((x, y) => y.usec - x.usec);
}

export function commandsPerMessage(stats: CommandStat[], messages: number): PhaseMeasure['commands'] {
  // The meter's own INFO and CONFIG calls, and the bench's SLOWLOG reads, are not the workload's.
  return perMessage(
    stats.filter((s) => !['info', 'config', 'slowlog'].includes(s.command)),
    messages,
  );
}

/**
 * Reads `read` every `everyMs`, updating the progress bar, until it reaches `target` or
 * `timeoutMs` passes; returns the last count read.
 */
export async function waitForCount(
  read: () => Promise<number>,
  target: number,
  timeoutMs: number,
  progress: Progress,
  everyMs = 10,
): Promise<number> {
  let last = 0;
  const reached = async (): Promise<boolean> => {
    last = await read();
    progress.update(Math.min(last, target));
    return last >= target;
  };
  await waitFor(reached, { timeoutMs, intervalMs: everyMs }).catch(() => undefined);
  return last;
}

/** The figures every phase computes the same way from its start and finish times. */
export function timing(started: number[], finished: number[], clockStart: number | undefined): { wallMs: number; completions: number[] } {
  let first = clockStart ?? Infinity;
  if (clockStart === undefined) for (const t of started) if (t > 0 && t < first) first = t;
  let last = 0;
  for (const t of finished) if (t > last) last = t;
  if (!Number.isFinite(first)) first = last;
  return { wallMs: Math.max(1, last - first), completions: finished.map((t) => t - first) };
}
