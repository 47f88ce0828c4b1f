import type { RedisClient } from './redis.js';
import { z } from 'zod';
import { InorderError } from './errors.js';
import { assertPipelineName, registryKey } from './partition/keys.js';

export const pipelineSettingsSchema = z.object({
  ordering: z.enum(['strict', 'none']),
  partitions: z.number().int().min(1).default(1),
  createdAt: z.number().int().nonnegative(),
});

export type PipelineSettings = z.infer<typeof pipelineSettingsSchema>;

/** A pipeline already exists with settings that differ from the ones asked for. */
export class PipelineConflictError extends InorderError {
  constructor(readonly pipeline: string, readonly existing: PipelineSettings, readonly wanted: Pick<PipelineSettings, 'ordering'>) {
    super(`pipeline ${pipeline} exists with ordering "${existing.ordering}", not "${wanted.ordering}"`);
  }
}

/**
 * Registers a pipeline, or returns the settings it already has: HSETNX makes the first
 * registration win, so two concurrent first uses create one pipeline. Throws
 * PipelineConflictError when it exists with another ordering.
 */
export async function registerPipeline(
  redis: RedisClient,
  name: string,
  wanted: { ordering: 'strict' | 'none'; partitions?: number },
  prefix = 'inorder',
  now = Date.now(),
): Promise<{ settings: PipelineSettings; created: boolean }> {
  assertPipelineName(name);
  const settings: PipelineSettings = { ordering: wanted.ordering, partitions: wanted.partitions ?? 1, createdAt: now };
  const created = (await redis.hsetnx(registryKey(prefix), name, JSON.stringify(settings))) === 1;
  if (created) return { settings, created };
  const existing = await getPipeline(redis, name, prefix);
  if (!existing) throw new InorderError(`pipeline ${name} vanished from the registry while registering`);
  if (existing.ordering !== wanted.ordering) throw new PipelineConflictError(name, existing, wanted);
  return { settings: existing, created: false };
}

export async function getPipeline(redis: RedisClient, name: string, prefix = 'inorder'): Promise<PipelineSettings | undefined> {
  const raw = await redis.hget(registryKey(prefix), name);
  return raw === null ? undefined : pipelineSettingsSchema.parse(JSON.parse(raw));
}

export async function listPipelines(redis: RedisClient, prefix = 'inorder'): Promise<Map<string, PipelineSettings>> {
  const all = await redis.hgetall(registryKey(prefix));
  return new Map(Object.entries(all).map(([name, raw]) => [name, pipelineSettingsSchema.parse(JSON.parse(raw))]));
}
