import { z } from 'zod';
import { PIPELINE_NAME, PIPELINE_NAME_RULE } from '../partition/keys.js';
import { parsePartitionSpec, type PartitionSpec } from '../partition/spec.js';
import { redisUrlProblem } from '../redis.js';

/** The longest delay Node's timers can wait (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** A whole number from `min` (to `max`), `fallback` when unset. */
export const int = (min: number, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** A count where -1 means no limit. */
export const limit = (fallback: number) => z.coerce.number().int().min(-1).default(fallback);

const duration = (min: number) =>
  z.coerce
    .number()
    .int()
    .min(min)
    .max(
      MAX_DURATION_MS,
      `must be at most ${MAX_DURATION_MS} ms (about 24.8 days): Node's timers cannot wait longer, and fire at once above it`,
    );

/** A `*_MS` setting: whole milliseconds from `min` to the longest delay a timer can wait. */
export const durationMs = (min: number, fallback: number) => duration(min).default(fallback);

/** A `*_MS` setting without a default (derived from another one when unset). */
export const optionalDurationMs = (min: number) => duration(min).optional();

/** A pipeline name (1-100 of A-Z a-z 0-9 _ . -), the one rule every reader of names uses. */
export const pipelineNameSchema = z.string().regex(PIPELINE_NAME, PIPELINE_NAME_RULE);

/** A pipeline name, or a pattern with `*` that matches registered names. */
export const pipelinePatternSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.*-]{1,100}$/, `${PIPELINE_NAME_RULE} (and * to serve every matching pipeline)`);

export const keyPrefixSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,50}$/, 'must be 1-50 characters of A-Z a-z 0-9 _ . -');

export const logLevelSchema = z.enum(['error', 'warn', 'info', 'debug']).default('info');

export const orderingSchema = z.enum(['strict', 'none']);

export const portSchema = z.coerce.number().int().min(0).max(65535);

/** redis:// or rediss:// for one Redis; redis+cluster:// or rediss+cluster:// for a Redis Cluster. */
export const redisUrlSchema = z
  .string()
  .default('redis://127.0.0.1:6379')
  .superRefine((v, ctx) => {
    const problem = redisUrlProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** `all`, or numbers and ranges of partitions (`0-3,8`). */
export const partitionsSchema = z.string().transform((text, ctx): PartitionSpec => {
  try {
    return parsePartitionSpec(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
