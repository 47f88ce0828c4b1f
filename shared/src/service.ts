import { createServer, type Server } from 'node:http';
import type { RedisClient } from './redis.js';
import { ConfigError, HandlerLoadError, LayoutError } from './errors.js';
import { PipelineConflictError } from './registry.js';
import type { Logger } from './logger.js';

export interface RunningService {
  /** stops the work gracefully; resolves when it is safe to close the connections */
  stop(): Promise<void>;
  /** connections to close after stop */
  connections: RedisClient[];
  /** checked by /readyz */
  ready?: () => Promise<boolean>;
  healthPort?: number | undefined;
}

/**
 * Runs a service: start, then on SIGTERM or SIGINT stop gracefully and let the event loop
 * empty (process.exitCode, no process.exit). A configuration error prints every bad variable
 * and exits 2; any other start-up failure exits 1.
 */
export async function runService(logger: Logger, start: () => Promise<RunningService>): Promise<void> {
  let service: RunningService;
  try {
    service = await start();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof HandlerLoadError || error instanceof LayoutError || error instanceof PipelineConflictError) {
      process.stderr.write(`${error.message}\n`);
      logger.error('cannot start', { error: error.message });
      process.exitCode = 2;
    } else {
      logger.error('cannot start', { error: error instanceof Error ? error.stack : String(error) });
      process.exitCode = 1;
    }
    logger.end();
    return;
  }
  const health = service.healthPort !== undefined ? await serveHealth(service.healthPort, service.ready) : undefined;
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    void (async () => {
      try {
        await service.stop();
        process.exitCode = 0;
      } catch (error) {
        logger.error('stop failed', { error: String(error) });
        process.exitCode = 1;
      } finally {
        health?.close();
        for (const c of service.connections) c.disconnect();
        process.removeAllListeners('SIGTERM');
        process.removeAllListeners('SIGINT');
      }
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** GET /healthz: the process is up. GET /readyz: RedisClient answers. */
export function serveHealth(port: number, ready: () => Promise<boolean> = async () => true): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.url === '/readyz') {
      ready()
        .catch(() => false)
        .then((ok) => res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'not ready' })));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  return new Promise((resolve) => server.listen(port, '0.0.0.0', () => resolve(server)));
}

/** Resolves true when Redis answers PING within `timeoutMs`. */
export async function redisReady(redis: RedisClient, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([redis.ping().then((r) => r === 'PONG'), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
