import { ConfigError, SUBMIT_MAX_BATCH, redisUrlSchema } from '@inorder/shared';
import { z } from 'zod';

type Env = Record<string, string | undefined>;

const int = (min: number, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export interface PipelineDeclaration {
  name: string;
  ordering: 'strict' | 'none';
  partitions: number;
}

/** `orders:strict,audit:none,clicks:none:4` -> name, ordering, partitions (default 1). */
const pipelineList = z.string().transform((value, ctx): PipelineDeclaration[] => {
  const out: PipelineDeclaration[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name = '', ordering = '', partitions = '1', ...extra] = item.split(':');
    if (!NAME.test(name) || (ordering !== 'strict' && ordering !== 'none') || !/^[1-9]\d{0,3}$/.test(partitions) || extra.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `"${item}" must be name:strict or name:none, optionally :partitions (name: 1-100 of A-Z a-z 0-9 _ . -)`,
      });
      return z.NEVER;
    }
    out.push({ name, ordering, partitions: Number(partitions) });
  }
  return out;
});

const keyList = z.string().transform((value, ctx) => {
  const keys = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (keys.some((k) => /\s/.test(k) || k.length < 8)) {
    ctx.addIssue({ code: 'custom', message: 'each key must be at least 8 characters without spaces' });
    return z.NEVER;
  }
  return keys;
});

export const ingestEnvSchema = z.object({
  REDIS_URL: redisUrlSchema,
  KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,50}$/, 'must be 1-50 characters of A-Z a-z 0-9 _ . -').default('inorder'),
  SEQ_START: int(1, 1),
  PORT: int(0, 8080, 65535),
  HOST: z.string().min(1).default('0.0.0.0'),
  API_KEYS: keyList.optional(),
  MAX_BATCH: int(1, 1000, SUBMIT_MAX_BATCH),
  MAX_BODY_BYTES: int(1024, 4 * 1024 * 1024),
  DEDUP_TTL_MS: int(0, 24 * 60 * 60 * 1000),
  PIPELINES: pipelineList.optional(),
  REDIS_TIMEOUT_MS: int(50, 2000),
  RETRY_AFTER_S: int(1, 1),
  REGISTRY_CACHE_MS: int(0, 5000),
  STARTUP_TIMEOUT_MS: int(0, 30_000),
  SHUTDOWN_GRACE_MS: int(0, 10_000),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
});

export interface IngestConfig {
  redisUrl: string;
  keyPrefix: string;
  seqStart: number;
  port: number;
  host: string;
  /** empty: no authentication */
  apiKeys: string[];
  maxBatch: number;
  maxBodyBytes: number;
  dedupTtlMs: number;
  /** registered at start */
  pipelines: PipelineDeclaration[];
  /** a request's Redis work gives up (503) after this long */
  redisTimeoutMs: number;
  retryAfterS: number;
  registryCacheMs: number;
  startupTimeoutMs: number;
  /** on SIGTERM, in-flight requests get this long before their connections are cut */
  shutdownGraceMs: number;
  logLevel: string;
}

/** The defaults, for tests and embedders that build the app without an environment. */
export function defaultIngestConfig(overrides: Partial<IngestConfig> = {}): IngestConfig {
  return { ...loadIngestConfig({}), ...overrides };
}

/** Reads the ingest's settings; throws one ConfigError naming every bad variable. */
export function loadIngestConfig(env: Env = process.env): IngestConfig {
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = ingestEnvSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => ({ variable: String(i.path[0] ?? '(environment)'), message: i.message })),
    );
  }
  const c = result.data;
  return {
    redisUrl: c.REDIS_URL,
    keyPrefix: c.KEY_PREFIX,
    seqStart: c.SEQ_START,
    port: c.PORT,
    host: c.HOST,
    apiKeys: c.API_KEYS ?? [],
    maxBatch: c.MAX_BATCH,
    maxBodyBytes: c.MAX_BODY_BYTES,
    dedupTtlMs: c.DEDUP_TTL_MS,
    pipelines: c.PIPELINES ?? [],
    redisTimeoutMs: c.REDIS_TIMEOUT_MS,
    retryAfterS: c.RETRY_AFTER_S,
    registryCacheMs: c.REGISTRY_CACHE_MS,
    startupTimeoutMs: c.STARTUP_TIMEOUT_MS,
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    logLevel: c.LOG_LEVEL,
  };
}
