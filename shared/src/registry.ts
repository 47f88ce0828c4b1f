import type { RedisClient } from './redis.js';
import { z } from 'zod';
import { InorderError, RegistryEntryError, RegistryFullError } from './errors.js';
import { assertPipelineName, registryKey } from './partition/keys.js';

export const pipelineSettingsSchema = z.object({
  ordering: z.enum(['strict', 'none']),
  partitions: z.number().int().min(1).default(1),
  createdAt: z.number().int().nonnegative(),
});

export type PipelineSettings = z.infer<typeof pipelineSettingsSchema>;

/** A pipeline already exists with settings that differ from the ones asked for. */
export class PipelineConflictError extends InorderError {
  constructor(
    readonly pipeline: string,
    readonly existing: PipelineSettings,
    readonly wanted: Pick<PipelineSettings, 'ordering'>,
  ) {
    super(`pipeline ${pipeline} exists with ordering "${existing.ordering}", not "${wanted.ordering}"`);
  }
}

/**
 * How a registration treats the count of a pipeline that exists: `exact` (the ingest's
 * PIPELINES names a count), `at-least` (a PARTITIONS list names partitions up to count - 1) or
 * `any` (the count is only used to create the pipeline).
 */
export type PartitionCheck = 'exact' | 'at-least' | 'any';

/** The command that changes a pipeline's partition count, the one way to do it. */
export function resizeCommand(pipeline: string, to: number | string): string {
  return `npm run partitions -- --pipeline ${pipeline} --to ${to}`;
}

/** A pipeline exists with another partition count than the settings ask for. */
export class PartitionCountError extends InorderError {
  constructor(
    readonly pipeline: string,
    readonly existing: number,
    readonly wanted: number,
    check: Exclude<PartitionCheck, 'any'>,
  ) {
    super(
      check === 'exact'
        ? `pipeline ${pipeline} has ${existing} partition(s), not ${wanted}: a pipeline's count changes only through ` +
            `\`${resizeCommand(pipeline, wanted)}\`, which drains it first so that no key's messages are split between two partitions`
        : `the settings name partition ${wanted - 1} of pipeline ${pipeline}, which has ${existing} partition(s) (0 to ${existing - 1}): ` +
            `name partitions below ${existing}, or grow the pipeline with \`${resizeCommand(pipeline, wanted)}\``,
    );
  }
}

/** A registry entry that could not be read, and why. */
export interface SkippedEntry {
  pipeline: string;
  reason: string;
}

/** Every readable pipeline, by name, and the entries that were skipped as unreadable. */
export type PipelineList = Map<string, PipelineSettings> & { readonly skipped: SkippedEntry[] };

/**
 * Registers a pipeline, or returns the settings it already has: the first registration wins,
 * so two concurrent first uses create one pipeline. Throws PipelineConflictError when it exists
 * with another ordering, RegistryEntryError when its entry is unreadable.
 *
 * With `maxPipelines` (where pipelines are created on demand), a new pipeline is created only
 * while the registry holds fewer, checked and created in one step (register.lua); otherwise
 * RegistryFullError. Without it, HSETNX (every connection can, scripts or not).
 *
 * `partitionCheck` (default `any`) compares an existing pipeline's count with
 * `wanted.partitions`: a mismatch throws PartitionCountError, naming the command that changes it.
 */
export async function registerPipeline(
  redis: RedisClient,
  name: string,
  wanted: { ordering: 'strict' | 'none'; partitions?: number },
  prefix = 'inorder',
  now = Date.now(),
  options: { maxPipelines?: number | undefined; partitionCheck?: PartitionCheck } = {},
): Promise<{ settings: PipelineSettings; created: boolean }> {
  assertPipelineName(name);
  const settings: PipelineSettings = { ordering: wanted.ordering, partitions: wanted.partitions ?? 1, createdAt: now };
  const key = registryKey(prefix);
  let existing: PipelineSettings | undefined;
  if (options.maxPipelines !== undefined && options.maxPipelines > 0) {
    const [code, value] = await redis.inorderRegister(key, name, JSON.stringify(settings), options.maxPipelines);
    if (code === 1) return { settings, created: true };
    if (code === -1) throw new RegistryFullError(name, Number(value), options.maxPipelines);
    existing = readEntry(name, String(value), key);
  } else {
    if ((await redis.hsetnx(key, name, JSON.stringify(settings))) === 1) return { settings, created: true };
    existing = await getPipeline(redis, name, prefix);
    if (!existing) throw new InorderError(`pipeline ${name} vanished from the registry while registering`);
  }
  if (existing.ordering !== wanted.ordering) throw new PipelineConflictError(name, existing, wanted);
  const check = options.partitionCheck ?? 'any';
  const count = settings.partitions;
  if ((check === 'exact' && existing.partitions !== count) || (check === 'at-least' && existing.partitions < count)) {
    throw new PartitionCountError(name, existing.partitions, count, check);
  }
  return { settings: existing, created: false };
}

/**
 * Writes a pipeline's new partition count into the registry. Only the resize step calls it,
 * once every partition is drained and refuses submits (shared/src/partition/resize.ts).
 */
export async function setPartitionCount(
  redis: RedisClient,
  name: string,
  partitions: number,
  prefix = 'inorder',
): Promise<PipelineSettings> {
  const existing = await getPipeline(redis, name, prefix);
  if (!existing) throw new InorderError(`pipeline ${name} is not registered`);
  const settings = { ...existing, partitions };
  await redis.hset(registryKey(prefix), name, JSON.stringify(settings));
  return settings;
}

/** The pipeline's settings, undefined when it is not registered; RegistryEntryError when its entry is unreadable. */
export async function getPipeline(redis: RedisClient, name: string, prefix = 'inorder'): Promise<PipelineSettings | undefined> {
  const key = registryKey(prefix);
  const raw = await redis.hget(key, name);
  return raw === null ? undefined : readEntry(name, raw, key);
}

/**
 * Every registered pipeline. An unreadable entry (not JSON, or failing the schema) is skipped
 * and reported in `skipped`, so one bad entry does not hide the others.
 */
export async function listPipelines(redis: RedisClient, prefix = 'inorder'): Promise<PipelineList> {
  const key = registryKey(prefix);
  const all = await redis.hgetall(key);
  const pipelines = new Map<string, PipelineSettings>();
  const skipped: SkippedEntry[] = [];
  for (const [name, raw] of Object.entries(all)) {
    try {
      pipelines.set(name, readEntry(name, raw, key));
    } catch (error) {
      if (!(error instanceof RegistryEntryError)) throw error;
      skipped.push({ pipeline: name, reason: error.reason });
    }
  }
  return Object.assign(pipelines, { skipped });
}

function readEntry(name: string, raw: string, key: string): PipelineSettings {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new RegistryEntryError(name, key, `not JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = pipelineSettingsSchema.safeParse(value);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`).join('; ');
    throw new RegistryEntryError(name, key, `fails the schema (${reason})`, { cause: parsed.error });
  }
  return parsed.data;
}
