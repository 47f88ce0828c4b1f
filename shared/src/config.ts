import { z } from 'zod';
import { ConfigError } from './errors.js';
import { redisUrlProblem } from './redis.js';
import { parsePartitionSpec, type PartitionSpec } from './serving.js';
import type { ProcessorSettings } from './processor/processor.js';
import type { SequencerSettings } from './sequencer/leadership.js';

type Env = Record<string, string | undefined>;

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const limit = (fallback: number) => z.coerce.number().int().min(-1).default(fallback);

/** redis:// or rediss:// for one Redis; redis+cluster:// or rediss+cluster:// for a Redis Cluster. */
export const redisUrlSchema = z
  .string()
  .default('redis://127.0.0.1:6379')
  .superRefine((v, ctx) => {
    const problem = redisUrlProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * When a cross-field rule runs: even if other variables are bad (zod skips object refinements
 * after a type error by default, which would hide this rule's problem from the one ConfigError
 * that must list them all), but not when a variable it reads is bad itself (that variable's own
 * problem is the one to report, not a derived one blamed on its neighbour).
 */
function whenValid(...variables: string[]): { when: (payload: z.core.ParsePayload) => boolean } {
  return { when: (payload) => !payload.issues.some((issue) => variables.includes(String(issue.path?.[0]))) };
}

/** Settings every service shares. */
const commonShape = {
  REDIS_URL: redisUrlSchema,
  PIPELINE: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . -').default('default'),
  /** legacy: one partition; PARTITIONS names any set */
  PARTITION: z.coerce.number().int().min(0).optional(),
  PARTITIONS: z.string().optional().superRefine((v, ctx) => {
    if (v === undefined) return;
    try {
      parsePartitionSpec(v);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }),
  KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,50}$/, 'must be 1-50 characters of A-Z a-z 0-9 _ . -').default('inorder'),
  SEQ_START: int(1, 1),
  ORDERING: z.enum(['strict', 'none']).default('strict'),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
};

function partitionsRule(c: { PARTITION?: number | undefined; PARTITIONS?: string | undefined }, ctx: z.core.$RefinementCtx): void {
  if (c.PARTITION !== undefined && c.PARTITIONS !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['PARTITION'], message: 'set PARTITIONS or PARTITION (one partition, the older name), not both' });
  }
}

export const processorEnvSchema = z
  .object({
    ...commonShape,
    PIPELINE: z
      .string()
      .regex(/^[A-Za-z0-9_.*-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . - (and * to serve every matching pipeline)')
      .default('default'),
    CONCURRENCY: int(1, 64),
    BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(256),
    HANDLER: z.string().min(1).optional(),
    WORK_MS: int(0, 500),
    FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
    CLAIM_LEASE_MS: int(500, 1000),
    CLAIM_RENEW_MS: z.coerce.number().int().min(50).optional(),
    HANDLER_TIMEOUT_MS: int(1, 60_000),
    MAX_RETRIES: limit(3),
    MAX_AGE_MS: limit(-1),
    BACKOFF_BASE_MS: int(1, 200),
    BACKOFF_MAX_MS: int(1, 30_000),
    WINDOW: int(0, 10_000),
    SHUTDOWN_GRACE_MS: int(0, 10_000),
  })
  .superRefine(partitionsRule, whenValid('PARTITION', 'PARTITIONS'))
  .superRefine((c, ctx) => {
    const renew = c.CLAIM_RENEW_MS ?? Math.floor(c.CLAIM_LEASE_MS / 4);
    if (c.CLAIM_LEASE_MS < renew + 200) {
      ctx.addIssue({ code: 'custom', path: ['CLAIM_RENEW_MS'], message: `must be at least 200 ms below CLAIM_LEASE_MS (${c.CLAIM_LEASE_MS})` });
    }
  }, whenValid('CLAIM_LEASE_MS', 'CLAIM_RENEW_MS'))
  .superRefine((c, ctx) => {
    if (c.BACKOFF_MAX_MS < c.BACKOFF_BASE_MS) {
      ctx.addIssue({ code: 'custom', path: ['BACKOFF_MAX_MS'], message: `must be at least BACKOFF_BASE_MS (${c.BACKOFF_BASE_MS})` });
    }
  }, whenValid('BACKOFF_BASE_MS', 'BACKOFF_MAX_MS'));

export const sequencerEnvSchema = z
  .object({
    ...commonShape,
    LEADER_LEASE_MS: int(200, 1000),
    LEADER_RENEW_MS: z.coerce.number().int().min(20).optional(),
    LEADER_RETRY_MS: int(10, 100),
    EMIT_BATCH: z.coerce.number().int().min(1).max(1000).default(1000),
    GAP_TIMEOUT_MS: int(0, 30_000),
    READ_BLOCK_MS: int(10, 250),
  })
  .superRefine(partitionsRule, whenValid('PARTITION', 'PARTITIONS'))
  .superRefine((c, ctx) => {
    const renew = c.LEADER_RENEW_MS ?? Math.floor(c.LEADER_LEASE_MS / 3);
    if (c.LEADER_LEASE_MS < renew + 100) {
      ctx.addIssue({ code: 'custom', path: ['LEADER_RENEW_MS'], message: `must be at least 100 ms below LEADER_LEASE_MS (${c.LEADER_LEASE_MS})` });
    }
  }, whenValid('LEADER_LEASE_MS', 'LEADER_RENEW_MS'))
  .superRefine((c, ctx) => {
    if (c.ORDERING !== 'strict') {
      ctx.addIssue({ code: 'custom', path: ['ORDERING'], message: 'must be strict: an unordered pipeline has no sequencer (its processors write the output)' });
    }
  }, whenValid('ORDERING'));

export interface CommonConfig {
  redisUrl: string;
  /** a pipeline name, or (processors) a pattern with `*` */
  pipeline: string;
  partitions: PartitionSpec;
  keyPrefix: string;
  seqStart: number;
  ordering: 'strict' | 'none';
  healthPort: number | undefined;
  logLevel: string;
}

/** The processor's settings plus those of the default handler. */
export interface ProcessorConfig extends CommonConfig, ProcessorSettings {
  handler: string | undefined;
  workMs: number;
  failRate: number;
}

export type SequencerConfig = CommonConfig & SequencerSettings;

function parse<S extends z.ZodType>(schema: S, env: Env): z.infer<S> {
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => ({ variable: String(i.path[0] ?? '(environment)'), message: i.message })),
    );
  }
  return result.data;
}

function common(c: z.infer<typeof processorEnvSchema> | z.infer<typeof sequencerEnvSchema>): CommonConfig {
  return {
    redisUrl: c.REDIS_URL,
    pipeline: c.PIPELINE,
    partitions: c.PARTITION !== undefined ? [c.PARTITION] : parsePartitionSpec(c.PARTITIONS ?? 'all'),
    keyPrefix: c.KEY_PREFIX,
    seqStart: c.SEQ_START,
    ordering: c.ORDERING,
    healthPort: c.HEALTH_PORT,
    logLevel: c.LOG_LEVEL,
  };
}

/** Reads the processor's settings; throws one ConfigError naming every bad variable. */
export function loadProcessorConfig(env: Env = process.env): ProcessorConfig {
  const c = parse(processorEnvSchema, env);
  return {
    ...common(c),
    concurrency: c.CONCURRENCY,
    batchSize: c.BATCH_SIZE,
    handler: c.HANDLER,
    workMs: c.WORK_MS,
    failRate: c.FAIL_RATE,
    claimLeaseMs: c.CLAIM_LEASE_MS,
    claimRenewMs: c.CLAIM_RENEW_MS ?? Math.floor(c.CLAIM_LEASE_MS / 4),
    handlerTimeoutMs: c.HANDLER_TIMEOUT_MS,
    maxRetries: c.MAX_RETRIES,
    maxAgeMs: c.MAX_AGE_MS,
    backoffBaseMs: c.BACKOFF_BASE_MS,
    backoffMaxMs: c.BACKOFF_MAX_MS,
    window: c.WINDOW,
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
  };
}

/** Reads the sequencer's settings; throws one ConfigError naming every bad variable. */
export function loadSequencerConfig(env: Env = process.env): SequencerConfig {
  const c = parse(sequencerEnvSchema, env);
  return {
    ...common(c),
    leaderLeaseMs: c.LEADER_LEASE_MS,
    leaderRenewMs: c.LEADER_RENEW_MS ?? Math.floor(c.LEADER_LEASE_MS / 3),
    leaderRetryMs: c.LEADER_RETRY_MS,
    emitBatch: c.EMIT_BATCH,
    gapTimeoutMs: c.GAP_TIMEOUT_MS,
    readBlockMs: c.READ_BLOCK_MS,
  };
}
