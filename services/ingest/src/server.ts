import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import {
  ShortAckLog,
  connect,
  redactRedisUrl,
  redisConnectOptions,
  redisReady,
  registerPipeline,
  replicaAcksOption,
  waitUntilConnected,
  type Logger,
  type RedisClient,
  type RunningService,
} from '@inorder/shared';
import { buildApp } from './app.js';
import type { IngestConfig } from './config.js';
import { RedisUnavailableError } from './errors.js';
import { IngestMetrics } from './metrics.js';

export interface RunningIngest extends RunningService {
  app: FastifyInstance;
  port: number;
}

/** The ingest's settings (with the TLS material read from the REDIS_TLS_*_FILE settings). */
export type IngestStartConfig = IngestConfig;

/**
 * Starts the ingest: connects (fail-fast, so requests answer 503 at once while Redis is down),
 * waits for Redis up to STARTUP_TIMEOUT_MS (a wrong password or an untrusted certificate stops
 * the start at once), registers the PIPELINES it declares, then listens. `stop` stops accepting
 * connections and resolves once in-flight requests have finished.
 */
export async function startIngest(config: IngestStartConfig, logger: Logger, signal?: AbortSignal): Promise<RunningIngest> {
  const metrics = new IngestMetrics();
  // REPLICA_ACKS: each submit waits for replicas before it is answered; a short wait is logged and counted.
  const replicaAcks = replicaAcksOption(config, new ShortAckLog(logger, (short) => metrics.noteShortAck(short)).report);
  const redis = connect(config.redisUrl, redisConnectOptions(config, { name: 'inorder-ingest', failFast: true, logger, replicaAcks }));
  try {
    await waitForRedis(redis, config, logger, signal);
    for (const p of config.pipelines) {
      const { settings, created } = await registerPipeline(
        redis,
        p.name,
        { ordering: p.ordering, partitions: p.partitions },
        config.keyPrefix,
        Date.now(),
        { partitionCheck: p.partitions === undefined ? 'any' : 'exact' },
      );
      logger.info(created ? 'pipeline created' : 'pipeline registered already', {
        pipeline: p.name,
        ordering: settings.ordering,
        partitions: settings.partitions,
      });
    }
    if (config.apiKeys.length === 0) {
      logger.warn('authentication is off: API_KEYS is unset, so anyone who can reach this port can submit messages and read pipelines');
    }
    const app = await buildApp({ redis, config, logger, metrics });
    await app.listen({ port: config.port, host: config.host });
    const port = (app.server.address() as AddressInfo).port;
    logger.info('listening', { host: config.host, port, docs: '/docs' });
    return {
      app,
      port,
      stop: () => stop(app, config.shutdownGraceMs, logger),
      connections: [redis],
      ready: () => redisReady(redis, config.redisTimeoutMs),
      shutdownGraceMs: config.shutdownGraceMs,
    };
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}

/** Stops accepting, lets in-flight requests finish, and cuts connections still open after the grace period. */
async function stop(app: FastifyInstance, graceMs: number, logger: Logger): Promise<void> {
  const force = setTimeout(() => {
    logger.warn('shutdown grace period over: closing the connections still open', { graceMs });
    app.server.closeAllConnections();
  }, graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(force);
  }
}

/** Waits for the connection to be ready; refuses at once what waiting will not fix (a wrong password). */
async function waitForRedis(redis: RedisClient, config: IngestConfig, logger: Logger, signal: AbortSignal | undefined): Promise<void> {
  const started = Date.now();
  const quick = Math.min(200, config.startupTimeoutMs);
  if (await waitUntilConnected(redis, { timeoutMs: quick, ...(signal ? { signal } : {}) })) return;
  logger.warn('waiting for Redis', { redis: redactRedisUrl(config.redisUrl), timeoutMs: config.startupTimeoutMs });
  const left = Math.max(0, config.startupTimeoutMs - (Date.now() - started));
  if (!(await waitUntilConnected(redis, { timeoutMs: left, ...(signal ? { signal } : {}) }))) {
    throw new RedisUnavailableError(
      `Redis at ${redactRedisUrl(config.redisUrl)} did not answer within STARTUP_TIMEOUT_MS (${config.startupTimeoutMs} ms)`,
    );
  }
}
