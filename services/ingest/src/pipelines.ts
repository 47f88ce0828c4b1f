import { getPipeline, registerPipeline, type Logger, type PipelineSettings, type RedisClient } from '@inorder/shared';
import { BoundedMap } from './bounded-map.js';

/** Pipelines whose registry entry one ingest keeps cached (the least recently used goes first). */
export const REGISTRY_CACHE_ENTRIES = 10_000;

/**
 * The pipeline registry as the ingest sees it: lookups cached for `cacheMs` (a pipeline's
 * ordering never changes once registered, so a cached answer stays right), at most `capacity`
 * of them, and race-free registration (the first of concurrent first uses wins).
 */
export class PipelineDirectory {
  private readonly cache: BoundedMap<string, { settings: PipelineSettings; until: number }>;
  private readonly registering = new Map<string, Promise<PipelineSettings>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly cacheMs: number,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
    capacity = REGISTRY_CACHE_ENTRIES,
  ) {
    this.cache = new BoundedMap(capacity);
  }

  /** How many pipelines are cached now. */
  get cachedCount(): number {
    return this.cache.size;
  }

  /** The pipeline's settings, or undefined when it is not registered. */
  async get(name: string): Promise<PipelineSettings | undefined> {
    const hit = this.cache.get(name);
    if (hit && hit.until > this.clock()) return hit.settings;
    const settings = await getPipeline(this.redis, name, this.prefix);
    if (settings) this.remember(name, settings);
    else this.cache.delete(name);
    return settings;
  }

  /**
   * Registers the pipeline unless it exists; resolves to its settings. Throws
   * PipelineConflictError when it exists with another ordering, RegistryFullError when it does
   * not exist and the registry holds `maxPipelines` already. `logger` (the request's, so the
   * line carries its request id) reports a pipeline this call created.
   */
  async ensure(
    name: string,
    wanted: { ordering: 'strict' | 'none'; partitions?: number; maxPipelines?: number },
    logger: Logger = this.logger,
  ): Promise<PipelineSettings> {
    const hit = this.cache.get(name);
    if (hit && hit.until > this.clock() && hit.settings.ordering === wanted.ordering) return hit.settings;
    const key = `${name}:${wanted.ordering}`;
    let pending = this.registering.get(key);
    if (!pending) {
      const { maxPipelines, ...settings } = wanted;
      pending = registerPipeline(this.redis, name, settings, this.prefix, Date.now(), { maxPipelines }).then(({ settings, created }) => {
        if (created) logger.info('pipeline created', { pipeline: name, ordering: settings.ordering, partitions: settings.partitions });
        this.remember(name, settings);
        return settings;
      });
      this.registering.set(key, pending);
      void pending.finally(() => this.registering.delete(key)).catch(() => {});
    }
    return pending;
  }

  /** Drops the cached entry: the next lookup reads the registry (its partition count changed). */
  forget(name: string): void {
    this.cache.delete(name);
  }

  private remember(name: string, settings: PipelineSettings): void {
    if (this.cacheMs > 0) this.cache.set(name, { settings, until: this.clock() + this.cacheMs });
  }
}
