/**
 * What one benchmark run is and what it measured, for either system. A run starts its workers,
 * then times from the first enqueue to the last completion (inorder: the last result appended to
 * the ordered output; BullMQ: the last job completed), reading Redis CPU before and after.
 */
import type { RedisClient } from '@inorder/shared';
import type { Progress } from './cli.js';
import { commandStats, perMessage, processCpuUs, redisCpuUs, round, type CommandStat, type OrderCheck } from './bench-metrics.js';

export interface Workload {
  name: 'noop' | 'work';
  count: number;
  workMs: number;
  concurrency: number;
  /** the run fails when it has not completed within this */
  timeoutMs: number;
}

export interface RunMeasure {
  system: 'inorder' | 'bullmq';
  workload: Workload['name'];
  count: number;
  completed: number;
  /** first enqueue to last completion */
  wallMs: number;
  /** completed / wallMs, in msg/s */
  throughput: number;
  /** time to enqueue everything (part of wallMs) */
  enqueueMs: number;
  order: OrderCheck;
  /** verified complete: every message exactly once */
  complete: boolean;
  redisCpuUsPerMessage: number;
  /** CPU of the worker processes per message (inorder: processor, sequencer; BullMQ: worker) */
  clientCpuUsPerMessage: Record<string, number | null>;
  /** Redis commands per message (Lua's inner calls included), heaviest first */
  commands: Array<{ command: string; callsPerMessage: number; usPerMessage: number }>;
  /** completion times, ms since the first enqueue (for the throughput chart) */
  completions: number[];
}

/** Snapshot of Redis and worker CPU at the start of the timed part. */
export class CpuMeter {
  private constructor(
    private readonly redis: RedisClient,
    private readonly redisStart: number,
    private readonly pids: Record<string, number | undefined>,
    private readonly procStart: Record<string, number | undefined>,
  ) {}

  /** Resets INFO commandstats and reads the counters. */
  static async start(redis: RedisClient, pids: Record<string, number | undefined>): Promise<CpuMeter> {
    await redis.config('RESETSTAT');
    const procStart = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuUs(pid)]));
    return new CpuMeter(redis, await redisCpuUs(redis), pids, procStart);
  }

  async stop(messages: number): Promise<{ redisCpuUsPerMessage: number; clientCpuUsPerMessage: Record<string, number | null>; stats: CommandStat[] }> {
    const redisEnd = await redisCpuUs(this.redis);
    const client: Record<string, number | null> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const start = this.procStart[name];
      const end = processCpuUs(pid);
      client[name] = start === undefined || end === undefined ? null : round((end - start) / messages, 2);
    }
    const stats = await commandStats(this.redis);
    return { redisCpuUsPerMessage: round((redisEnd - this.redisStart) / messages, 2), clientCpuUsPerMessage: client, stats };
  }
}

export function commandsPerMessage(stats: CommandStat[], messages: number): RunMeasure['commands'] {
  // The meter's own INFO and CONFIG calls are not the workload's.
  return perMessage(stats.filter((s) => s.command !== 'info' && s.command !== 'config'), messages);
}

/** Polls `read` every `everyMs` until it reaches `target`, updating the progress bar; bounded by `timeoutMs`. */
export async function waitForCount(read: () => Promise<number>, target: number, timeoutMs: number, progress: Progress, everyMs = 10): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  for (;;) {
    last = await read();
    progress.update(Math.min(last, target));
    if (last >= target || Date.now() > deadline) return last;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
