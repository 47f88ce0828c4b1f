import { InorderError, ReplicaAckError } from '@inorder/shared';

/** One problem with a request: the field (a path such as `[2].priority`) and why. */
export interface Issue {
  field: string;
  reason: string;
}

/** A request the API refuses, with the HTTP status and a readable reason. */
export class RequestError extends InorderError {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** Issues listed in one answer; the rest are counted in one more issue. */
export const MAX_ISSUES = 20;
const MAX_FIELD_CHARS = 200;
const MAX_REASON_CHARS = 500;

/**
 * 400: the body or a parameter breaks the schema; names each field and why, at most MAX_ISSUES
 * of them and then how many more, each field and reason cut to a readable length (a field name
 * comes from the client and may be a megabyte long), so the answer stays small.
 */
export function badRequest(issues: Issue[]): RequestError {
  const listed = issues
    .slice(0, MAX_ISSUES)
    .map((i) => ({ field: clip(i.field, MAX_FIELD_CHARS), reason: clip(i.reason, MAX_REASON_CHARS) }));
  if (issues.length > MAX_ISSUES) listed.push({ field: '(body)', reason: `and ${issues.length - MAX_ISSUES} more issues, not listed` });
  return new RequestError(400, listed.map((i) => `${i.field}: ${i.reason}`).join('; '), listed);
}

/** `text`, cut to `max` characters (ending in …) when longer, never splitting a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** Redis could not be reached, or did not answer in time: the client may retry (503). */
export class RedisUnavailableError extends InorderError {
  /** what the answer tells the client besides the cause: by default, that nothing was written */
  advice = 'nothing was enqueued, retry later';
}

/** The pipeline's partition count is being changed (`npm run partitions`): 503, retry later. */
export class PipelineResizingError extends RedisUnavailableError {
  constructor(pipeline: string, to: number) {
    super(`pipeline ${pipeline} is being resized to ${to} partitions and takes no messages until its partitions have drained`);
    this.advice = 'nothing was enqueued: submit again once the resize has ended';
  }
}

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
    if (error instanceof ReplicaAckError) {
      const unconfirmed = new RedisUnavailableError(`Redis failed before replicas confirmed the ${what} (REPLICA_ACKS)`, { cause: error });
      unconfirmed.advice = 'it may have been enqueued: send it again with the same message ids, which are then answered as duplicates';
      throw unconfirmed;
    }
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
