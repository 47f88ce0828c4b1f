import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ConnectOptions, RedisTls } from '../redis.js';
import { setting, type Rule } from './settings.js';

/** A PEM file named by a setting, read at start; the value is its text. */
const pemFile = (what: string) =>
  z
    .string()
    .transform((path, ctx) => {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        });
        return z.NEVER;
      }
      if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
        ctx.addIssue({ code: 'custom', message: `${path} does not hold a PEM ${what} (no "-----BEGIN" line)` });
        return z.NEVER;
      }
      return text;
    })
    .optional();

/** The TLS settings every service takes: PEM files, read when the settings are loaded. */
export const tlsSettings = {
  tlsCa: setting('REDIS_TLS_CA_FILE', pemFile('certificate')),
  tlsCert: setting('REDIS_TLS_CERT_FILE', pemFile('certificate')),
  tlsKey: setting('REDIS_TLS_KEY_FILE', pemFile('private key')),
};

interface TlsValues {
  redisUrl: string;
  tlsCa: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
}

/** A client certificate needs its key (and the other way round), and TLS files need a TLS URL. */
export const tlsRule: Rule<TlsValues> = {
  reads: ['redisUrl', 'tlsCa', 'tlsCert', 'tlsKey'],
  check(c) {
    const problems: Array<[keyof TlsValues, string]> = [];
    if (c.tlsCert !== undefined && c.tlsKey === undefined)
      problems.push(['tlsKey', 'must be set with REDIS_TLS_CERT_FILE: a client certificate needs its private key']);
    if (c.tlsKey !== undefined && c.tlsCert === undefined)
      problems.push(['tlsCert', 'must be set with REDIS_TLS_KEY_FILE: a private key needs its client certificate']);
    if (!/^rediss(\+cluster)?:\/\//.test(c.redisUrl)) {
      for (const key of ['tlsCa', 'tlsCert', 'tlsKey'] as const) {
        if (c[key] !== undefined) problems.push([key, 'is set, but REDIS_URL does not use TLS: use rediss:// or rediss+cluster://']);
      }
    }
    return problems;
  },
};

/** The TLS material of loaded settings, or undefined when none is set. */
export function tlsOptionsFrom(c: {
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}): RedisTls | undefined {
  const tls: RedisTls = {};
  if (c.tlsCa !== undefined) tls.ca = c.tlsCa;
  if (c.tlsCert !== undefined) tls.cert = c.tlsCert;
  if (c.tlsKey !== undefined) tls.key = c.tlsKey;
  return Object.keys(tls).length > 0 ? tls : undefined;
}

/**
 * The options of `connect()` that come from the settings (TLS material), for every service:
 * `connect(config.redisUrl, redisConnectOptions(config, { name: 'inorder-processor', logger }))`.
 */
export function redisConnectOptions(config: { redisTls?: RedisTls | undefined }, options: ConnectOptions = {}): ConnectOptions {
  return config.redisTls ? { ...options, tls: config.redisTls } : { ...options };
}
