import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { defineCommands } from './commands.js';

/**
 * A connection to a single Redis or to a Redis Cluster. Every key of a partition shares one
 * hash tag and every script declares its keys, so the code needs nothing else to run on either.
 */
export type RedisClient = Redis | Cluster;

export interface ConnectOptions {
  /** connection name shown by CLIENT LIST */
  name?: string;
  /**
   * Fail commands at once while disconnected instead of queueing them until Redis is back.
   * Services queue (they retry their steps); the HTTP ingest fails fast and answers 503.
   */
  failFast?: boolean;
}

/**
 * Opens a connection from a redis:// or rediss:// URL (password and db in the URL) with the
 * project's Lua commands defined. Reconnects forever with capped backoff.
 */
export function connect(url: string, options: ConnectOptions = {}): RedisClient {
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: options.failFast ? 0 : null,
    enableOfflineQueue: !options.failFast,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    reconnectOnError: (err) => err.message.startsWith('READONLY') || err.message.startsWith('LOADING'),
  };
  const redis = new Redis(url, redisOptions);
  // Connection errors are reported through the reconnect cycle; without a listener Node prints
  // them as unhandled 'error' events.
  redis.on('error', () => {});
  defineCommands(redis);
  return redis;
}
