import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryEntryError } from '@inorder/shared';
import type { IngestConfig } from './config.js';
import { RedisUnavailableError, RequestError } from './errors.js';

/** An error as an HTTP status and a readable message (JSON routes and plain-text routes alike). */
export interface HttpFailure {
  status: number;
  message: string;
  issues?: RequestError['issues'];
  retryAfter?: number;
}

/** Maps any error of a request to a status and a message a client can act on. */
export function httpFailure(error: unknown, config: IngestConfig): HttpFailure {
  if (error instanceof RequestError) return { status: error.statusCode, message: error.message, issues: error.issues };
  if (error instanceof RegistryEntryError) return { status: 500, message: error.message };
  if (error instanceof RedisUnavailableError) {
    return { status: 503, message: `${error.message}; ${error.advice}`, retryAfter: config.retryAfterS };
  }
  const e = error as { statusCode?: number; code?: string; message?: string };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, message: `(body): is larger than MAX_BODY_BYTES (${config.maxBodyBytes} bytes)` };
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 415, message: `content-type must be application/json` };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, message: e.message ?? 'bad request' };
  }
  return { status: 500, message: 'internal error: see the ingest log for this request id' };
}

export function logFailure(request: FastifyRequest, failure: HttpFailure, error: unknown): void {
  if (failure.status >= 500) {
    request.logger.log(failure.status === 503 ? 'warn' : 'error', 'request failed', {
      status: failure.status,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function sendJson(reply: FastifyReply, failure: HttpFailure): FastifyReply {
  if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter));
  if (failure.status === 401) reply.header('www-authenticate', 'Bearer realm="inorder"');
  const body: Record<string, unknown> = {
    statusCode: failure.status,
    error: STATUS_TEXT[failure.status] ?? 'Error',
    message: failure.message,
  };
  if (failure.issues && failure.issues.length > 0) body.issues = failure.issues;
  return reply.code(failure.status).type('application/json').send(body);
}

export function sendText(reply: FastifyReply, failure: HttpFailure): FastifyReply {
  if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter));
  if (failure.status === 401) reply.header('www-authenticate', 'Bearer realm="inorder"');
  return reply.code(failure.status).type('text/plain; charset=utf-8').send(failure.message);
}
