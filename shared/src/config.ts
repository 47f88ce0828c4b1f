import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { redisUrlProblem, type ConnectOptions, type RedisTls } from './redis.js';
import { parsePartitionSpec, type PartitionSpec } from './serving.js';
import type { ProcessorSettings } from './processor/processor.js';
import type { SequencerSettings } from './sequencer/leadership.js';

type Env = Record<string, string | undefined>;
type Problem = { variable: string; message: string };

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const limit = (fallback: number) => z.coerce.number().int().min(-1).default(fallback);

/** The longest delay Node's timers can wait (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const duration = (min: number) =>
  z.coerce
    .number()
    .int()
    .min(min)
    .max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} ms (about 24.8 days): Node's timers cannot wait longer, and fire at once above it`);

/** A `*_MS` setting: whole milliseconds from `min` to the longest delay a timer can wait. */
export const durationMs = (min: number, fallback: number) => duration(min).default(fallback);

/** A `*_MS` setting without a default (derived from another one when unset). */
export const optionalDurationMs = (min: number) => duration(min).optional();

/**
 * Secrets from files, as container platforms mount them: for each listed VAR, `VAR_FILE` names a
 * file whose contents (trailing newlines trimmed) become VAR. Returns the environment with VAR
 * set and VAR_FILE removed; throws a ConfigError when both are set or a file cannot be read.
 * For example `loadIngestConfig(resolveSecretFiles(process.env, ['REDIS_URL', 'API_KEYS']))`.
 */
export function resolveSecretFiles(env: Env, variables: readonly string[]): Env {
  const { resolved, problems } = readSecretFiles(env, variables);
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}

function readSecretFiles(env: Env, variables: readonly string[]): { resolved: Env; problems: Problem[]; fromFile: Set<string> } {
  const resolved: Env = { ...env };
  const problems: Problem[] = [];
  const fromFile = new Set<string>();
  for (const variable of variables) {
    const fileVariable = `${variable}_FILE`;
    const path = env[fileVariable];
    delete resolved[fileVariable];
    if (path === undefined || path === '') continue;
    if (env[variable] !== undefined && env[variable] !== '') {
      problems.push({ variable: fileVariable, message: `set only one of ${variable} and ${fileVariable}` });
      continue;
    }
    try {
      resolved[variable] = readFileSync(path, 'utf8').replace(/(\r?\n)+$/, '');
      fromFile.add(variable);
    } catch (error) {
      problems.push({ variable: fileVariable, message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
    }
  }
  return { resolved, problems, fromFile };
}

/** A PEM file named by a setting, read at start; the value is its text. */
const pemFile = (what: string) =>
  z.string().transform((path, ctx) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      return z.NEVER;
    }
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
      ctx.addIssue({ code: 'custom', message: `${path} does not hold a PEM ${what} (no "-----BEGIN" line)` });
      return z.NEVER;
    }
    return text;
  });

const TLS_VARIABLES = ['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const;

/**
 * The TLS settings, as a zod shape to spread into a service's schema (with `tlsEnvRules`):
 * each names a PEM file, read when the schema parses.
 */
export const tlsEnvShape = {
  REDIS_TLS_CA_FILE: pemFile('certificate').optional(),
  REDIS_TLS_CERT_FILE: pemFile('certificate').optional(),
  REDIS_TLS_KEY_FILE: pemFile('private key').optional(),
};

/** What a schema with `tlsEnvShape` produces: the files' PEM text. */
export interface TlsEnv {
  REDIS_URL?: string | undefined;
  REDIS_TLS_CA_FILE?: string | undefined;
  REDIS_TLS_CERT_FILE?: string | undefined;
  REDIS_TLS_KEY_FILE?: string | undefined;
}

/**
 * Cross-field rules of the TLS settings, for `.superRefine(tlsEnvRules)`: a client certificate
 * needs its key (and the other way round), and TLS files need a TLS URL. Says nothing about a
 * variable that is invalid itself.
 */
export function tlsEnvRules(c: TlsEnv, ctx: z.core.$RefinementCtx<unknown>): void {
  const bad = new Set(ctx.issues.map((issue) => String(issue.path?.[0])));
  if ([...TLS_VARIABLES, 'REDIS_URL'].some((v) => bad.has(v))) return;
  if (c.REDIS_TLS_CERT_FILE !== undefined && c.REDIS_TLS_KEY_FILE === undefined) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_TLS_KEY_FILE'], message: 'must be set with REDIS_TLS_CERT_FILE: a client certificate needs its private key' });
  }
  if (c.REDIS_TLS_KEY_FILE !== undefined && c.REDIS_TLS_CERT_FILE === undefined) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_TLS_CERT_FILE'], message: 'must be set with REDIS_TLS_KEY_FILE: a private key needs its client certificate' });
  }
  if (c.REDIS_URL !== undefined && !/^rediss(\+cluster)?:\/\//.test(c.REDIS_URL)) {
    for (const variable of TLS_VARIABLES) {
      if (c[variable] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [variable], message: 'is set, but REDIS_URL does not use TLS: use rediss:// or rediss+cluster://' });
      }
    }
  }
}

/** The TLS material of a parsed `tlsEnvShape`, or undefined when none is set. */
export function tlsOptionsFrom(c: TlsEnv): RedisTls | undefined {
  const tls: RedisTls = {};
  if (c.REDIS_TLS_CA_FILE !== undefined) tls.ca = c.REDIS_TLS_CA_FILE;
  if (c.REDIS_TLS_CERT_FILE !== undefined) tls.cert = c.REDIS_TLS_CERT_FILE;
  if (c.REDIS_TLS_KEY_FILE !== undefined) tls.key = c.REDIS_TLS_KEY_FILE;
  return Object.keys(tls).length > 0 ? tls : undefined;
}

const tlsEnvSchema = z.object({ REDIS_URL: z.string().default('redis://127.0.0.1:6379'), ...tlsEnvShape }).superRefine(tlsEnvRules);

/**
 * Reads only the TLS settings (and REDIS_URL, to check it uses TLS) from an environment, for a
 * service whose own schema does not hold them yet. Throws a ConfigError naming each bad one.
 */
export function loadRedisTlsEnv(env: Env = process.env): RedisTls | undefined {
  return tlsOptionsFrom(parse(tlsEnvSchema, env, SECRET_VARIABLES));
}

/**
 * The options of `connect()` that come from the settings (TLS material), for every service:
 * `connect(config.redisUrl, redisConnectOptions(config, { name: 'inorder-processor', logger }))`.
 */
export function redisConnectOptions(config: { redisTls?: RedisTls | undefined }, options: ConnectOptions = {}): ConnectOptions {
  return config.redisTls ? { ...options, tls: config.redisTls } : { ...options };
}

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
  ...tlsEnvShape,
};

function partitionsRule(c: { PARTITION?: number | undefined; PARTITIONS?: string | undefined }, ctx: z.core.$RefinementCtx): void {
  if (c.PARTITION !== undefined && c.PARTITIONS !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['PARTITION'], message: 'set PARTITIONS or PARTITION (one partition, the older name), not both' });
  }
}

/** Variables that may come from a file instead (`REDIS_URL_FILE`). */
const SECRET_VARIABLES = ['REDIS_URL'];

/** Runs the TLS rules even when other variables are bad, so one ConfigError lists everything. */
const always = { when: () => true };

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
    WORK_MS: durationMs(0, 500),
    FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
    CLAIM_LEASE_MS: durationMs(500, 1000),
    CLAIM_RENEW_MS: optionalDurationMs(50),
    HANDLER_TIMEOUT_MS: durationMs(1, 60_000),
    MAX_RETRIES: limit(3),
    MAX_AGE_MS: durationMs(-1, -1),
    BACKOFF_BASE_MS: durationMs(1, 200),
    BACKOFF_MAX_MS: durationMs(1, 30_000),
    WINDOW: int(0, 10_000),
    SHUTDOWN_GRACE_MS: durationMs(0, 10_000),
  })
  .superRefine(partitionsRule, whenValid('PARTITION', 'PARTITIONS'))
  .superRefine(tlsEnvRules, always)
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
    LEADER_LEASE_MS: durationMs(200, 1000),
    LEADER_RENEW_MS: optionalDurationMs(20),
    LEADER_RETRY_MS: durationMs(10, 100),
    EMIT_BATCH: z.coerce.number().int().min(1).max(1000).default(1000),
    GAP_TIMEOUT_MS: durationMs(0, 30_000),
    READ_BLOCK_MS: durationMs(10, 250),
  })
  .superRefine(partitionsRule, whenValid('PARTITION', 'PARTITIONS'))
  .superRefine(tlsEnvRules, always)
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
  /** TLS material read from the REDIS_TLS_*_FILE settings; undefined when none is set */
  redisTls: RedisTls | undefined;
}

/** The processor's settings plus those of the default handler. */
export interface ProcessorConfig extends CommonConfig, ProcessorSettings {
  handler: string | undefined;
  workMs: number;
  failRate: number;
}

export type SequencerConfig = CommonConfig & SequencerSettings;

/**
 * Parses the environment with a schema; throws one ConfigError naming every bad variable. With
 * `secrets`, each listed VAR may come from the file named by VAR_FILE (see resolveSecretFiles).
 */
function parse<S extends z.ZodType>(schema: S, env: Env, secrets: readonly string[] = []): z.output<S> {
  const { resolved, problems, fromFile } = readSecretFiles(env, secrets);
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(resolved).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const variable = String(issue.path[0] ?? '(environment)');
      // Messages never echo a value (it may be a secret), so naming the file is enough.
      problems.push({ variable, message: fromFile.has(variable) ? `${issue.message} (value read from ${variable}_FILE)` : issue.message });
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
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
    redisTls: tlsOptionsFrom(c),
  };
}

/** Reads the processor's settings; throws one ConfigError naming every bad variable. */
export function loadProcessorConfig(env: Env = process.env): ProcessorConfig {
  const c = parse(processorEnvSchema, env, SECRET_VARIABLES);
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
  const c = parse(sequencerEnvSchema, env, SECRET_VARIABLES);
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
