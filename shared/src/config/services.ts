import { z } from 'zod';
import { DEFAULT_PREFIX } from '../partition/keys.js';
import type { PartitionSpec } from '../partition/spec.js';
import type { RedisTls } from '../redis.js';
import { replicaAcksRule, replicaAcksSettings } from './replica-acks.js';
import { envSchemaOf, loadSettings, setting, type Env, type Rule, type SettingsOf } from './settings.js';
import { tlsOptionsFrom, tlsRule, tlsSettings } from './tls.js';
import {
  durationMs,
  int,
  keyPrefixSchema,
  limit,
  logLevelSchema,
  optionalDurationMs,
  orderingSchema,
  partitionsSchema,
  pipelineNameSchema,
  pipelinePatternSchema,
  portSchema,
  redisUrlSchema,
} from './values.js';

/**
 * Every setting of the processor and the sequencer, written once: its variable, its schema and
 * default. The config types are derived from these tables; the README's settings tables list them.
 */

/** What every service needs to reach Redis (the ingest's settings start from these too). */
export const connectionSettings = {
  redisUrl: setting('REDIS_URL', redisUrlSchema),
  keyPrefix: setting('KEY_PREFIX', keyPrefixSchema.default(DEFAULT_PREFIX)),
  seqStart: setting('SEQ_START', int(1, 1)),
  logLevel: setting('LOG_LEVEL', logLevelSchema),
  ...tlsSettings,
};

/** Variables that may come from a file instead (`REDIS_URL_FILE`). */
export const CONNECTION_SECRETS = ['REDIS_URL'];

const workerSettings = {
  ...connectionSettings,
  pipeline: setting('PIPELINE', pipelineNameSchema.default('default')),
  /** the older name for one partition */
  partition: setting('PARTITION', z.coerce.number().int().min(0).max(9998).optional()),
  partitionSpec: setting('PARTITIONS', partitionsSchema.optional()),
  ordering: setting('ORDERING', orderingSchema.default('strict')),
  healthPort: setting('HEALTH_PORT', portSchema.optional()),
  ...replicaAcksSettings,
};

export const processorSettingsTable = {
  ...workerSettings,
  pipeline: setting('PIPELINE', pipelinePatternSchema.default('default')),
  concurrency: setting('CONCURRENCY', int(1, 64)),
  batchSize: setting('BATCH_SIZE', int(1, 256, 1000)),
  /** messages claimed ahead of the free slots; unset = adaptive (what the slots finish in 10 ms) */
  prefetch: setting('PREFETCH', z.coerce.number().int().min(0).max(1000).optional()),
  handler: setting('HANDLER', z.string().min(1).optional()),
  workMs: setting('WORK_MS', durationMs(0, 500)),
  failRate: setting('FAIL_RATE', z.coerce.number().min(0).max(1).default(0)),
  claimLeaseMs: setting('CLAIM_LEASE_MS', durationMs(500, 1000)),
  claimRenewEveryMs: setting('CLAIM_RENEW_MS', optionalDurationMs(50)),
  handlerTimeoutMs: setting('HANDLER_TIMEOUT_MS', durationMs(1, 60_000)),
  maxRetries: setting('MAX_RETRIES', limit(3)),
  maxAgeMs: setting('MAX_AGE_MS', durationMs(-1, -1)),
  backoffBaseMs: setting('BACKOFF_BASE_MS', durationMs(1, 200)),
  backoffMaxMs: setting('BACKOFF_MAX_MS', durationMs(1, 30_000)),
  window: setting('WINDOW', int(0, 10_000)),
  shutdownGraceMs: setting('SHUTDOWN_GRACE_MS', durationMs(0, 10_000)),
};

export const sequencerSettingsTable = {
  ...workerSettings,
  leaderLeaseMs: setting('LEADER_LEASE_MS', durationMs(200, 1000)),
  leaderRenewEveryMs: setting('LEADER_RENEW_MS', optionalDurationMs(20)),
  leaderRetryMs: setting('LEADER_RETRY_MS', durationMs(10, 100)),
  emitBatch: setting('EMIT_BATCH', int(1, 1000, 1000)),
  gapTimeoutMs: setting('GAP_TIMEOUT_MS', durationMs(0, 30_000)),
  readBlockMs: setting('READ_BLOCK_MS', durationMs(10, 250)),
};

/** Each service's whole environment as one zod object (for the container checks). */
export const processorEnvSchema = envSchemaOf(processorSettingsTable);
export const sequencerEnvSchema = envSchemaOf(sequencerSettingsTable);

type WorkerValues = SettingsOf<typeof workerSettings>;

const partitionsRule: Rule<WorkerValues> = {
  reads: ['partition', 'partitionSpec'],
  check: (c) =>
    c.partition !== undefined && c.partitionSpec !== undefined
      ? [['partition', 'set PARTITIONS or PARTITION (one partition, the older name), not both']]
      : [],
};

const claimRenewMs = (c: { claimLeaseMs: number; claimRenewEveryMs: number | undefined }): number =>
  c.claimRenewEveryMs ?? Math.floor(c.claimLeaseMs / 4);
const leaderRenewMs = (c: { leaderLeaseMs: number; leaderRenewEveryMs: number | undefined }): number =>
  c.leaderRenewEveryMs ?? Math.floor(c.leaderLeaseMs / 3);

/**
 * A renewal must come at least `marginMs` before its lease runs out (a later one lets the lease
 * lapse between renewals): `renew` (default derived by `renewMs`) against `lease`, env `variable`.
 */
function renewRule<T>(
  lease: keyof T & string,
  renew: keyof T & string,
  variable: string,
  marginMs: number,
  renewMs: (c: T) => number,
): Rule<T> {
  return {
    reads: [lease, renew],
    check: (c) =>
      Number(c[lease]) < renewMs(c) + marginMs ? [[renew, `must be at least ${marginMs} ms below ${variable} (${Number(c[lease])})`]] : [],
  };
}

const claimRenewRule = renewRule<SettingsOf<typeof processorSettingsTable>>(
  'claimLeaseMs',
  'claimRenewEveryMs',
  'CLAIM_LEASE_MS',
  200,
  claimRenewMs,
);

const backoffRule: Rule<SettingsOf<typeof processorSettingsTable>> = {
  reads: ['backoffBaseMs', 'backoffMaxMs'],
  check: (c) => (c.backoffMaxMs < c.backoffBaseMs ? [['backoffMaxMs', `must be at least BACKOFF_BASE_MS (${c.backoffBaseMs})`]] : []),
};

const leaderRenewRule = renewRule<SettingsOf<typeof sequencerSettingsTable>>(
  'leaderLeaseMs',
  'leaderRenewEveryMs',
  'LEADER_LEASE_MS',
  100,
  leaderRenewMs,
);

const strictOnlyRule: Rule<SettingsOf<typeof sequencerSettingsTable>> = {
  reads: ['ordering'],
  check: (c) =>
    c.ordering !== 'strict'
      ? [['ordering', 'must be strict: an unordered pipeline has no sequencer (its processors write the output)']]
      : [],
};

/** What the settings derive: the partitions served, the renewal periods, the TLS material. */
interface Derived {
  partitions: PartitionSpec;
  /** TLS material read from the REDIS_TLS_*_FILE settings; undefined when none is set */
  redisTls: RedisTls | undefined;
}

type Raw<T> = Omit<T, 'partition' | 'partitionSpec' | 'tlsCa' | 'tlsCert' | 'tlsKey'>;

export type ProcessorConfig = Raw<Omit<SettingsOf<typeof processorSettingsTable>, 'claimRenewEveryMs'>> &
  Derived & { claimRenewMs: number };
export type SequencerConfig = Raw<Omit<SettingsOf<typeof sequencerSettingsTable>, 'leaderRenewEveryMs'>> &
  Derived & { leaderRenewMs: number };

/** What the processor engine reads (the rest is for the process around it). */
export type ProcessorSettings = Pick<
  ProcessorConfig,
  | 'concurrency'
  | 'batchSize'
  | 'claimLeaseMs'
  | 'claimRenewMs'
  | 'handlerTimeoutMs'
  | 'maxRetries'
  | 'maxAgeMs'
  | 'backoffBaseMs'
  | 'backoffMaxMs'
  | 'window'
  | 'shutdownGraceMs'
> & {
  /** how often an idle partition is looked at without a wake-up (scaled up with the partitions served) */ idlePollMs?: number;
  prefetch?: number | undefined;
};

/** What the sequencer engine reads. */
export type SequencerSettings = Pick<
  SequencerConfig,
  'leaderLeaseMs' | 'leaderRenewMs' | 'leaderRetryMs' | 'emitBatch' | 'gapTimeoutMs' | 'readBlockMs'
>;

function derive<T extends WorkerValues>(c: T): Raw<T> & Derived {
  const { partition, partitionSpec, tlsCa, tlsCert, tlsKey, ...rest } = c;
  return {
    ...rest,
    partitions: partition !== undefined ? [partition] : (partitionSpec ?? 'all'),
    redisTls: tlsOptionsFrom({ tlsCa, tlsCert, tlsKey }),
  };
}

/** Reads the processor's settings; throws one ConfigError naming every bad variable. */
export function loadProcessorConfig(env: Env = process.env): ProcessorConfig {
  const c = loadSettings(processorSettingsTable, env, {
    secrets: CONNECTION_SECRETS,
    rules: [tlsRule, partitionsRule, claimRenewRule, backoffRule, replicaAcksRule('claimLeaseMs', 'CLAIM_LEASE_MS')],
  });
  const { claimRenewEveryMs: _, ...rest } = derive(c);
  return { ...rest, claimRenewMs: claimRenewMs(c) };
}

/** Reads the sequencer's settings; throws one ConfigError naming every bad variable. */
export function loadSequencerConfig(env: Env = process.env): SequencerConfig {
  const c = loadSettings(sequencerSettingsTable, env, {
    secrets: CONNECTION_SECRETS,
    rules: [tlsRule, partitionsRule, leaderRenewRule, strictOnlyRule, replicaAcksRule('leaderLeaseMs', 'LEADER_LEASE_MS')],
  });
  const { leaderRenewEveryMs: _, ...rest } = derive(c);
  return { ...rest, leaderRenewMs: leaderRenewMs(c) };
}
