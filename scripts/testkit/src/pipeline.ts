import { randomBytes } from 'node:crypto';
import {
  Partition,
  Processor,
  Sequencer,
  connect,
  enqueue,
  silentLogger,
  simulatedHandler,
  type ConnectOptions,
  type Handler,
  type Logger,
  type NewMessage,
  type ProcessorParts,
  type ProcessorSettings,
  type SequencerParts,
  type SequencerSettings,
  type RedisClient,
} from '@inorder/shared';
import { waitFor } from './wait-for.js';

/** Where the pipeline's connections go: a RedisServer, a RedisCluster, or any Redis URL. */
export interface RedisTarget {
  readonly url: string;
}

export const fastProcessor: ProcessorSettings = {
  concurrency: 32,
  batchSize: 64,
  claimLeaseMs: 1000,
  claimRenewMs: 250,
  handlerTimeoutMs: 10_000,
  maxRetries: 3,
  maxAgeMs: -1,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  window: 10_000,
  shutdownGraceMs: 2000,
};

export const fastSequencer: SequencerSettings = {
  leaderLeaseMs: 1000,
  leaderRenewMs: 300,
  leaderRetryMs: 50,
  emitBatch: 1000,
  gapTimeoutMs: 0,
  readBlockMs: 100,
};

/** A fresh pipeline name per test: no flushing, no interference between tests. */
export function uniquePipeline(label = 't'): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export interface OutputEntry {
  seq: number;
  result: unknown;
  attempts: number;
  createdAt: number;
  processingAt: number;
  processedAt: number;
  sequencingAt: number;
  sequencedAt: number;
}

/**
 * Processors and sequencers of one pipeline, run in this process on their own connections;
 * `close()` stops all of them and fails if any was left running.
 */
export class TestPipeline {
  readonly name: string;
  readonly redis: RedisClient;
  readonly partition: Partition;
  readonly processors: Processor[] = [];
  readonly sequencers: Sequencer[] = [];
  private readonly connections: RedisClient[] = [];
  /** options of every connection it opens (REPLICA_ACKS, for one) */
  private readonly connectOptions: ConnectOptions;

  constructor(
    readonly server: RedisTarget,
    options: { name?: string; ordering?: 'strict' | 'none'; partition?: number; connect?: ConnectOptions } = {},
  ) {
    this.connectOptions = options.connect ?? {};
    this.name = options.name ?? uniquePipeline();
    this.redis = this.connection();
    this.partition = new Partition(this.redis, this.name, options.partition ?? 0, { ordering: options.ordering ?? 'strict' });
  }

  connection(): RedisClient {
    const redis = connect(this.server.url, this.connectOptions);
    this.connections.push(redis);
    return redis;
  }

  /** A processor of its own (two connections) serving this pipeline's partition. */
  async processor(
    handler: Handler = simulatedHandler({ workMs: 5, failRate: 0 }),
    settings: Partial<ProcessorSettings> = {},
    parts: Partial<ProcessorParts> = {},
  ): Promise<Processor> {
    return this.serveWith(
      this.processors,
      'p',
      (own) => new Processor({ ...own, handler, settings: { ...fastProcessor, ...settings }, ...parts }),
    );
  }

  /** A sequencer of its own (two connections) competing for this pipeline's partition. */
  async sequencer(settings: Partial<SequencerSettings> = {}, parts: Partial<SequencerParts> = {}): Promise<Sequencer> {
    return this.serveWith(this.sequencers, 's', (own) => new Sequencer({ ...own, settings: { ...fastSequencer, ...settings }, ...parts }));
  }

  /**
   * Makes a service on two connections of its own, silent, with an owner id named after its
   * kind and place in `list` (`p0-…`, `s1-…`), adds it to `list`, has it serve this pipeline's
   * partition and starts it.
   */
  private async serveWith<S extends Processor | Sequencer>(
    list: S[],
    kind: 'p' | 's',
    make: (own: { redis: RedisClient; subscriber: RedisClient; logger: Logger; owner: string }) => S,
  ): Promise<S> {
    const redis = this.connection();
    const service = make({
      redis,
      subscriber: this.connection(),
      logger: silentLogger(),
      owner: `${kind}${list.length}-${randomBytes(2).toString('hex')}`,
    });
    list.push(service);
    await service.serve(new Partition(redis, this.name, this.partition.partition, this.partition.options));
    await service.start();
    return service;
  }

  async enqueue(count: number, from = 1, extra: Partial<NewMessage> = {}): Promise<void> {
    const messages: NewMessage[] = [];
    for (let seq = from; seq < from + count; seq++) messages.push({ payload: { n: seq }, ...extra, seq });
    await enqueue(this.redis, { pipeline: this.name, partition: this.partition.partition }, messages);
  }

  async output(): Promise<OutputEntry[]> {
    const raw = await this.redis.lrange(this.partition.keys.output, 0, -1);
    return raw.map((r) => JSON.parse(r) as OutputEntry);
  }

  async deadLetters(): Promise<Array<Record<string, unknown>>> {
    const raw = await this.redis.lrange(this.partition.keys.dead, 0, -1);
    return raw.map((r) => JSON.parse(r) as Record<string, unknown>);
  }

  /** How many seqs the results stream names (an entry names the seqs of one settle call). */
  async streamSeqs(): Promise<number> {
    const entries = await this.partition.readSettled('0-0', 100_000);
    return entries.reduce((n, e) => n + e.seqs.length, 0);
  }

  /** Waits until output plus dead letters hold `count` entries. */
  async settled(count: number, timeoutMs = 30_000): Promise<void> {
    const k = this.partition.keys;
    await waitFor(async () => (await this.redis.llen(k.output)) + (await this.redis.llen(k.dead)) >= count, {
      timeoutMs,
      message: `output + dead letters did not reach ${count}`,
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.processors.map((p) => p.stop()), ...this.sequencers.map((s) => s.stop())]);
    for (const c of this.connections) c.disconnect();
  }
}
