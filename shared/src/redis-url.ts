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
  if (!match)
    throw new RangeError(
      'must be redis+cluster://[user:password@]host:port[,host:port...] (rediss+cluster:// for TLS), without a /db path',
    );
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
