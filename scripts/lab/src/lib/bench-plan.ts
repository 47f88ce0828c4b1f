/**
 * The order of a bench: `runs` repetitions; in each, every mode (pre-filled, end-to-end), and in
 * each mode every system in fresh processes, a cold phase then a warm one. The systems take turns
 * going first from one run to the next (a rotation), so none always meets a cooler machine. inorder with
 * LOG_LEVEL=error runs the pre-filled mode too, to price logging at info.
 */
import type { RedisClient } from '@inorder/shared';
import type { Output } from '@inorder/tools';
import { startBeeQueue } from './bench-beequeue.js';
import { startBullmq } from './bench-bullmq.js';
import { InorderSide } from './bench-inorder.js';
import { isPeer, type BenchMode, type BenchSystem, type PeerSystem, type PhaseMeasure, type Workload } from './bench-run.js';
import { ScriptTimer, type ScriptTimes } from './bench-scripts.js';

export interface BenchPlan {
  runs: number;
  workload: Workload;
  modes: BenchMode[];
  /** inorder settings (CONCURRENCY, BATCH_SIZE ...) beyond the services' defaults */
  inorderEnv: Record<string, string>;
  /** LOG_LEVEL of the inorder services in the main runs (default info) */
  logLevel: string;
  /** also run inorder at LOG_LEVEL=error (pre-filled) to price logging */
  logCost: boolean;
  /** the unordered peers to run, none for inorder alone */
  peers: PeerSystem[];
  bullmq: { concurrency: number; removeOnComplete: boolean };
  beeQueue: { concurrency: number };
  /** time each Lua script through SLOWLOG (adds Redis CPU: figures under --profile are for reading, not for the targets) */
  scriptTimes: boolean;
}

export interface BenchContext {
  redis: RedisClient;
  nodes: RedisClient[];
  redisUrl: string;
  out: Output;
  /** node options for the inorder services of the main runs (--cpu-prof) */
  nodeArgs?: string[] | undefined;
}

export interface BenchRuns {
  phases: PhaseMeasure[];
  /** per-script Redis time, per warm pre-filled phase of inorder, under --profile */
  scripts: ScriptTimes[];
}

interface Side {
  phase: InorderSide['phase'];
  stop(): Promise<void>;
}

async function startSide(system: BenchSystem, plan: BenchPlan, ctx: BenchContext): Promise<Side> {
  const peer = { nodes: ctx.nodes, redisUrl: ctx.redisUrl, out: ctx.out, workMs: plan.workload.workMs };
  if (system === 'bullmq') return startBullmq({ ...peer, ...plan.bullmq });
  if (system === 'bee-queue') return startBeeQueue({ ...peer, ...plan.beeQueue });
  const quiet = system === 'inorder-quiet';
  const env = { ...plan.inorderEnv, WORK_MS: String(plan.workload.workMs), LOG_LEVEL: quiet ? 'error' : plan.logLevel };
  return InorderSide.start({
    redis: ctx.redis,
    nodes: ctx.nodes,
    redisUrl: ctx.redisUrl,
    out: ctx.out,
    system,
    env,
    nodeArgs: quiet ? undefined : ctx.nodeArgs,
  });
}

function systemsFor(mode: BenchMode, run: number, plan: BenchPlan): BenchSystem[] {
  const all: BenchSystem[] = ['inorder', ...plan.peers];
  const shift = (run - 1) % all.length;
  const order = [...all.slice(shift), ...all.slice(0, shift)];
  if (mode === 'prefilled' && plan.logCost) order.push('inorder-quiet');
  return order;
}

/** Runs the plan; each phase's figures in the order run. */
export async function runBench(plan: BenchPlan, ctx: BenchContext): Promise<BenchRuns> {
  const result: BenchRuns = { phases: [], scripts: [] };
  const timer = plan.scriptTimes ? new ScriptTimer(ctx.nodes) : undefined;
  for (let run = 1; run <= plan.runs; run++) {
    for (const mode of plan.modes) {
      for (const system of systemsFor(mode, run, plan)) {
        const side = await startSide(system, plan, ctx);
        try {
          for (const phase of ['cold', 'warm'] as const) {
            const timed = timer !== undefined && system === 'inorder' && mode === 'prefilled' && phase === 'warm';
            if (timed) await timer.start();
            const measure = await side.phase(mode, phase, run, plan.workload);
            if (timed) result.scripts.push(await timer.stop(plan.workload.count));
            result.phases.push(measure);
            ctx.out.line(
              `  run ${run} ${system} ${mode} ${phase}: ${Math.round(measure.throughput).toLocaleString('en-US')} msg/s, ${measure.cpuUsPerMessage.total ?? '-'} µs CPU/msg${measure.complete && (isPeer(system) || measure.order.keptOrder) ? '' : ' (NOT VERIFIED)'}`,
            );
          }
        } finally {
          await side.stop();
        }
      }
    }
  }
  return result;
}
