import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { RegistryEntryError, redisReady, type Logger, type RedisClient } from '@inorder/shared';
import { AssignedSeqs } from './assigned-seqs.js';
import { ApiKeys } from './auth.js';
import { MAX_TIMER_MS, type IngestConfig } from './config.js';
import { RedisUnavailableError, RequestError } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { PipelineDirectory } from './pipelines.js';
import { redactUrl } from './redact.js';
import { eventRoutes } from './routes/events.js';
import { messageRoutes } from './routes/messages.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the service logger with this request's id on every line */
    logger: Logger;
  }
}

/** What the routes share. */
export interface IngestContext {
  redis: RedisClient;
  config: IngestConfig;
  logger: Logger;
  directory: PipelineDirectory;
  apiKeys: ApiKeys;
  /** the highest seq this process assigned per partition: the floor after a Redis rollback */
  assigned: AssignedSeqs;
}

/** An error as an HTTP status and a readable message (JSON routes and plain-text routes alike). */
export interface HttpFailure {
  status: number;
  message: string;
  issues?: RequestError['issues'];
  retryAfter?: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Builds the ingest's HTTP app on a given Redis connection (one made with `failFast`, so a
 * request fails at once when Redis is down). The caller listens and closes it.
 */
export async function buildApp(parts: { redis: RedisClient; config: IngestConfig; logger: Logger }): Promise<FastifyInstance> {
  const { redis, config, logger } = parts;
  const app = Fastify({
    logger: false,
    bodyLimit: config.maxBodyBytes,
    // Slow clients: a request must arrive whole within REQUEST_TIMEOUT_MS and its headers within
    // HEADERS_TIMEOUT_MS. Node checks those limits every connectionsCheckingInterval (30 s by
    // default, which let a client dripping a byte every 5 s hold its socket for over 75 s).
    // An idle socket is cut after the request timeout plus the longest Redis wait of a request.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: Math.min(MAX_TIMER_MS, config.requestTimeoutMs + config.redisTimeoutMs),
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
    },
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  const context: IngestContext = {
    redis, config, logger, apiKeys: new ApiKeys(config.apiKeys), assigned: new AssignedSeqs(),
    directory: new PipelineDirectory(redis, config.keyPrefix, config.registryCacheMs, logger),
  };

  // Bodies are validated by zod in the handlers (readable reasons, one schema source); the route
  // schemas only document the API. Replies are plain JSON.stringify.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(String(body), config.maxDepth));
    } catch (error) {
      done(error as RequestError, undefined);
    }
  });

  app.decorateRequest('logger', null as unknown as Logger);
  app.addHook('onRequest', async (request, reply) => {
    request.logger = logger.child({ requestId: request.id });
    reply.header('x-request-id', request.id);
    // Never log a key: query values of key parameters are redacted, and no header is logged.
    request.logger.debug('request received', { method: request.method, url: redactUrl(request.url) });
  });
  app.addHook('onResponse', async (request, reply) => {
    const quiet = request.url === '/healthz' || request.url === '/readyz';
    request.logger.log(quiet ? 'debug' : 'info', 'request', {
      method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime),
    });
  });
  // Once closing, every response ends its connection, so keep-alive clients do not hold the
  // shutdown open after their last in-flight request.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.setErrorHandler((error, request, reply) => {
    const failure = httpFailure(error, config);
    logFailure(request, failure, error);
    sendJson(reply, failure);
  });
  app.setNotFoundHandler((request, reply) => {
    sendJson(reply, { status: 404, message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'inorder ingest',
        version: '0.1.0',
        description: 'Submit messages to inorder pipelines over HTTP, read a pipeline\'s status, and the event API of the event processor.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'one of API_KEYS (when set)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'one of API_KEYS (when set)' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', { schema: { summary: 'The process is up', tags: ['health'] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { summary: 'Redis answers', tags: ['health'] } }, async (_request, reply) => {
    const ready = await redisReady(redis, config.redisTimeoutMs);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  await app.register(messageRoutes, { context });
  await app.register(eventRoutes, { context });
  return app;
}

/** Maps any error of a request to a status and a message a client can act on. */
export function httpFailure(error: unknown, config: IngestConfig): HttpFailure {
  if (error instanceof RequestError) return { status: error.statusCode, message: error.message, issues: error.issues };
  if (error instanceof RegistryEntryError) return { status: 500, message: error.message };
  if (error instanceof RedisUnavailableError) {
    return { status: 503, message: `${error.message}; nothing was enqueued, retry later`, retryAfter: config.retryAfterS };
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

function logFailure(request: FastifyRequest, failure: HttpFailure, error: unknown): void {
  if (failure.status >= 500) {
    request.logger.log(failure.status === 503 ? 'warn' : 'error', 'request failed', {
      status: failure.status, error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large',
  415: 'Unsupported Media Type', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

export function sendJson(reply: FastifyReply, failure: HttpFailure): FastifyReply {
  if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter));
  if (failure.status === 401) reply.header('www-authenticate', 'Bearer realm="inorder"');
  const body: Record<string, unknown> = {
    statusCode: failure.status, error: STATUS_TEXT[failure.status] ?? 'Error', message: failure.message,
  };
  if (failure.issues && failure.issues.length > 0) body.issues = failure.issues;
  return reply.code(failure.status).type('application/json').send(body);
}

export function sendText(reply: FastifyReply, failure: HttpFailure): FastifyReply {
  if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter));
  if (failure.status === 401) reply.header('www-authenticate', 'Bearer realm="inorder"');
  return reply.code(failure.status).type('text/plain; charset=utf-8').send(failure.message);
}

export { logFailure };
