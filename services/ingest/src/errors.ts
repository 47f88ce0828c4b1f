import { InorderError } from '@inorder/shared';

/** One problem with a request: the field (a path such as `[2].priority`) and why. */
export interface Issue {
  field: string;
  reason: string;
}

/** A request the API refuses, with the HTTP status and a readable reason. */
export class RequestError extends InorderError {
  constructor(readonly statusCode: number, message: string, readonly issues: Issue[] = []) {
    super(message);
  }
}

/** 400: the body or a parameter breaks the schema; names every field and why. */
export function badRequest(issues: Issue[]): RequestError {
  return new RequestError(400, issues.map((i) => `${i.field}: ${i.reason}`).join('; '), issues);
}

/** Redis could not be reached, or did not answer in time: the client may retry (503). */
export class RedisUnavailableError extends InorderError {}

/** Redis replies that mean "not now" rather than "never": the server is loading, out of memory, failing over. */
const TRANSIENT_REPLY = /^(LOADING|OOM|BUSY|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

/**
 * Runs one step of a request against Redis with a time limit. Connection failures, timeouts and
 * transient replies become RedisUnavailableError; other errors pass through.
 */
export async function withRedis<T>(timeoutMs: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`Redis did not answer within ${timeoutMs} ms (${what})`)), timeoutMs);
  });
  try {
    return await Promise.race([work(), timeout]);
  } catch (error) {
    if (error instanceof RedisUnavailableError) throw error;
    if (isUnavailable(error)) {
      throw new RedisUnavailableError(`Redis is unreachable (${what}): ${(error as Error).message}`, { cause: error });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // ioredis: ReplyError carries Redis's answer; anything else is the connection failing.
  if (error.name === 'ReplyError') return TRANSIENT_REPLY.test(error.message);
  return error.name === 'MaxRetriesPerRequestError' || /connection|stream|writeable|ECONN|ETIMEDOUT|EPIPE|closed/i.test(error.message);
}
