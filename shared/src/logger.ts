import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import winston from 'winston';

export type Logger = winston.Logger;

/** A short id unique to this process, used as the owner of claims and leases. */
export const instanceId = `${hostname().replace(/[^A-Za-z0-9_.-]/g, '')}-${process.pid}-${randomBytes(3).toString('hex')}`;

/**
 * The one place loggers are made: JSON lines on stderr, each carrying the component and the
 * instance id. Callers add pipeline, partition and seq with `logger.child({...})`.
 */
export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component, instance: instanceId },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
  });
}

/** A logger that writes nothing: for library users who pass none, and for tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}

/**
 * Resolves once the lines logged so far have reached stderr, or after `timeoutMs`: call it
 * before process.exit so that the last lines (why the process exits) are not lost.
 */
export async function flushLogger(logger: Logger, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const buffered = (): number => logger.readableLength + logger.transports.reduce((n, t) => n + (t.writableLength ?? 0), 0);
  while (buffered() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    process.stderr.write('', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
