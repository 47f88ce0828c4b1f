import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { defineCommands } from './commands.js';
import { ConnectionWatch } from './redis-failures.js';
import { isClusterUrl, parseClusterUrl, redactRedisUrl } from './redis-url.js';
import { setReplicaAcks, type ReplicaAcks } from './replica-acks.js';
import type { Logger } from './logger.js';

/**
 * A connection to a single Redis or to a Redis Cluster. Every key of a partition shares one
 * hash tag and every script declares its keys, so the code needs nothing else to run on either.
 */
export type RedisClient = Redis | Cluster;

/**
 * TLS material for rediss:// and rediss+cluster:// connections, as PEM text (read from the
 * REDIS_TLS_*_FILE settings at start). Without `ca`, the server's certificate is checked against
 * Node's trusted CAs.
 */
export interface RedisTls {
  /** CA certificate(s) that signed the server's certificate */
  ca?: string;
  /** client certificate, for servers that require one (mutual TLS); always with `key` */
  cert?: string;
  /** the client certificate's private key */
  key?: string;
}

export interface ConnectOptions {
  /** connection name shown by CLIENT LIST */
  name?: string;
  /** TLS material; only for a rediss:// or rediss+cluster:// URL */
  tls?: RedisTls | undefined;
  /**
   * Fail commands at once while disconnected instead of queueing them until Redis is back.
   * Services queue (they retry their steps); the HTTP ingest fails fast and answers 503.
   */
  failFast?: boolean;
  /** logs one warning per failed connection attempt (redacted URL, attempt, next delay, cause) */
  logger?: Logger | undefined;
  /** REPLICA_ACKS: every submit, completion, failure and emit on this connection waits for replicas */
  replicaAcks?: ReplicaAcks | undefined;
}

/**
 * Opens a connection with the project's Lua commands defined, and reconnects forever with capped
 * backoff. A redis:// or rediss:// URL (password and db in the URL) opens a single-node
 * connection; redis+cluster:// or rediss+cluster:// opens a Redis Cluster client that discovers
 * every node from the seeds and follows MOVED/ASK redirections and failovers. With a `logger`,
 * each failed connection attempt is logged with its cause (see describeConnectionError).
 */
export function connect(url: string, options: ConnectOptions = {}): RedisClient {
  const watch = new ConnectionWatch(redactRedisUrl(url), options.logger);
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: options.failFast ? 0 : null,
    enableOfflineQueue: !options.failFast,
    retryStrategy: (times) => watch.failed(times),
    reconnectOnError: (err) => err.message.startsWith('READONLY') || err.message.startsWith('LOADING'),
    ...tlsOptions(url, options.tls),
  };
  const redis = isClusterUrl(url) ? connectCluster(url, redisOptions, options, watch) : new Redis(url, redisOptions);
  watch.attach(redis);
  closeAtOnce(redis);
  defineCommands(redis);
  setReplicaAcks(redis, options.replicaAcks);
  return redis;
}

/** The `tls` option of a TLS URL, with the CA and client certificate when given. */
function tlsOptions(url: string, tls: RedisTls | undefined): { tls?: ConnectionOptions } {
  if (!/^rediss(\+cluster)?:\/\//.test(url)) {
    if (tls) throw new RangeError('TLS settings need a rediss:// or rediss+cluster:// URL');
    return {};
  }
  return { tls: { ...(tls?.ca ? { ca: tls.ca } : {}), ...(tls?.cert ? { cert: tls.cert } : {}), ...(tls?.key ? { key: tls.key } : {}) } };
}

function connectCluster(url: string, redisOptions: RedisOptions, options: ConnectOptions, watch: ConnectionWatch): Cluster {
  const { seeds, tls, username, password } = parseClusterUrl(url);
  const clusterOptions: ClusterOptions = {
    // The cluster client reconnects as a whole (its node connections never retry on their own).
    clusterRetryStrategy: (times, reason) => watch.failed(times, reason),
    enableOfflineQueue: !options.failFast,
    redisOptions: {
      connectionName: redisOptions.connectionName,
      maxRetriesPerRequest: redisOptions.maxRetriesPerRequest,
      reconnectOnError: redisOptions.reconnectOnError,
      username,
      password,
      ...(tls ? { tls: redisOptions.tls } : {}),
    },
    // With TLS, connect by the name the certificate carries (ElastiCache), not a resolved address.
  };
  if (tls) clusterOptions.dnsLookup = (address, callback) => callback(null, address);
  return new Cluster(seeds, clusterOptions);
}

/**
 * ioredis leaves the commands of a client that is waiting to reconnect in its offline queue when
 * it is disconnected (no socket event will ever flush them), so whoever awaits them waits forever:
 * a blocking read on a connection that never came up held a processor's shutdown. Disconnecting
 * now ends such a client and rejects its commands, and closes a live socket without waiting for
 * the server's answer (a paused server never sends it).
 */
function closeAtOnce(redis: RedisClient): void {
  const disconnect = redis.disconnect.bind(redis);
  const internals = redis as unknown as { flushQueue(error: Error): void; setStatus(status: string): void; stream?: { destroy(): void } };
  redis.disconnect = (reconnect = false): void => {
    const waiting = redis.status === 'reconnecting';
    disconnect(reconnect);
    if (reconnect) return;
    if (waiting) {
      internals.flushQueue(new Error('Connection is closed.'));
      internals.setStatus('end');
    } else if (redis instanceof Redis && redis.status !== 'end') {
      internals.stream?.destroy();
    }
  };
}

export * from './redis-url.js';
export { describeConnectionError, waitUntilConnected, type ConnectionFailure } from './redis-failures.js';
export { setReplicaAcks, type AckedStep, type ReplicaAcks, type ShortAck } from './replica-acks.js';
