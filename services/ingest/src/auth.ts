import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * Checks API keys from `authorization: Bearer <key>` or `x-api-key: <key>`. Keys are compared
 * as SHA-256 digests in constant time, so neither their length nor a prefix leaks.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** undefined when the request may pass, else the reason for a 401. */
  refuse(request: FastifyRequest): string | undefined {
    if (!this.enabled) return undefined;
    const key = presented(request);
    if (key === undefined) return 'missing API key: send "authorization: Bearer <key>" or "x-api-key: <key>"';
    const d = digest(key);
    let ok = false;
    for (const known of this.digests) ok = timingSafeEqual(known, d) || ok;
    return ok ? undefined : 'API key not recognised';
  }
}

function presented(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  const header = request.headers['x-api-key'];
  return typeof header === 'string' && header.length > 0 ? header : undefined;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
