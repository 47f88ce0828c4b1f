/**
 * Local topology for the lab's tools: a throwaway redis-server (the testkit's) on a free loopback
 * port, and the pipeline's services (processors, sequencers, HTTP ingest) as child processes that
 * can be killed, paused, resumed and restarted one by one (local-service.ts).
 */
import { connect, keysFor, type PartitionKeys, type RedisClient } from '@inorder/shared';
import { RedisNotInstalledError, RedisServer, portOpen, waitFor } from '@inorder/testkit';
import { LocalService, serviceCommand, type ServiceHandle, type ServiceRole } from './local-service.js';

export * from './local-service.js';

/**
 * A throwaway redis-server for a lab run: the testkit's, in a process group of its own (a Ctrl-C
 * in the terminal reaches the tool, which stops it last, with `destroy()`). Throws
 * RedisNotInstalledError, saying how to install Redis or use one already running, when
 * redis-server is missing.
 */
export async function startLocalRedis(options: { appendonly?: boolean } = {}): Promise<RedisServer> {
  try {
    return await RedisServer.start({ ...options, detached: true });
  } catch (error) {
    if (error instanceof RedisNotInstalledError)
      error.message += '\n  Or point REDIS_URL at a running server, e.g. REDIS_URL=redis://127.0.0.1:6379';
    throw error;
  }
}

export interface StartServicesOptions {
  redisUrl: string;
  pipeline: string;
  processors: number;
  sequencers: number;
  /** the partition the processors and sequencers serve (PARTITION), or 'all' of the pipeline's count (PARTITIONS=all); default 0 */
  partition?: number | 'all';
  /** the pipeline's partition count, for the ingest's PIPELINES (`name:strict:N`); register it before the services start */
  partitionCount?: number;
  prefix?: string;
  /** extra environment for every service (WORK_MS, CONCURRENCY, ...) */
  env?: Record<string, string>;
  /** run from TypeScript sources through tsx even when a build exists */
  fromSource?: boolean;
  /** node options before the entry point (e.g. --cpu-prof, which NODE_OPTIONS may not carry) */
  nodeArgs?: string[];
  /** also start the HTTP ingest on this loopback port (needs services/ingest); it declares the pipeline as strict unless PIPELINES is set */
  ingestPort?: number;
  /** processors serving every partition of every `events-*` pipeline, the event API's (default 0) */
  eventProcessors?: number;
  /** wait until every service has logged that it started (default true) */
  waitReady?: boolean;
}

export interface ServiceGroup {
  readonly processors: ServiceHandle[];
  readonly sequencers: ServiceHandle[];
  /** processors of PIPELINE='events-*' */
  readonly eventProcessors: ServiceHandle[];
  readonly ingest: ServiceHandle | undefined;
  readonly all: ServiceHandle[];
  /** the sequencer that holds the lease of a partition (default: the first served), from the fence owner in the meta hash */
  leader(partition?: number): Promise<ServiceHandle | undefined>;
  /** the leader once one holds the lease, or undefined when none does within `timeoutMs` */
  waitForLeader(timeoutMs: number, partition?: number): Promise<ServiceHandle | undefined>;
  /** stops every service (SIGTERM, SIGKILL after a grace) and closes the group's connection */
  stop(graceMs?: number): Promise<void>;
}

/** The environment every service of the group starts from: the caller's, then the group's settings, then `env`. */
function groupEnv(opts: StartServicesOptions): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  // One port cannot serve several services; set it per service through `env` if needed.
  delete inherited.HEALTH_PORT;
  // The group says which partitions are served; a PARTITION or PARTITIONS of the caller's shell would contradict it.
  delete inherited.PARTITION;
  delete inherited.PARTITIONS;
  const partition = opts.partition ?? 0;
  return {
    ...inherited,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    REDIS_URL: opts.redisUrl,
    PIPELINE: opts.pipeline,
    ...(partition === 'all' ? { PARTITIONS: 'all' } : { PARTITION: String(partition) }),
    KEY_PREFIX: opts.prefix ?? 'inorder',
    ...opts.env,
  };
}

/** Reads who leads a partition: the fence owner, while the lease is held. */
async function leaderOf(redis: RedisClient, keys: PartitionKeys, sequencers: readonly ServiceHandle[]): Promise<ServiceHandle | undefined> {
  const [held, fence] = await Promise.all([redis.exists(keys.leader), redis.hget(keys.meta, 'fence')]);
  if (held !== 1 || !fence) return undefined;
  const owner = fence.slice(0, fence.lastIndexOf(':'));
  return sequencers.find((s) => s.running && s.instance === owner);
}

/** Spawns the group's services, in order: processors, sequencers, `events-*` processors, then the ingest when asked. */
function spawnServices(opts: StartServicesOptions): Pick<ServiceGroup, 'processors' | 'sequencers' | 'eventProcessors' | 'ingest'> {
  const baseEnv = groupEnv(opts);
  const make = (name: string, role: ServiceRole, extra: Record<string, string> = {}, probe?: () => Promise<boolean>): ServiceHandle =>
    new LocalService(name, role, [...(opts.nodeArgs ?? []), ...serviceCommand(role, opts.fromSource)], { ...baseEnv, ...extra }, probe);
  const count = (n: number | undefined, name: string, role: ServiceRole, extra?: Record<string, string>): ServiceHandle[] =>
    Array.from({ length: n ?? 0 }, (_, i) => make(`${name}-${i + 1}`, role, extra));

  const processors = count(opts.processors, 'processor', 'processor');
  const sequencers = count(opts.sequencers, 'sequencer', 'sequencer');
  const eventProcessors = count(opts.eventProcessors, 'events-processor', 'processor', { PIPELINE: 'events-*', PARTITIONS: 'all' });
  const declared = `${opts.pipeline}:strict${opts.partitionCount === undefined ? '' : `:${opts.partitionCount}`}`;
  const ingest =
    opts.ingestPort === undefined
      ? undefined
      : make('ingest-1', 'ingest', { PORT: String(opts.ingestPort), HOST: '127.0.0.1', PIPELINES: baseEnv.PIPELINES ?? declared }, () =>
          portOpen(opts.ingestPort!),
        );
  return { processors, sequencers, eventProcessors, ingest };
}

/**
 * Starts processors and sequencers (and the HTTP ingest and `events-*` processors when asked) of
 * one pipeline as child processes, each with settings from the environment: the caller's
 * environment, then REDIS_URL, PIPELINE, PARTITION (or PARTITIONS=all), KEY_PREFIX, then `env`.
 */
export async function startServices(opts: StartServicesOptions): Promise<ServiceGroup> {
  const { processors, sequencers, eventProcessors, ingest } = spawnServices(opts);
  const all = [...processors, ...sequencers, ...eventProcessors, ...(ingest ? [ingest] : [])];
  const first = typeof opts.partition === 'number' ? opts.partition : 0;
  let redis: RedisClient | undefined;

  const group: ServiceGroup = {
    processors,
    sequencers,
    eventProcessors,
    ingest,
    all,
    leader(partition = first) {
      redis ??= connect(opts.redisUrl, { name: 'inorder-scripts-stack' });
      return leaderOf(redis, keysFor(opts.pipeline, partition, opts.prefix ?? 'inorder'), sequencers);
    },
    waitForLeader(timeoutMs, partition) {
      return waitFor(() => group.leader(partition), { timeoutMs }).catch(() => undefined);
    },
    async stop(graceMs = 10_000) {
      // All at once: each stops gracefully on its own (processors return open claims,
      // the leader releases its lease), and nothing here depends on their order.
      await Promise.all(all.map((s) => s.stop(graceMs)));
      redis?.disconnect();
      redis = undefined;
    },
  };

  if (opts.waitReady ?? true) {
    try {
      await Promise.all(all.map((s) => s.ready()));
    } catch (error) {
      await group.stop(2000);
      throw error;
    }
  }
  return group;
}
