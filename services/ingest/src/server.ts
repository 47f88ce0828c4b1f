import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { connect, redactRedisUrl, redisReady, registerPipeline, type Logger, type RunningService } from '@inorder/shared';
import { buildApp } from './app.js';
import type { IngestConfig } from './config.js';
import { RedisUnavailableError } from './errors.js';

export interface RunningIngest extends RunningService {
  app: FastifyInstance;
  port: number;
}

/**
 * Starts the ingest: connects (fail-fast, so requests answer 503 at once while Redis is down),
 * waits for Redis up to STARTUP_TIMEOUT_MS, registers the PIPELINES it declares, then listens.
 * `stop` stops accepting connections and resolves once in-flight requests have finished.
 */
export async function startIngest(config: IngestConfig, logger: Logger): Promise<RunningIngest> {
  const redis = connect(config.redisUrl, { name: 'inorder-ingest', failFast: true });
  try {
    await waitForRedis(config, logger, () => redisReady(redis, config.redisTimeoutMs));
    for (const p of config.pipelines) {
      const { settings, created } = await registerPipeline(redis, p.name, { ordering: p.ordering, partitions: p.partitions }, config.keyPrefix);
      logger.info(created ? 'pipeline created' : 'pipeline registered already', { pipeline: p.name, ordering: settings.ordering, partitions: settings.partitions });
    }
    const app = await buildApp({ redis, config, logger });
    await app.listen({ port: config.port, host: config.host });
    const port = (app.server.address() as AddressInfo).port;
    logger.info('listening', { host: config.host, port, docs: '/docs' });
    return { app, port, stop: () => stop(app, config.shutdownGraceMs, logger), connections: [redis], ready: () => redisReady(redis, config.redisTimeoutMs) };
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

async function waitForRedis(config: IngestConfig, logger: Logger, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + config.startupTimeoutMs;
  let warned = false;
  while (!(await ready())) {
    if (Date.now() > deadline) {
      throw new RedisUnavailableError(`Redis at ${redactRedisUrl(config.redisUrl)} did not answer within STARTUP_TIMEOUT_MS (${config.startupTimeoutMs} ms)`);
    }
    if (!warned) logger.warn('waiting for Redis', { redis: redactRedisUrl(config.redisUrl) });
    warned = true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
