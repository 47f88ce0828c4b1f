import { ConfigError, MAX_SEQ_AHEAD, SUBMIT_MAX_BATCH, redisUrlSchema } from '@inorder/shared';
import { z } from 'zod';

type Env = Record<string, string | undefined>;

const int = (min: number, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Node's timers take at most 2^31-1 ms; a longer delay fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const duration = (min: number, fallback: number) =>
  z.coerce.number().int().min(min)
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (2^31-1: Node's timers fire at once past it)`).default(fallback);

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
  if (keys.length === 0) {
    // Set but naming no key: running without authentication is never what was meant.
    ctx.addIssue({ code: 'custom', message: 'names no key: give comma-separated keys, or leave it unset to run without authentication' });
    return z.NEVER;
  }
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
  DEDUP_TTL_MS: duration(0, 24 * 60 * 60 * 1000),
  PIPELINES: pipelineList.optional(),
  REDIS_TIMEOUT_MS: duration(50, 2000),
  RETRY_AFTER_S: int(1, 1),
  REGISTRY_CACHE_MS: duration(0, 5000),
  STARTUP_TIMEOUT_MS: duration(0, 30_000),
  SHUTDOWN_GRACE_MS: duration(0, 10_000),
  MAX_SEQ_AHEAD: int(0, MAX_SEQ_AHEAD),
  MAX_DEPTH: int(2, 32, 1000),
  EVENT_TYPE_ID_MAX: int(0, 9999),
  MAX_PIPELINES: int(1, 1000),
  REQUEST_TIMEOUT_MS: duration(100, 10_000),
  HEADERS_TIMEOUT_MS: duration(100, 10_000),
  KEEP_ALIVE_TIMEOUT_MS: duration(100, 72_000),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
}).superRefine((c, ctx) => {
  // Node refuses a server whose headers timeout exceeds its request timeout.
  if (c.HEADERS_TIMEOUT_MS > c.REQUEST_TIMEOUT_MS) {
    ctx.addIssue({ code: 'custom', path: ['HEADERS_TIMEOUT_MS'], message: `must be at most REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS})` });
  }
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
  /** ordered pipelines: a given seq this far or further past the partition's next seq is refused (0 = no limit) */
  maxSeqAhead: number;
  /** the deepest nesting of arrays and objects a JSON body may have, counted from its outermost value */
  maxDepth: number;
  /** the largest event_type_id the event API takes (each id is a pipeline) */
  eventTypeIdMax: number;
  /** the most pipelines the registry may hold before the event API refuses to create one more */
  maxPipelines: number;
  /** a request must arrive whole within this long; also bounds an idle socket (plus REDIS_TIMEOUT_MS) */
  requestTimeoutMs: number;
  /** a request's headers must arrive within this long */
  headersTimeoutMs: number;
  /** an idle keep-alive connection is closed after this long */
  keepAliveTimeoutMs: number;
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
    maxSeqAhead: c.MAX_SEQ_AHEAD,
    maxDepth: c.MAX_DEPTH,
    eventTypeIdMax: c.EVENT_TYPE_ID_MAX,
    maxPipelines: c.MAX_PIPELINES,
    requestTimeoutMs: c.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: c.HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: c.KEEP_ALIVE_TIMEOUT_MS,
    logLevel: c.LOG_LEVEL,
  };
}
