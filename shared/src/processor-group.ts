import type { RedisClient } from './redis.js';
import type { Handler } from './handler.js';
import type { Logger } from './logger.js';
import { Partition } from './partition.js';
import { Processor, type ProcessorSettings } from './processor.js';
import { listPipelines } from './registry.js';

export interface ProcessorGroupParts {
  /** shared by every pipeline's processor for its Lua calls */
  redis: RedisClient;
  /** opens one more connection: each pipeline's processor blocks on one of its own */
  connect: () => RedisClient;
  /** a pipeline name pattern: `*` matches any run of characters, e.g. `events-*` */
  pattern: string;
  prefix?: string;
  handler: Handler;
  settings: ProcessorSettings;
  logger: Logger;
  /** how often to look for new pipelines in the registry */
  discoverEveryMs?: number;
}

export function matchesPattern(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return regex.test(name);
}

/**
 * Runs one Processor for each registered pipeline whose name matches a pattern, with that
 * pipeline's own ordering, and starts new ones as pipelines are created (for example the
 * event API's `events-<type>` pipelines, made on first use).
 */
export class ProcessorGroup {
  private readonly processors = new Map<string, { processor: Processor; blocking: RedisClient }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private discovering: Promise<void> = Promise.resolve();

  constructor(private readonly parts: ProcessorGroupParts) {}

  get pipelines(): string[] {
    return [...this.processors.keys()];
  }

  async start(): Promise<void> {
    await this.discover();
    this.timer = setInterval(() => {
      this.discovering = this.discover();
    }, this.parts.discoverEveryMs ?? 2000);
    this.parts.logger.info('processor group started', { pattern: this.parts.pattern, pipelines: this.pipelines });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.discovering;
    await Promise.all([...this.processors.values()].map(async ({ processor, blocking }) => {
      await processor.stop();
      blocking.disconnect();
    }));
  }

  private async discover(): Promise<void> {
    const { redis, prefix, pattern, logger } = this.parts;
    let registry;
    try {
      registry = await listPipelines(redis, prefix);
    } catch (error) {
      logger.warn('reading the pipeline registry failed', { error: String(error) });
      return;
    }
    for (const [name, settings] of registry) {
      if (this.stopped || this.processors.has(name) || !matchesPattern(pattern, name)) continue;
      const blocking = this.parts.connect();
      const partition = new Partition(redis, name, 0, { prefix, ordering: settings.ordering });
      const processor = new Processor({
        partition, blocking, handler: this.parts.handler, settings: this.parts.settings,
        logger: logger.child({ pipeline: name, partition: 0 }),
      });
      this.processors.set(name, { processor, blocking });
      await processor.start();
    }
  }
}
