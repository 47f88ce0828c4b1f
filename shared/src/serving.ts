import type { Ordering } from './commands.js';
import type { Logger } from './logger.js';
import { Partition } from './partition/partition.js';
import type { RedisClient } from './redis.js';
import { listPipelines, registerPipeline, type PipelineSettings } from './registry.js';
import type { PartitionSpec } from './partition/spec.js';

export function matchesPattern(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(name);
}

/** What serves partitions: a processor (every ordering) or a sequencer (strict only). */
export interface PartitionServer {
  serve(partition: Partition): Promise<void>;
  unserve(tag: string): void | Promise<void>;
  readonly served: string[];
}

export interface DiscoveryParts {
  redis: RedisClient;
  /** a pipeline name, or a pattern with `*` (every registered pipeline that matches) */
  pipeline: string;
  partitions: PartitionSpec;
  prefix: string;
  seqStart: number;
  /** for a named pipeline that is not registered yet: the ordering to register it with */
  ordering: Ordering;
  /** sequencers serve strict pipelines only */
  strictOnly: boolean;
  server: PartitionServer;
  logger: Logger;
  /** how often the registry is read again (new pipelines, grown partition counts) */
  everyMs?: number;
}

/**
 * Keeps a processor or sequencer serving the partitions its settings name: for a named
 * pipeline, registers it when new (first registration wins) and serves the listed partitions or
 * all of its registered count; for a pattern, every matching pipeline in the registry. Reads the
 * registry again every few seconds, so pipelines created later (the event API's) and partition
 * counts grown by `npm run partitions` are served without a restart.
 */
export class PartitionDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly parts: DiscoveryParts) {}

  get isPattern(): boolean {
    return this.parts.pipeline.includes('*');
  }

  async start(): Promise<void> {
    const { pipeline, ordering, partitions, prefix } = this.parts;
    if (!this.isPattern) {
      // `all` serves whatever count the pipeline has; a list needs its highest partition to exist.
      const count = partitions === 'all' ? 1 : Math.max(...partitions) + 1;
      await registerPipeline(this.parts.redis, pipeline, { ordering, partitions: count }, prefix, Date.now(), {
        partitionCheck: partitions === 'all' ? 'any' : 'at-least',
      });
    }
    await this.discover();
    this.timer = setInterval(() => {
      this.running = this.running
        .then(() => this.discover())
        .catch((error: unknown) => {
          this.parts.logger.error('serving partitions failed', { event: 'serve-failed', error: String(error) });
        });
    }, this.parts.everyMs ?? 2000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async discover(): Promise<void> {
    const { redis, prefix, logger, server } = this.parts;
    let registry: Map<string, PipelineSettings>;
    try {
      registry = await listPipelines(redis, prefix);
    } catch (error) {
      logger.warn('reading the pipeline registry failed', { event: 'registry-failed', error: String(error) });
      return;
    }
    const wanted = new Map<string, Partition>();
    for (const [name, settings] of registry) {
      if (!this.matches(name, settings)) continue;
      for (const number of this.numbers(settings)) {
        const partition = new Partition(redis, name, number, { prefix, ordering: settings.ordering, seqStart: this.parts.seqStart });
        wanted.set(partition.tag, partition);
      }
    }
    for (const [tag, partition] of wanted) {
      if (this.stopped) return;
      if (server.served.includes(tag)) continue;
      try {
        await server.serve(partition);
      } catch (error) {
        logger.error('cannot serve a partition', {
          event: 'serve-failed',
          pipeline: partition.pipeline,
          partition: partition.partition,
          error: String(error),
        });
        if (!this.isPattern) throw error;
      }
    }
    for (const tag of server.served) if (!wanted.has(tag)) await server.unserve(tag);
  }

  private matches(name: string, settings: PipelineSettings): boolean {
    if (this.parts.strictOnly && settings.ordering !== 'strict') return false;
    return this.isPattern ? matchesPattern(this.parts.pipeline, name) : name === this.parts.pipeline;
  }

  private numbers(settings: PipelineSettings): readonly number[] {
    const { partitions } = this.parts;
    if (partitions === 'all') return Array.from({ length: settings.partitions }, (_, i) => i);
    return partitions;
  }
}
