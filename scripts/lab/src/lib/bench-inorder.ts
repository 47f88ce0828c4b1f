/**
 * inorder's side of the benchmark: one processor and one sequencer (by default) run as child
 * processes exactly as deployed, fed by this process through enqueue(). The same processes run
 * every phase of one lifetime (cold, then warm), the seqs of each partition carrying on.
 *
 * Pre-filled: the processor is stopped (SIGSTOP) while the input fills, and resumed (SIGCONT) to
 * start the clock's phase; it holds no claim while stopped, so nothing waits on it. Times come
 * from the output entries themselves: the first `processingAt` (pre-filled) or the first enqueue
 * (end-to-end), to the last `sequencedAt`.
 */
import { randomBytes } from 'node:crypto';
import { enqueue, keysFor, registerPipeline, type NewMessage, type RedisClient } from '@inorder/shared';
import type { Output } from '@inorder/tools';
import { countInversions, round } from './bench-metrics.js';
import {
  CpuMeter,
  commandsPerMessage,
  timing,
  waitForCount,
  type BenchMode,
  type BenchPhase,
  type BenchSystem,
  type PhaseMeasure,
  type Workload,
} from './bench-run.js';
import { startServices, type ServiceGroup } from './stack.js';

/** Messages per enqueue call: partitions are fed in turns of this many. */
const FEED_CHUNK = 1900;
/** Output entries per LRANGE when reading a phase back. */
const READ_CHUNK = 10_000;

export interface InorderSideOptions {
  redis: RedisClient;
  /** every Redis node, for INFO (one on a single server) */
  nodes: RedisClient[];
  redisUrl: string;
  out: Output;
  system: BenchSystem;
  /** partitions of the pipeline (default 1); the services serve all of them */
  partitions?: number;
  processors?: number;
  /** service settings (LOG_LEVEL, CONCURRENCY, BATCH_SIZE, WORK_MS ...) */
  env: Record<string, string>;
  /** node options for the services (--cpu-prof ...) */
  nodeArgs?: string[];
}

interface Slice {
  seqs: number[];
  started: number[];
  finished: number[];
}

/** How many connections of this name the nodes have. */
async function wakeConnections(nodes: RedisClient[], name: string): Promise<number> {
  const lists = await Promise.all(nodes.map((n) => n.client('LIST') as Promise<string>));
  return lists
    .join('\n')
    .split('\n')
    .filter((line) => line.includes(` name=${name} `)).length;
}

/** A phase's figures from its output slices (one per partition, each checked for order on its own) and its CPU reading. */
function phaseMeasure(
  head: Pick<PhaseMeasure, 'system' | 'mode' | 'phase' | 'run' | 'count'>,
  slices: Slice[],
  complete: boolean,
  cpu: Awaited<ReturnType<CpuMeter['stop']>>,
  clockStart: number | undefined,
): PhaseMeasure {
  const all = slices.flatMap((s) => s.seqs);
  const { wallMs, completions } = timing(
    slices.flatMap((s) => s.started),
    slices.flatMap((s) => s.finished),
    clockStart,
  );
  return {
    ...head,
    completed: all.length,
    wallMs,
    throughput: round((all.length / wallMs) * 1000),
    // Order is per partition: each partition's slice is checked on its own.
    order: slices
      .map((s) => countInversions(s.seqs))
      .reduce((a, b) => ({
        inversions: a.inversions + b.inversions,
        descents: a.descents + b.descents,
        keptOrder: a.keptOrder && b.keptOrder,
      })),
    complete,
    cpuUsPerMessage: cpu.perMessage,
    msgsPerCpuSecond: cpu.msgsPerCpuSecond,
    machineBusyCores: cpu.machineBusyCores,
    commands: commandsPerMessage(cpu.stats, head.count),
    completions,
  };
}

export class InorderSide {
  /** per partition: seqs enqueued so far */
  private readonly sent: number[];

  private constructor(
    private readonly opts: InorderSideOptions,
    private readonly pipeline: string,
    private readonly services: ServiceGroup,
  ) {
    this.sent = new Array<number>(opts.partitions ?? 1).fill(0);
  }

  static async start(opts: InorderSideOptions): Promise<InorderSide> {
    const pipeline = `bench-${randomBytes(3).toString('hex')}`;
    const partitions = opts.partitions ?? 1;
    await registerPipeline(opts.redis, pipeline, { ordering: 'strict', partitions });
    // Below info, the services do not log that they started: their wake-up connections say so.
    const logsStart = !['error', 'warn', 'silent'].includes(opts.env.LOG_LEVEL ?? 'info');
    const services = await startServices({
      redisUrl: opts.redisUrl,
      pipeline,
      processors: opts.processors ?? 1,
      sequencers: 1,
      partition: 'all',
      env: opts.env,
      nodeArgs: opts.nodeArgs,
      waitReady: logsStart,
    });
    const side = new InorderSide(opts, pipeline, services);
    const quiet = { update() {}, setTotal() {}, stop() {} };
    if (!logsStart)
      await waitForCount(() => wakeConnections(opts.nodes, 'inorder-processor-wake'), opts.processors ?? 1, 30_000, quiet, 50);
    // The sequencer leads before any clock starts, as in a running deployment.
    await waitForCount(() => side.leaders(), partitions, 30_000, quiet, 50);
    return side;
  }

  private keys(partition: number) {
    return keysFor(this.pipeline, partition);
  }

  private async leaders(): Promise<number> {
    const held = await Promise.all(this.sent.map((_, p) => this.opts.redis.exists(this.keys(p).leader)));
    return held.reduce((a, b) => a + b, 0);
  }

  private async emitted(): Promise<number> {
    const lengths = await Promise.all(this.sent.map((_, p) => this.opts.redis.llen(this.keys(p).output)));
    return lengths.reduce((a, b) => a + b, 0);
  }

  /** Enqueues `count` messages over the partitions, a chunk per partition in turn. */
  private async feed(count: number): Promise<void> {
    const partitions = this.sent.length;
    const per = this.sent.map((_, p) => Math.floor(count / partitions) + (p < count % partitions ? 1 : 0));
    const left = [...per];
    while (left.some((n) => n > 0)) {
      for (let p = 0; p < partitions; p++) {
        const n = Math.min(FEED_CHUNK, left[p]!);
        if (n === 0) continue;
        const from = this.sent[p]! + 1;
        const messages: NewMessage[] = Array.from({ length: n }, (_, i) => ({ seq: from + i, payload: { n: from + i } }));
        await enqueue(this.opts.redis, { pipeline: this.pipeline, partition: p }, messages);
        this.sent[p]! += n;
        left[p]! -= n;
      }
    }
  }

  /** The processes the CPU meter reads: each processor (numbered when there are several) and the sequencer. */
  private pids(): Record<string, number | undefined> {
    const processors = this.services.processors;
    return {
      ...Object.fromEntries(processors.map((p, i) => [processors.length > 1 ? `processor${i + 1}` : 'processor', p.pid])),
      sequencer: this.services.sequencers[0]?.pid,
    };
  }

  /**
   * Starts a phase's meter and feeds it `count` messages: pre-filled, the input fills with the
   * processors stopped and they resume once the meter runs; end to end, the clock starts at the
   * first enqueue (`clockStart`), after the meter.
   */
  private async begin(mode: BenchMode, count: number): Promise<{ meter: CpuMeter; clockStart: number | undefined }> {
    const processors = this.services.processors;
    const pids = this.pids();
    let clockStart: number | undefined;
    if (mode === 'prefilled') {
      for (const p of processors) p.kill('SIGSTOP');
      await this.feed(count);
    }
    const meter = await CpuMeter.start(this.opts.nodes, pids);
    if (mode === 'prefilled') for (const p of processors) p.kill('SIGCONT');
    else {
      clockStart = Date.now();
      await this.feed(count);
    }
    return { meter, clockStart };
  }

  /**
   * Reads a phase back, each partition from its position `before` it: the slices, and whether every
   * partition emitted exactly its seqs, in order, with nothing dead-lettered.
   */
  private async readBack(before: number[]): Promise<{ slices: Slice[]; whole: boolean }> {
    const slices = await Promise.all(before.map((from, p) => this.read(p, from, this.sent[p]! - from)));
    const exact = slices.every(
      (s, p) => s.seqs.every((seq, i) => seq === before[p]! + 1 + i) && s.seqs.length === this.sent[p]! - before[p]!,
    );
    const dead = await Promise.all(before.map((_, p) => this.opts.redis.llen(this.keys(p).dead)));
    return { slices, whole: exact && dead.every((n) => n === 0) };
  }

  /** One phase: `workload.count` messages, pre-filled or end to end, measured. */
  async phase(mode: BenchMode, phase: BenchPhase, run: number, workload: Workload): Promise<PhaseMeasure> {
    const { out, system } = this.opts;
    const before = [...this.sent];
    const base = await this.emitted();
    const { meter, clockStart } = await this.begin(mode, workload.count);
    const progress = out.progress(workload.count, `${system} ${mode} ${phase}`);
    const reached = await waitForCount(async () => (await this.emitted()) - base, workload.count, workload.timeoutMs, progress);
    const cpu = await meter.stop(workload.count, mode === 'e2e');
    progress.stop();
    const { slices, whole } = await this.readBack(before);
    if (reached < workload.count)
      out.line(`  ${system} ${mode} ${phase}: only ${reached} of ${workload.count} emitted within ${workload.timeoutMs} ms`);
    const head = { system, mode, phase, run, count: workload.count };
    return phaseMeasure(head, slices, reached >= workload.count && whole, cpu, clockStart);
  }

  /** A partition's output entries from position `from`, `count` of them: seqs and their times. */
  private async read(partition: number, from: number, count: number): Promise<Slice> {
    const slice: Slice = { seqs: [], started: [], finished: [] };
    const key = this.keys(partition).output;
    for (let at = from; at < from + count; at += READ_CHUNK) {
      const raw = await this.opts.redis.lrange(key, at, Math.min(at + READ_CHUNK, from + count) - 1);
      for (const line of raw) {
        const entry = JSON.parse(line) as { seq: number; processingAt?: number; sequencedAt?: number };
        slice.seqs.push(entry.seq);
        slice.started.push(entry.processingAt ?? 0);
        slice.finished.push(entry.sequencedAt ?? 0);
      }
    }
    return slice;
  }

  /** Stops the services (SIGTERM: profiles are written on a clean exit) and deletes the keys. */
  async stop(): Promise<void> {
    for (const p of this.services.processors) p.kill('SIGCONT');
    await this.services.stop(10_000);
    for (let p = 0; p < this.sent.length; p++) await this.opts.redis.del(...(Object.values(this.keys(p)) as string[]));
  }
}
