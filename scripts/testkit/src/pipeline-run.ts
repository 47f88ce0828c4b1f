import {
  PartitionDiscovery,
  Processor,
  Sequencer,
  connect,
  keysFor,
  registerPipeline,
  silentLogger,
  type Handler,
  type Logger,
  type ProcessorSettings,
  type RedisClient,
  type ReplicaAcks,
  type SequencerSettings,
} from '@inorder/shared';
import { checkOrder, range } from './order.js';
import { fastProcessor, fastSequencer, uniquePipeline, type RedisTarget } from './pipeline.js';
import { SteadyLoad, type SteadyLoadOptions } from './steady-load.js';
import { waitFor } from './wait-for.js';

export interface PipelineRunOptions {
  partitions: number;
  /** processor and sequencer processes (in this process, each on its own two connections; default 2 each) */
  processors?: number;
  sequencers?: number;
  processor?: Partial<ProcessorSettings>;
  /** the default skips a seq nothing knows after 1 s (what Redis lost), so that a loss never stalls the run */
  sequencer?: Partial<SequencerSettings>;
  load?: SteadyLoadOptions;
  /** the pipeline's name (default: a fresh one) */
  name?: string;
  logger?: Logger;
  /** REPLICA_ACKS on the producer's and the services' command connections */
  replicaAcks?: ReplicaAcks;
}

/** What became of one partition's acknowledged messages. */
export interface PartitionAccount {
  partition: number;
  /** highest seq enqueue() acknowledged: seqs 1..acknowledged were sent */
  acknowledged: number;
  output: number;
  /** seqs in the skipped ranges: what Redis lost and the sequencer skipped after the gap timeout */
  skipped: number[];
  /** meta "lost" and "skipped": the sequencer's own count of them */
  metaLost: number;
  metaSkipped: number;
  /** meta "duplicates": copies of a seq dropped by the claim (a resent enqueue that had landed) */
  duplicatesDropped: number;
  dead: number;
  /** seqs acknowledged and found nowhere; output seqs twice; output seqs out of order */
  missing: number[];
  outputDuplicates: number[];
  inversions: number;
  /** seqs whose handler ran more than once (at-least-once execution) */
  reruns: number;
}

/**
 * A pipeline of `partitions` partitions run through a Redis (or a Redis Cluster) under a steady
 * producer load: processors and sequencers serving every partition, and the producer. For fault
 * tests: inject a fault, then `progressed()` says when every partition emits again, and
 * `account()` what became of every acknowledged message.
 */
export class PipelineRun {
  readonly name: string;
  readonly load: SteadyLoad;
  /** handler calls per "partition:seq" */
  readonly calls = new Map<string, number>();
  private readonly connections: RedisClient[] = [];
  private readonly services: Array<Processor | Sequencer> = [];
  private readonly discoveries: PartitionDiscovery[] = [];
  readonly redis: RedisClient;

  private constructor(
    readonly target: RedisTarget,
    readonly options: PipelineRunOptions,
  ) {
    this.name = options.name ?? uniquePipeline('run');
    this.redis = this.connection();
    this.load = new SteadyLoad(this.connection(options.replicaAcks), this.name, options.partitions, options.load);
  }

  static async start(target: RedisTarget, options: PipelineRunOptions): Promise<PipelineRun> {
    const run = new PipelineRun(target, options);
    await registerPipeline(run.redis, run.name, { ordering: 'strict', partitions: options.partitions });
    for (let i = 0; i < (options.processors ?? 2); i++) await run.serve('processor');
    for (let i = 0; i < (options.sequencers ?? 2); i++) await run.serve('sequencer');
    run.load.start();
    return run;
  }

  connection(replicaAcks?: ReplicaAcks): RedisClient {
    const redis = connect(this.target.url, { replicaAcks });
    this.connections.push(redis);
    return redis;
  }

  private handler(): Handler {
    return async (payload, { seq }) => {
      const key = `${(payload as { partition: number }).partition}:${seq}`;
      this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, (seq * 7919) % 5));
      return { seq };
    };
  }

  private processor(redis: RedisClient): Processor {
    return new Processor({
      redis,
      subscriber: this.connection(),
      handler: this.handler(),
      settings: { ...fastProcessor, ...this.options.processor },
      logger: this.options.logger ?? silentLogger(),
      owner: `p${this.services.length}`,
    });
  }

  private sequencer(redis: RedisClient): Sequencer {
    return new Sequencer({
      redis,
      subscriber: this.connection(),
      settings: { ...fastSequencer, gapTimeoutMs: 1000, ...this.options.sequencer },
      logger: this.options.logger ?? silentLogger(),
      owner: `s${this.services.length}`,
    });
  }

  /** Starts a service on a command connection of its own, which its partitions use too. */
  private async serve(kind: 'processor' | 'sequencer'): Promise<void> {
    const redis = this.connection(this.options.replicaAcks);
    const service = kind === 'processor' ? this.processor(redis) : this.sequencer(redis);
    const discovery = new PartitionDiscovery({
      redis,
      pipeline: this.name,
      partitions: 'all',
      prefix: 'inorder',
      seqStart: 1,
      ordering: 'strict',
      strictOnly: kind === 'sequencer',
      server: service,
      logger: silentLogger(),
      everyMs: 1000,
    });
    await discovery.start();
    await service.start();
    this.services.push(service);
    this.discoveries.push(discovery);
  }

  /** Each partition's meta "next": every seq below it was emitted or skipped. */
  async nexts(): Promise<number[]> {
    const out: number[] = [];
    for (let p = 0; p < this.options.partitions; p++) out.push(Number((await this.redis.hget(keysFor(this.name, p).meta, 'next')) ?? 1));
    return out;
  }

  /** Seqs skipped so far over every partition (meta "skipped": gaps and what Redis lost). */
  async skippedCount(): Promise<number> {
    let n = 0;
    for (let p = 0; p < this.options.partitions; p++) n += Number((await this.redis.hget(keysFor(this.name, p).meta, 'skipped')) ?? 0);
    return n;
  }

  /** Waits until every partition has emitted (or skipped) past `marks[p]`; resolves with the ms it took. */
  async progressed(marks: number[], timeoutMs: number): Promise<number> {
    const startedAt = Date.now();
    await waitFor(async () => (await this.nexts()).every((next, p) => next > marks[p]!), {
      timeoutMs,
      message: `the partitions did not all move past ${marks.join(',')}`,
    });
    return Date.now() - startedAt;
  }

  /** Stops the producer and waits until everything it had acknowledged is emitted or skipped. */
  async drain(timeoutMs: number): Promise<void> {
    await this.load.stop();
    await this.progressed(this.load.acknowledged, timeoutMs);
  }

  async account(): Promise<PartitionAccount[]> {
    const out: PartitionAccount[] = [];
    for (let p = 0; p < this.options.partitions; p++) out.push(await this.accountFor(p));
    return out;
  }

  private async accountFor(partition: number): Promise<PartitionAccount> {
    const k = keysFor(this.name, partition);
    const acknowledged = this.load.acknowledged[partition]!;
    const output = (await this.redis.lrange(k.output, 0, -1)).map((raw) => (JSON.parse(raw) as { seq: number }).seq);
    const skipped = (await this.redis.zrange(k.skipped, 0, -1)).flatMap((member) => {
      const [from, to] = member.split('-').map(Number);
      return range(from!, to!);
    });
    const deadSeqs = (await this.redis.lrange(k.dead, 0, -1))
      .map((raw) => (JSON.parse(raw) as { seq?: number }).seq)
      .filter((s): s is number => s !== undefined);
    const meta = await this.redis.hgetall(k.meta);
    const order = checkOrder(output, []);
    const all = checkOrder(
      [...output, ...skipped, ...deadSeqs].sort((a, b) => a - b),
      range(1, acknowledged),
    );
    let reruns = 0;
    for (const [key, n] of this.calls) if (n > 1 && key.startsWith(`${partition}:`)) reruns++;
    return {
      partition,
      acknowledged,
      output: output.length,
      skipped,
      metaLost: Number(meta.lost ?? 0),
      metaSkipped: Number(meta.skipped ?? 0),
      duplicatesDropped: Number(meta.duplicates ?? 0),
      dead: deadSeqs.length,
      missing: all.missing,
      outputDuplicates: order.duplicates,
      inversions: order.inversions,
      reruns,
    };
  }

  async close(): Promise<void> {
    await this.load.stop();
    for (const discovery of this.discoveries) await discovery.stop();
    await Promise.all(this.services.map((s) => s.stop()));
    for (const c of this.connections) c.disconnect();
  }
}
