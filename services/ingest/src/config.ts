import {
  CONNECTION_SECRETS,
  MAX_SEQ_AHEAD,
  PIPELINE_NAME,
  SUBMIT_MAX_BATCH,
  connectionSettings,
  durationMs,
  envSchemaOf,
  int,
  loadSettings,
  replicaAcksRule,
  replicaAcksSettings,
  setting,
  tlsOptionsFrom,
  tlsRule,
  type Env,
  type RedisTls,
  type Rule,
  type SettingsOf,
} from '@inorder/shared';
import { z } from 'zod';

export interface PipelineDeclaration {
  name: string;
  ordering: 'strict' | 'none';
  /** the count to register a new pipeline with; when given, an existing pipeline must have it */
  partitions?: number;
}

/** `orders:strict,audit:none,clicks:none:4` -> name, ordering, partitions (default 1). */
const pipelineList = z.string().transform((value, ctx): PipelineDeclaration[] => {
  const out: PipelineDeclaration[] = [];
  for (const item of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', ordering = '', partitions, ...extra] = item.split(':');
    if (
      !PIPELINE_NAME.test(name) ||
      (ordering !== 'strict' && ordering !== 'none') ||
      (partitions !== undefined && !/^[1-9]\d{0,3}$/.test(partitions)) ||
      extra.length > 0
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `"${item}" must be name:strict or name:none, optionally :partitions (name: 1-100 of A-Z a-z 0-9 _ . -)`,
      });
      return z.NEVER;
    }
    out.push(partitions === undefined ? { name, ordering } : { name, ordering, partitions: Number(partitions) });
  }
  return out;
});

const keyList = z.string().transform((value, ctx) => {
  const keys = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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

/** Every setting of the ingest, written once; it starts from what every service needs to reach Redis. */
export const ingestSettingsTable = {
  ...connectionSettings,
  ...replicaAcksSettings,
  port: setting('PORT', int(0, 8080, 65535)),
  host: setting('HOST', z.string().min(1).default('0.0.0.0')),
  apiKeys: setting('API_KEYS', keyList.optional()),
  maxBatch: setting('MAX_BATCH', int(1, 1000, SUBMIT_MAX_BATCH)),
  maxBodyBytes: setting('MAX_BODY_BYTES', int(1024, 4 * 1024 * 1024)),
  dedupTtlMs: setting('DEDUP_TTL_MS', durationMs(0, 24 * 60 * 60 * 1000)),
  pipelines: setting('PIPELINES', pipelineList.optional()),
  /** a request's Redis work gives up (503) after this long */
  redisTimeoutMs: setting('REDIS_TIMEOUT_MS', durationMs(50, 2000)),
  retryAfterS: setting('RETRY_AFTER_S', int(1, 1)),
  registryCacheMs: setting('REGISTRY_CACHE_MS', durationMs(0, 5000)),
  startupTimeoutMs: setting('STARTUP_TIMEOUT_MS', durationMs(0, 30_000)),
  /** on SIGTERM, in-flight requests get this long before their connections are cut */
  shutdownGraceMs: setting('SHUTDOWN_GRACE_MS', durationMs(0, 10_000)),
  /** ordered pipelines: a given seq this far or further past the partition's next seq is refused (0 = no limit) */
  maxSeqAhead: setting('MAX_SEQ_AHEAD', int(0, MAX_SEQ_AHEAD)),
  /** the deepest nesting of arrays and objects a JSON body may have, counted from its outermost value */
  maxDepth: setting('MAX_DEPTH', int(2, 32, 1000)),
  /** the largest event_type_id the event API takes (each id is a pipeline) */
  eventTypeIdMax: setting('EVENT_TYPE_ID_MAX', int(0, 9999)),
  /** the most pipelines the registry may hold before the event API refuses to create one more */
  maxPipelines: setting('MAX_PIPELINES', int(1, 1000)),
  /** a request must arrive whole within this long; also bounds an idle socket (plus REDIS_TIMEOUT_MS) */
  requestTimeoutMs: setting('REQUEST_TIMEOUT_MS', durationMs(100, 10_000)),
  /** a request's headers must arrive within this long */
  headersTimeoutMs: setting('HEADERS_TIMEOUT_MS', durationMs(100, 10_000)),
  /** an idle keep-alive connection is closed after this long */
  keepAliveTimeoutMs: setting('KEEP_ALIVE_TIMEOUT_MS', durationMs(100, 72_000)),
};

/** The ingest's whole environment as one zod object (for the container checks). */
export const ingestEnvSchema = envSchemaOf(ingestSettingsTable);

type IngestValues = SettingsOf<typeof ingestSettingsTable>;

/** Node refuses a server whose headers timeout exceeds its request timeout. */
const headersRule: Rule<IngestValues> = {
  reads: ['headersTimeoutMs', 'requestTimeoutMs'],
  check: (c) =>
    c.headersTimeoutMs > c.requestTimeoutMs ? [['headersTimeoutMs', `must be at most REQUEST_TIMEOUT_MS (${c.requestTimeoutMs})`]] : [],
};

export type IngestConfig = Omit<IngestValues, 'apiKeys' | 'pipelines' | 'tlsCa' | 'tlsCert' | 'tlsKey'> & {
  /** empty: no authentication */
  apiKeys: string[];
  /** registered at start */
  pipelines: PipelineDeclaration[];
  /** TLS material read from the REDIS_TLS_*_FILE settings; undefined when none is set */
  redisTls?: RedisTls | undefined;
};

/** The defaults, for tests and embedders that build the app without an environment. */
export function defaultIngestConfig(overrides: Partial<IngestConfig> = {}): IngestConfig {
  return { ...loadIngestConfig({}), ...overrides };
}

/**
 * Reads the ingest's settings; throws one ConfigError naming every bad variable. REDIS_URL and
 * API_KEYS may come from files (REDIS_URL_FILE, API_KEYS_FILE).
 */
export function loadIngestConfig(env: Env = process.env): IngestConfig {
  const c = loadSettings(ingestSettingsTable, env, {
    secrets: [...CONNECTION_SECRETS, 'API_KEYS'],
    rules: [tlsRule, headersRule, replicaAcksRule('redisTimeoutMs', 'REDIS_TIMEOUT_MS')],
  });
  const { tlsCa, tlsCert, tlsKey, apiKeys, pipelines, ...rest } = c;
  return { ...rest, apiKeys: apiKeys ?? [], pipelines: pipelines ?? [], redisTls: tlsOptionsFrom({ tlsCa, tlsCert, tlsKey }) };
}
