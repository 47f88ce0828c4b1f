import { z } from 'zod';
import { partitionForKey, type PipelineSettings } from '@inorder/shared';
import type { PipelineDirectory } from './pipelines.js';
import { RequestError, badRequest, clip, withRedis } from './errors.js';
import { describeIssues } from './schemas.js';

const params = z.object({
  pipeline: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . -'),
});
/** A canonical non-negative decimal integer: no sign, spaces, leading zeros, exponent or hex. */
const CANONICAL_INT = /^(0|[1-9][0-9]*)$/;
const PLAIN_DIGITS = 'written in plain decimal digits (no sign, spaces, leading zeros, exponent or hex)';

/** Looks the pipeline up in the registry: 400 for a name that cannot exist, 404 for an unknown one. */
export async function pipelineOf(
  directory: PipelineDirectory,
  rawParams: unknown,
  deadline: number,
): Promise<{ name: string; settings: PipelineSettings }> {
  const parsed = params.safeParse(rawParams);
  if (!parsed.success) throw badRequest(describeIssues(parsed.error));
  const name = parsed.data.pipeline;
  return { name, settings: await registered(directory, name, deadline) };
}

/** The settings of a pipeline whose name is valid; 404 when it is not registered. */
export async function registered(directory: PipelineDirectory, name: string, deadline: number): Promise<PipelineSettings> {
  const settings = await withRedis(deadline - Date.now(), 'registry lookup', () => directory.get(name));
  if (!settings) {
    throw new RequestError(404, `no pipeline named "${name}": register it (PIPELINES on the ingest, or start its processors)`);
  }
  return settings;
}

/**
 * A plain decimal integer from the query or the path, given at most once; `fallback` when absent
 * (undefined: required). 400 naming `field` when it is malformed or outside min..max.
 */
export function integerParam(raw: unknown, field: string, range: { min: number; max: number; fallback?: number }): number {
  if (raw === undefined && range.fallback !== undefined) return range.fallback;
  if (raw === undefined) throw badRequest([{ field, reason: 'is required' }]);
  if (Array.isArray(raw)) throw badRequest([{ field, reason: `is given ${raw.length} times: give it once` }]);
  if (typeof raw !== 'string' || !CANONICAL_INT.test(raw)) {
    throw badRequest([
      { field, reason: `must be a non-negative integer ${PLAIN_DIGITS}, got ${clip(JSON.stringify(raw) ?? 'nothing', 40)}` },
    ]);
  }
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw badRequest([{ field, reason: `must be from ${range.min} to ${range.max}, got ${clip(raw, 40)}` }]);
  }
  return value;
}

/** `?partition=N`: absent = 0; else given once, as a canonical decimal below the partition count. */
export function partitionOf(rawQuery: unknown, settings: PipelineSettings, name: string): number {
  const raw = queryValue(rawQuery, 'partition');
  if (raw === undefined) return 0;
  if (Array.isArray(raw)) throw badRequest([{ field: 'partition', reason: `is given ${raw.length} times: give it once` }]);
  if (typeof raw !== 'string' || !CANONICAL_INT.test(raw)) {
    throw badRequest([
      {
        field: 'partition',
        reason: `must be a non-negative integer ${PLAIN_DIGITS}, got ${clip(JSON.stringify(raw), 40)}`,
      },
    ]);
  }
  const partition = Number(raw);
  if (partition >= settings.partitions) {
    throw badRequest([
      { field: 'partition', reason: `pipeline ${name} has ${settings.partitions} partition(s): must be below ${settings.partitions}` },
    ]);
  }
  return partition;
}

/**
 * The partition a submit goes to: its messages' ordering key, or `?partition=N` (default 0).
 * A batch is one atomic step on one partition, so a key is given on every message or on none,
 * every key must route to the same partition, and `?partition` is not given beside keys: each
 * of these is a 400 naming the fields.
 */
export function submitPartitionOf(
  rawQuery: unknown,
  messages: ReadonlyArray<{ key?: string }>,
  batch: boolean,
  settings: PipelineSettings,
  name: string,
): number {
  const field = (i: number): string => (batch ? `[${i}].key` : 'key');
  const keyed = messages.filter((m) => m.key !== undefined).length;
  if (keyed === 0) return partitionOf(rawQuery, settings, name);
  if (keyed < messages.length) {
    throw badRequest([
      {
        field: field(messages.findIndex((m) => m.key === undefined)),
        reason: `is missing while ${keyed} other message(s) of the batch give one: give a key on every message of a batch or on none`,
      },
    ]);
  }
  if (queryValue(rawQuery, 'partition') !== undefined) {
    throw badRequest([
      { field: 'partition', reason: "is given beside message keys: a keyed message goes to its key's partition, so give one or the other" },
    ]);
  }
  const partitions = messages.map((m) => partitionForKey(m.key!, settings.partitions));
  const issues = partitions.flatMap((p, i) =>
    p === partitions[0]
      ? []
      : [
          {
            field: field(i),
            reason:
              `routes to partition ${p} while [0].key routes to partition ${partitions[0]} (of ${settings.partitions}): ` +
              'a batch is one atomic step on one partition, so send messages of other partitions in their own request',
          },
        ],
  );
  if (issues.length > 0) throw badRequest(issues);
  return partitions[0]!;
}

/** The most entries one page of a list read returns. */
export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

/** `?from=&limit=` of a list read: from >= 0 (default 0), limit 1..MAX_PAGE (default DEFAULT_PAGE). */
export function pageOf(rawQuery: unknown): { from: number; limit: number } {
  return {
    from: integerParam(queryValue(rawQuery, 'from'), 'from', { min: 0, max: Number.MAX_SAFE_INTEGER - MAX_PAGE, fallback: 0 }),
    limit: integerParam(queryValue(rawQuery, 'limit'), 'limit', { min: 1, max: MAX_PAGE, fallback: DEFAULT_PAGE }),
  };
}

/** A seq in the path: a plain decimal from 1 to the largest seq. */
export function seqOf(raw: unknown): number {
  return integerParam(raw, 'seq', { min: 1, max: Number.MAX_SAFE_INTEGER });
}

function queryValue(rawQuery: unknown, name: string): unknown {
  const query = rawQuery as Record<string, unknown> | undefined;
  return query && Object.hasOwn(query, name) ? query[name] : undefined;
}
