import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  Partition, Processor, Sequencer, connect, enqueue, silentLogger, simulatedHandler,
  type Handler, type NewMessage, type ProcessorParts, type ProcessorSettings, type SequencerParts, type SequencerSettings, type RedisClient,
} from '@inorder/shared';
/** Where the pipeline's connections go: a RedisServer, a RedisCluster, or any Redis URL. */
export interface RedisTarget {
  readonly url: string;
}
import { waitFor } from './wait-for.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

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

  constructor(readonly server: RedisTarget, options: { name?: string; ordering?: 'strict' | 'none'; partition?: number } = {}) {
    this.name = options.name ?? uniquePipeline();
    this.redis = this.connection();
    this.partition = new Partition(this.redis, this.name, options.partition ?? 0, { ordering: options.ordering ?? 'strict' });
  }

  connection(): RedisClient {
    const redis = connect(this.server.url);
    this.connections.push(redis);
    return redis;
  }

  /** A processor of its own (two connections) serving this pipeline's partition. */
  async processor(
    handler: Handler = simulatedHandler({ workMs: 5, failRate: 0 }), settings: Partial<ProcessorSettings> = {}, parts: Partial<ProcessorParts> = {},
  ): Promise<Processor> {
    const redis = this.connection();
    const processor = new Processor({
      redis, subscriber: this.connection(), handler, settings: { ...fastProcessor, ...settings }, logger: silentLogger(),
      owner: `p${this.processors.length}-${randomBytes(2).toString('hex')}`, ...parts,
    });
    this.processors.push(processor);
    await processor.serve(new Partition(redis, this.name, this.partition.partition, this.partition.options));
    await processor.start();
    return processor;
  }

  /** A sequencer of its own (two connections) competing for this pipeline's partition. */
  async sequencer(settings: Partial<SequencerSettings> = {}, parts: Partial<SequencerParts> = {}): Promise<Sequencer> {
    const redis = this.connection();
    const sequencer = new Sequencer({
      redis, subscriber: this.connection(), settings: { ...fastSequencer, ...settings }, logger: silentLogger(),
      owner: `s${this.sequencers.length}-${randomBytes(2).toString('hex')}`, ...parts,
    });
    this.sequencers.push(sequencer);
    await sequencer.serve(new Partition(redis, this.name, this.partition.partition, this.partition.options));
    await sequencer.start();
    return sequencer;
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

/** Checks an output list: strictly increasing seqs with nothing missing from `expected`. */
export function checkOrder(seqs: number[], expected: number[]): { missing: number[]; duplicates: number[]; inversions: number } {
  const seen = new Set<number>();
  const duplicates: number[] = [];
  let inversions = 0;
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i]!;
    if (seen.has(seq)) duplicates.push(seq);
    seen.add(seq);
    if (i > 0 && seq <= seqs[i - 1]!) inversions++;
  }
  return { missing: expected.filter((s) => !seen.has(s)), duplicates, inversions };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A service (processor or sequencer) run as a child process, to be killed, paused, resumed. */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly logs: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(service: 'processor' | 'sequencer' | 'ingest', env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@inorder/source', `services/${service}/src/main.ts`], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Whole lines only: a chunk may end in the middle of one.
    const collector = (): ((chunk: Buffer) => void) => {
      let partial = '';
      return (chunk) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line) this.logs.push(line);
      };
    };
    this.child.stdout!.on('data', collector());
    this.child.stderr!.on('data', collector());
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  logged(text: string): boolean {
    return this.logs.some((l) => l.includes(text));
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  async kill(): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.exited;
  }
}
