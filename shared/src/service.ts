import { createServer, type Server } from 'node:http';
import type { RedisClient } from './redis.js';
import { MAX_DURATION_MS } from './config/values.js';
import { ConfigError, HandlerLoadError, LayoutError, RedisConnectionError } from './errors.js';
import { PartitionCountError, PipelineConflictError } from './registry.js';
import { flushLogger, type Logger } from './logger.js';

export interface RunningService {
  /** stops the work gracefully; resolves when it is safe to close the connections */
  stop(): Promise<void>;
  /** connections to close after stop */
  connections: RedisClient[];
  /** checked by /readyz */
  ready?: () => Promise<boolean>;
  healthPort?: number | undefined;
  /** served as GET /metrics on the health port (Prometheus text) */
  metrics?: { text(): Promise<string>; contentType: string } | undefined;
  /** the hosted code's own close hook (a handler module's `close` export): called once, after stop */
  close?: (() => unknown) | undefined;
  /** how long stop() may take by design (SHUTDOWN_GRACE_MS); the hard deadline is 5 s more */
  shutdownGraceMs?: number | undefined;
}

/** How long past the grace period a shutdown may take before the process is ended anyway. */
export const SHUTDOWN_DEADLINE_EXTRA_MS = 5000;

/** Exit code after a second SIGINT (128 + 2, as shells report Ctrl-C). */
const SIGINT_EXIT = 130;

/**
 * Runs a service: start, then on SIGTERM or SIGINT stop the work, call the hosted code's close
 * hook once, close the connections and the health server, and exit explicitly (0, or 1 when a
 * step failed): a handler's open pool or socket must not keep the process alive. A hard deadline,
 * SHUTDOWN_GRACE_MS + 5 s from the signal, exits 1 naming what was still pending. A second
 * SIGTERM is logged and ignored; a second SIGINT exits at once (130). A signal during start
 * aborts `start`'s signal (a service waiting for Redis stops waiting) and exits 0.
 *
 * A configuration error prints every bad variable and exits 2; any other start-up failure
 * (Redis refusing the credentials, for one) exits 1. An unhandled promise rejection is logged
 * (`event: 'unhandled-rejection'`) and the process keeps running; an uncaught exception is
 * logged (`event: 'uncaught-exception'`) and the process exits 1.
 */
export async function runService(logger: Logger, start: (signal: AbortSignal) => Promise<RunningService>): Promise<void> {
  await new ServiceRunner(logger).run(start);
}

type State = 'starting' | 'running' | 'stopping' | 'exiting';

class ServiceRunner {
  private state: State = 'starting';
  private readonly stopRequested = new AbortController();
  private signalledAt = 0;
  private deadline: NodeJS.Timeout | undefined;
  /** the shutdown steps under way, named in the deadline's log line */
  private readonly pending = new Set<string>(['start']);
  private service: RunningService | undefined;
  private health: Server | undefined;

  constructor(private readonly logger: Logger) {}

  async run(start: (signal: AbortSignal) => Promise<RunningService>): Promise<void> {
    this.watchProcess();
    try {
      this.service = await start(this.stopRequested.signal);
    } catch (error) {
      if (this.stopRequested.signal.aborted) return this.exit(0, 'stopped before it started');
      return this.startFailed(error);
    } finally {
      this.pending.delete('start');
    }
    this.armDeadline();
    const { healthPort, ready, metrics } = this.service;
    if (healthPort !== undefined && !this.stopRequested.signal.aborted) {
      try {
        this.health = await serveHealth(healthPort, ready, metrics);
      } catch (error) {
        this.logger.error('cannot serve health checks', { port: healthPort, error: String(error) });
        return this.shutdown(false);
      }
    }
    this.state = 'running';
    if (this.stopRequested.signal.aborted) await this.shutdown();
  }

  private watchProcess(): void {
    process.on('SIGTERM', () => this.onSignal('SIGTERM'));
    process.on('SIGINT', () => this.onSignal('SIGINT'));
    process.on('unhandledRejection', (reason) => {
      const error = reason instanceof Error ? reason : undefined;
      this.logger.error('unhandled promise rejection', {
        event: 'unhandled-rejection',
        error: error?.message ?? String(reason),
        stack: error?.stack,
      });
    });
    process.on('uncaughtException', (error) => {
      this.logger.error('uncaught exception', { event: 'uncaught-exception', error: error.message, stack: error.stack });
      void this.exit(1, 'uncaught exception');
    });
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.state === 'exiting') return;
    if (this.stopRequested.signal.aborted) {
      if (signal === 'SIGINT') {
        this.logger.warn('second SIGINT: exiting at once', { event: 'signal-exit', signal, pending: [...this.pending] });
        void this.exit(SIGINT_EXIT, 'second SIGINT');
      } else {
        this.logger.warn('already stopping: signal ignored', { event: 'signal-ignored', signal, pending: [...this.pending] });
      }
      return;
    }
    this.signalledAt = Date.now();
    this.logger.info('stopping', { signal });
    this.stopRequested.abort();
    this.armDeadline();
    if (this.state === 'running') void this.shutdown();
  }

  /** (Re)arms the hard deadline, from the signal: the grace period is known once start resolved. */
  private armDeadline(): void {
    if (!this.stopRequested.signal.aborted) return;
    clearTimeout(this.deadline);
    const deadlineMs = Math.min((this.service?.shutdownGraceMs ?? 0) + SHUTDOWN_DEADLINE_EXTRA_MS, MAX_DURATION_MS);
    const left = Math.max(0, this.signalledAt + deadlineMs - Date.now());
    this.deadline = setTimeout(() => {
      this.logger.error('shutdown deadline passed: exiting with work still pending', {
        event: 'shutdown-deadline',
        deadlineMs,
        pending: [...this.pending],
      });
      void this.exit(1, 'shutdown deadline passed');
    }, left);
    this.deadline.unref();
  }

  private async shutdown(ok = true): Promise<void> {
    if (this.state === 'stopping' || this.state === 'exiting') return;
    this.state = 'stopping';
    const service = this.service!;
    ok = (await this.step('stop', () => service.stop())) && ok;
    if (service.close) ok = (await this.step('handler close()', service.close)) && ok;
    await this.step('Redis connections', () => {
      for (const c of service.connections) c.disconnect();
    });
    const health = this.health;
    if (health) ok = (await this.step('health server', () => closeServer(health))) && ok;
    await this.exit(ok ? 0 : 1, ok ? 'stopped' : 'stopped with errors');
  }

  /** Runs one shutdown step; a failure is logged and does not stop the next steps. */
  private async step(name: string, action: () => unknown): Promise<boolean> {
    this.pending.add(name);
    try {
      await action();
      return true;
    } catch (error) {
      this.logger.error(`${name} failed`, {
        error: error instanceof Error ? error.message : String(error),
        stack: (error as Error)?.stack,
      });
      return false;
    } finally {
      this.pending.delete(name);
    }
  }

  private async startFailed(error: unknown): Promise<void> {
    const refused =
      error instanceof ConfigError ||
      error instanceof HandlerLoadError ||
      error instanceof LayoutError ||
      error instanceof PipelineConflictError ||
      error instanceof PartitionCountError;
    if (refused || error instanceof RedisConnectionError) {
      process.stderr.write(`${error.message}\n`);
      this.logger.error('cannot start', { error: error.message });
    } else {
      this.logger.error('cannot start', { error: error instanceof Error ? error.stack : String(error) });
    }
    await this.exit(refused ? 2 : 1, 'cannot start');
  }

  /** Ends the process with `code` once the log is flushed; the first call wins. */
  private async exit(code: number, why: string): Promise<void> {
    if (this.state === 'exiting') return;
    this.state = 'exiting';
    clearTimeout(this.deadline);
    process.exitCode = code;
    this.logger.info('exiting', { exitCode: code, why, ...(this.signalledAt ? { sinceSignalMs: Date.now() - this.signalledAt } : {}) });
    await flushLogger(this.logger);
    process.exit(code);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** GET /healthz: the process is up. GET /readyz: Redis answers. GET /metrics: Prometheus text. */
export function serveHealth(
  port: number,
  ready: () => Promise<boolean> = async () => true,
  metrics?: RunningService['metrics'],
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics' && metrics) {
      metrics
        .text()
        .then((text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text))
        .catch((error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}`));
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.url === '/readyz') {
      void ready()
        .catch(() => false)
        .then((ok) =>
          res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'not ready' })),
        );
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
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
