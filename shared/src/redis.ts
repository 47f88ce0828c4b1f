import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { defineCommands } from './commands.js';
import { RedisConnectionError } from './errors.js';
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
  // A raw / ? or # ends the host part early: the password would be read as a host name.
  const credentials = url.slice(url.indexOf('//') + 2, Math.max(url.indexOf('//') + 2, url.lastIndexOf('@')));
  if (/[/?#]/.test(credentials)) return 'the user name or password holds a raw / ? or #: URL-encode them (%2F %3F %23, and @ as %40)';
  if (!URL.canParse(url)) return 'is not a valid URL';
  return undefined;
}

const backoff = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2000);

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

/** Why a connection attempt failed, in words an operator can act on. */
export interface ConnectionFailure {
  cause: string;
  /** waiting will not fix it (credentials, certificates): a service exits at start */
  permanent: boolean;
}

type ErrorLike = Error & { code?: string; address?: string; port?: number; hostname?: string; lastNodeError?: unknown; errors?: unknown[] };

/** The error and the errors it wraps (a cluster's last node error, causes). */
function chain(error: unknown): ErrorLike[] {
  const found: ErrorLike[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (!(e instanceof Error) || depth > 4 || found.includes(e)) return;
    const like = e as ErrorLike;
    found.push(like);
    visit(like.lastNodeError, depth + 1);
    visit(like.cause, depth + 1);
    for (const inner of like.errors ?? []) visit(inner, depth + 1);
  };
  visit(error, 0);
  return found;
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

const where = (e: ErrorLike): string => (e.address ? ` ${e.address}${e.port ? `:${e.port}` : ''}` : '');

/** Rules from the most to the least specific: the first that matches an error of the chain names the cause. */
const RULES: Array<(e: ErrorLike) => ConnectionFailure | undefined> = [
  (e) => (/WRONGPASS|invalid username-password pair|invalid password/i.test(e.message)
    ? { cause: 'wrong password or user name (WRONGPASS): check the credentials in REDIS_URL', permanent: true } : undefined),
  (e) => (/NOAUTH|Authentication required/i.test(e.message)
    ? { cause: 'Redis requires a password (NOAUTH): put the credentials in REDIS_URL (redis://user:password@host:port)', permanent: true } : undefined),
  (e) => (e.code && UNTRUSTED.has(e.code)
    ? { cause: `TLS: the server's certificate is not trusted (${e.code}): set REDIS_TLS_CA_FILE to the CA that signed it`, permanent: true } : undefined),
  (e) => (e.code === 'CERT_HAS_EXPIRED' || e.code === 'CERT_NOT_YET_VALID'
    ? { cause: `TLS: the server's certificate has expired or is not valid yet (${e.code})`, permanent: true } : undefined),
  (e) => (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
    ? { cause: `TLS: the server's certificate is not for this host name (${e.message}): connect by a name the certificate carries`, permanent: true } : undefined),
  (e) => (/certificate required|alert handshake failure/i.test(`${e.code ?? ''} ${e.message}`)
    ? { cause: 'TLS: the server requires a client certificate: set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE', permanent: true } : undefined),
  (e) => (/alert (bad certificate|unknown ca|certificate unknown|unsupported certificate)/i.test(e.message)
    ? { cause: `TLS: the server refused the client certificate (${e.message}): is it signed by a CA the server trusts?`, permanent: true } : undefined),
  (e) => (/wrong version number|packet length too long|unknown protocol/i.test(`${e.code ?? ''} ${e.message}`)
    ? { cause: 'TLS: the server does not speak TLS on this port: use redis:// or the server\'s TLS port', permanent: true } : undefined),
  (e) => (/max number of clients reached/i.test(e.message)
    ? { cause: 'Redis refuses new connections: max number of clients reached (maxclients): raise maxclients or open fewer connections', permanent: false } : undefined),
  (e) => (e.code === 'ECONNREFUSED'
    ? { cause: `connection refused by${where(e)}: nothing listens there (is Redis running, and is the port right?)`, permanent: false } : undefined),
  (e) => (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'EAI_NONAME'
    ? { cause: `host name ${e.hostname ?? ''} not found (${e.code}): check the host in REDIS_URL and DNS`.replace('  ', ' '), permanent: false } : undefined),
  (e) => (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'EHOSTDOWN'
    ? { cause: `host unreachable${where(e)} (${e.code}): check the host in REDIS_URL and the network route to it`, permanent: false } : undefined),
  (e) => (e.code === 'ETIMEDOUT' || /timed? ?out/i.test(e.message)
    ? { cause: `connection timed out${where(e)}: no answer (a firewall or security group, or a wrong host or port?)`, permanent: false } : undefined),
  (e) => (e.code === 'ECONNRESET' || e.code === 'EPIPE'
    ? {
      cause: `the server closed the connection before answering (${e.code}): Redis does this at maxclients (max number of clients reached), ` +
        'to a plain client on a TLS port (use rediss://), and to a TLS client without a client certificate it requires',
      permanent: false,
    } : undefined),
  (e) => (/LOADING/.test(e.message) ? { cause: 'Redis is loading its data set into memory', permanent: false } : undefined),
];

/**
 * Names the cause of a failed connection (wrong password, certificate not trusted, client
 * certificate required, refused, host not found or unreachable, timeout, maxclients) and whether
 * waiting can fix it. Never includes a secret: Redis's and Node's messages carry none.
 */
export function describeConnectionError(error: unknown): ConnectionFailure {
  const errors = chain(error);
  for (const rule of RULES) {
    for (const e of errors) {
      const failure = rule(e);
      if (failure) return failure;
    }
  }
  const last = errors[errors.length - 1];
  return { cause: last ? `${last.code ? `${last.code}: ` : ''}${last.message}` : String(error), permanent: false };
}

/** Follows one client's connection: logs each failed attempt, and keeps its last failure. */
class ConnectionWatch {
  /** the last failure since the connection was last ready */
  lastFailure: ConnectionFailure | undefined;
  /** errors seen since the last failed attempt: the most specific one names the cause */
  private errors: unknown[] = [];
  private failures = 0;
  private wasReady = false;

  constructor(readonly url: string, private readonly logger: Logger | undefined) {}

  attach(redis: RedisClient): void {
    watches.set(redis, this);
    // Without an 'error' listener Node would print connection errors as unhandled events.
    const onError = (error: unknown): void => {
      if (this.errors.length < 20) this.errors.push(error);
      this.lastFailure = describeConnectionError(new AggregateError(this.errors));
    };
    redis.on('error', onError);
    if (redis instanceof Cluster) redis.on('node error', onError);
    redis.on('ready', () => this.ready());
  }

  /** The reconnect strategy: one warning per failed attempt, then the capped backoff. */
  failed(attempt: number, reason?: unknown): number {
    const delay = backoff(attempt);
    const errors = reason === undefined ? this.errors : [...this.errors, reason];
    const failure = errors.length === 0
      ? { cause: 'the connection was closed (by the server or the network)', permanent: false }
      : describeConnectionError(new AggregateError(errors));
    this.lastFailure = failure;
    this.errors = [];
    this.failures = attempt;
    const message = attempt === 1 && this.wasReady ? 'Redis connection lost; reconnecting' : 'Redis connection attempt failed; retrying';
    this.logger?.warn(message, { event: 'redis-connection-failed', redis: this.url, attempt, retryInMs: delay, cause: failure.cause });
    return delay;
  }

  private ready(): void {
    if (this.failures > 0) this.logger?.info('Redis connection ready', { event: 'redis-connection-ready', redis: this.url, attempt: this.failures + 1 });
    else this.logger?.debug('Redis connection ready', { event: 'redis-connection-ready', redis: this.url });
    this.failures = 0;
    this.wasReady = true;
    this.lastFailure = undefined;
    this.errors = [];
  }
}

const watches = new WeakMap<RedisClient, ConnectionWatch>();

/**
 * Resolves true once the client is ready, false after `timeoutMs` (when given); rejects with a
 * RedisConnectionError as soon as a failure that waiting will not fix is seen (a wrong password,
 * an untrusted certificate), and with the signal's reason when `signal` aborts. Services call it
 * at start so that a wrong password stops them at once, naming the cause.
 */
export function waitUntilConnected(redis: RedisClient, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  const watch = watches.get(redis);
  const url = watch?.url ?? 'the configured URL';
  const refusal = (failure: ConnectionFailure, cause?: unknown): RedisConnectionError => new RedisConnectionError(url, failure.cause, { cause });
  if (redis.status === 'ready') return Promise.resolve(true);
  if (watch?.lastFailure?.permanent) return Promise.reject(refusal(watch.lastFailure));
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (finish: () => void): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('node error', onError);
      options.signal?.removeEventListener('abort', onAbort);
      finish();
    };
    const onReady = (): void => settle(() => resolve(true));
    const onError = (error: unknown): void => {
      const failure = describeConnectionError(error);
      if (failure.permanent) settle(() => reject(refusal(failure, error)));
    };
    const onAbort = (): void => settle(() => reject(options.signal!.reason));
    redis.on('ready', onReady);
    redis.on('error', onError);
    if (redis instanceof Cluster) redis.on('node error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) timer = setTimeout(() => settle(() => resolve(false)), options.timeoutMs);
  });
}
