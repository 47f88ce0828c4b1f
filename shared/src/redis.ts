import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { defineCommands } from './commands.js';

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
}

/** A cluster seed node: any node of the cluster, or a managed service's configuration endpoint. */
export interface ClusterSeed {
  host: string;
  port: number;
}

export interface ClusterUrl {
  seeds: ClusterSeed[];
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/?#]*)@)?([^/?#]+)\/?$/;

/** True for a redis+cluster:// or rediss+cluster:// URL. */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//.test(url);
}

/**
 * Parses `redis+cluster://[user:password@]host:port[,host:port...]` (rediss+cluster:// for TLS).
 * Throws a RangeError saying what is wrong. A cluster has no databases, so no /db path.
 */
export function parseClusterUrl(url: string): ClusterUrl {
  const match = CLUSTER_URL.exec(url);
  if (!match) throw new RangeError('must be redis+cluster://[user:password@]host:port[,host:port...] (rediss+cluster:// for TLS), without a /db path');
  const [, scheme, credentials, hosts] = match;
  // Never echo the hosts then: they hold part of the password.
  if (hosts!.includes('@')) throw new RangeError('holds an @ after the credentials: URL-encode @ in the user name or password as %40');
  const seeds = hosts!.split(',').map((seed) => {
    const at = seed.lastIndexOf(':');
    const host = at > 0 ? seed.slice(0, at) : seed;
    const port = at > 0 ? Number(seed.slice(at + 1)) : 6379;
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`seed node "${seed}" is not host:port`);
    return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
  });
  let username: string | undefined;
  let password: string | undefined;
  if (credentials !== undefined) {
    const colon = credentials.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? credentials.slice(0, colon) : credentials) || undefined;
    password = colon >= 0 ? decodeURIComponent(credentials.slice(colon + 1)) || undefined : undefined;
  }
  return { seeds, tls: scheme === 'rediss', username, password };
}

/**
 * A Redis URL fit for a log line: single-node or cluster, `user:password@` or `:password@`
 * becomes `user:***@` or `:***@` (a bare `secret@`, ambiguous, becomes `***@`), and query
 * parameters that look like secrets (`?password=`) are masked. The credentials end at the
 * last `@`, so a password holding an unencoded `@`, `/`, `:`, `#` or `?` is hidden whole.
 */
export function redactRedisUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0] ?? '';
  let rest = url.slice(scheme.length);
  let credentials = '';
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    credentials = colon >= 0 ? `${userinfo.slice(0, colon)}:***@` : '***@';
    rest = rest.slice(at + 1);
  }
  rest = rest.replace(/([?&][^=&#]*(?:pass|auth|secret|token|key)[^=&#]*=)[^&#]*/gi, '$1***');
  return scheme + credentials + rest;
}

/** Why a REDIS_URL cannot be used, or undefined when it can (the config schemas ask this). */
export function redisUrlProblem(url: string): string | undefined {
  if (isClusterUrl(url)) {
    try {
      parseClusterUrl(url);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }
  if (!/^rediss?:\/\//.test(url)) return 'must start with redis://, rediss://, redis+cluster:// or rediss+cluster://';
  if (!URL.canParse(url)) return 'is not a valid URL';
  return undefined;
}

const backoff = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2000);

/**
 * Opens a connection with the project's Lua commands defined, and reconnects forever with capped
 * backoff. A redis:// or rediss:// URL (password and db in the URL) opens a single-node
 * connection; redis+cluster:// or rediss+cluster:// opens a Redis Cluster client that discovers
 * every node from the seeds and follows MOVED/ASK redirections and failovers.
 */
export function connect(url: string, options: ConnectOptions = {}): RedisClient {
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: options.failFast ? 0 : null,
    enableOfflineQueue: !options.failFast,
    retryStrategy: backoff,
    reconnectOnError: (err) => err.message.startsWith('READONLY') || err.message.startsWith('LOADING'),
  };
  const redis = isClusterUrl(url) ? connectCluster(url, redisOptions, options) : new Redis(url, redisOptions);
  // Connection errors are reported through the reconnect cycle; without a listener Node prints
  // them as unhandled 'error' events.
  redis.on('error', () => {});
  defineCommands(redis);
  return redis;
}

function connectCluster(url: string, redisOptions: RedisOptions, options: ConnectOptions): Cluster {
  const { seeds, tls, username, password } = parseClusterUrl(url);
  const clusterOptions: ClusterOptions = {
    // The cluster client reconnects as a whole (its node connections never retry on their own).
    clusterRetryStrategy: backoff,
    enableOfflineQueue: !options.failFast,
    redisOptions: {
      connectionName: redisOptions.connectionName,
      maxRetriesPerRequest: redisOptions.maxRetriesPerRequest,
      reconnectOnError: redisOptions.reconnectOnError,
      username,
      password,
      ...(tls ? { tls: {} } : {}),
    },
    // With TLS, connect by the name the certificate carries (ElastiCache), not a resolved address.
  };
  if (tls) clusterOptions.dnsLookup = (address, callback) => callback(null, address);
  return new Cluster(seeds, clusterOptions);
}
