import { Cluster, type Redis } from 'ioredis';
import { RedisConnectionError } from './errors.js';
import type { Logger } from './logger.js';

/** A single-node or cluster client (as RedisClient in redis.ts). */
type RedisClient = Redis | Cluster;

/** The reconnect delay after `times` failed attempts: doubling from 100 ms, at most 2 s. */
export const backoff = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2000);

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
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

const where = (e: ErrorLike): string => (e.address ? ` ${e.address}${e.port ? `:${e.port}` : ''}` : '');

/** Rules from the most to the least specific: the first that matches an error of the chain names the cause. */
const RULES: Array<(e: ErrorLike) => ConnectionFailure | undefined> = [
  (e) =>
    /WRONGPASS|invalid username-password pair|invalid password/i.test(e.message)
      ? { cause: 'wrong password or user name (WRONGPASS): check the credentials in REDIS_URL', permanent: true }
      : undefined,
  (e) =>
    /NOAUTH|Authentication required/i.test(e.message)
      ? { cause: 'Redis requires a password (NOAUTH): put the credentials in REDIS_URL (redis://user:password@host:port)', permanent: true }
      : undefined,
  (e) =>
    e.code && UNTRUSTED.has(e.code)
      ? {
          cause: `TLS: the server's certificate is not trusted (${e.code}): set REDIS_TLS_CA_FILE to the CA that signed it`,
          permanent: true,
        }
      : undefined,
  (e) =>
    e.code === 'CERT_HAS_EXPIRED' || e.code === 'CERT_NOT_YET_VALID'
      ? { cause: `TLS: the server's certificate has expired or is not valid yet (${e.code})`, permanent: true }
      : undefined,
  (e) =>
    e.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? {
          cause: `TLS: the server's certificate is not for this host name (${e.message}): connect by a name the certificate carries`,
          permanent: true,
        }
      : undefined,
  (e) =>
    /certificate required|alert handshake failure/i.test(`${e.code ?? ''} ${e.message}`)
      ? { cause: 'TLS: the server requires a client certificate: set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE', permanent: true }
      : undefined,
  (e) =>
    /alert (bad certificate|unknown ca|certificate unknown|unsupported certificate)/i.test(e.message)
      ? { cause: `TLS: the server refused the client certificate (${e.message}): is it signed by a CA the server trusts?`, permanent: true }
      : undefined,
  (e) =>
    /wrong version number|packet length too long|unknown protocol/i.test(`${e.code ?? ''} ${e.message}`)
      ? { cause: "TLS: the server does not speak TLS on this port: use redis:// or the server's TLS port", permanent: true }
      : undefined,
  (e) =>
    /max number of clients reached/i.test(e.message)
      ? {
          cause: 'Redis refuses new connections: max number of clients reached (maxclients): raise maxclients or open fewer connections',
          permanent: false,
        }
      : undefined,
  (e) =>
    e.code === 'ECONNREFUSED'
      ? { cause: `connection refused by${where(e)}: nothing listens there (is Redis running, and is the port right?)`, permanent: false }
      : undefined,
  (e) =>
    e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'EAI_NONAME'
      ? {
          cause: `host name ${e.hostname ?? ''} not found (${e.code}): check the host in REDIS_URL and DNS`.replace('  ', ' '),
          permanent: false,
        }
      : undefined,
  (e) =>
    e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'EHOSTDOWN'
      ? { cause: `host unreachable${where(e)} (${e.code}): check the host in REDIS_URL and the network route to it`, permanent: false }
      : undefined,
  (e) =>
    e.code === 'ETIMEDOUT' || /timed? ?out/i.test(e.message)
      ? { cause: `connection timed out${where(e)}: no answer (a firewall or security group, or a wrong host or port?)`, permanent: false }
      : undefined,
  (e) =>
    e.code === 'ECONNRESET' || e.code === 'EPIPE'
      ? {
          cause:
            `the server closed the connection before answering (${e.code}): Redis does this at maxclients (max number of clients reached), ` +
            'to a plain client on a TLS port (use rediss://), and to a TLS client without a client certificate it requires',
          permanent: false,
        }
      : undefined,
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
export class ConnectionWatch {
  /** the last failure since the connection was last ready */
  lastFailure: ConnectionFailure | undefined;
  /** errors seen since the last failed attempt: the most specific one names the cause */
  private errors: unknown[] = [];
  private failures = 0;
  private wasReady = false;

  constructor(
    readonly url: string,
    private readonly logger: Logger | undefined,
  ) {}

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
    const failure =
      errors.length === 0
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
    if (this.failures > 0)
      this.logger?.info('Redis connection ready', { event: 'redis-connection-ready', redis: this.url, attempt: this.failures + 1 });
    else this.logger?.debug('Redis connection ready', { event: 'redis-connection-ready', redis: this.url });
    this.failures = 0;
    this.wasReady = true;
    this.lastFailure = undefined;
    this.errors = [];
  }
}

export const watches = new WeakMap<RedisClient, ConnectionWatch>();

/**
 * Resolves true once the client is ready, false after `timeoutMs` (when given); rejects with a
 * RedisConnectionError as soon as a failure that waiting will not fix is seen (a wrong password,
 * an untrusted certificate), and with the signal's reason when `signal` aborts. Services call it
 * at start so that a wrong password stops them at once, naming the cause.
 */
export function waitUntilConnected(redis: RedisClient, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  const watch = watches.get(redis);
  const url = watch?.url ?? 'the configured URL';
  const refusal = (failure: ConnectionFailure, cause?: unknown): RedisConnectionError =>
    new RedisConnectionError(url, failure.cause, { cause });
  if (redis.status === 'ready') return Promise.resolve(true);
  if (watch?.lastFailure?.permanent) return Promise.reject(refusal(watch.lastFailure));
  if (options.signal?.aborted) return Promise.reject(options.signal.reason as unknown);
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
    const onAbort = (): void => settle(() => reject(options.signal!.reason as unknown));
    redis.on('ready', onReady);
    redis.on('error', onError);
    if (redis instanceof Cluster) redis.on('node error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) timer = setTimeout(() => settle(() => resolve(false)), options.timeoutMs);
  });
}
