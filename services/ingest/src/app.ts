import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { MAX_DURATION_MS, redisReady, type Logger, type RedisClient } from '@inorder/shared';
import { AssignedSeqs } from './assigned-seqs.js';
import { ApiKeys } from './auth.js';
import type { IngestConfig } from './config.js';
import { parseJsonBody } from './json-body.js';
import { IngestMetrics } from './metrics.js';
import { PipelineDirectory } from './pipelines.js';
import { redactUrl } from './redact.js';
import type { IngestContext } from './context.js';
import { httpFailure, logFailure, sendJson } from './replies.js';
import { eventRoutes } from './routes/events.js';
import { eventReadRoutes } from './routes/event-reads.js';
import { messageRoutes } from './routes/messages.js';
import { readRoutes } from './routes/reads.js';
import { uiRoutes } from './routes/ui.js';
import { readBodiesWith } from './routes/plumbing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the service logger with this request's id on every line */
    logger: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Builds the ingest's HTTP app on a given Redis connection (one made with `failFast`, so a
 * request fails at once when Redis is down). The caller listens and closes it.
 */
export async function buildApp(parts: {
  redis: RedisClient;
  config: IngestConfig;
  logger: Logger;
  metrics?: IngestMetrics;
}): Promise<FastifyInstance> {
  const { redis, config, logger, metrics = new IngestMetrics() } = parts;
  const app = createServer(config);
  const context: IngestContext = {
    redis,
    config,
    logger,
    apiKeys: new ApiKeys(config.apiKeys),
    assigned: new AssignedSeqs(),
    metrics,
    directory: new PipelineDirectory(redis, config.keyPrefix, config.registryCacheMs, logger),
  };
  readBodies(app, config);
  observeRequests(app, logger, metrics);
  closeConnectionsOnShutdown(app);
  app.setErrorHandler((error, request, reply) => {
    const failure = httpFailure(error, config);
    logFailure(request, failure, error);
    sendJson(reply, failure);
  });
  app.setNotFoundHandler((request, reply) => {
    sendJson(reply, { status: 404, message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
  await app.register(swagger, { openapi: OPENAPI });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  serveHealth(app, redis, config, metrics);
  await app.register(messageRoutes, { context });
  await app.register(eventRoutes, { context });
  await app.register(readRoutes, { context });
  await app.register(eventReadRoutes, { context });
  await app.register(uiRoutes, { context });
  return app;
}

/** Fastify with the ingest's limits on bodies, slow clients and idle sockets, and its request ids. */
function createServer(config: IngestConfig): FastifyInstance {
  return Fastify({
    logger: false,
    bodyLimit: config.maxBodyBytes,
    // Slow clients: a request must arrive whole within REQUEST_TIMEOUT_MS and its headers within
    // HEADERS_TIMEOUT_MS. Node checks those limits every connectionsCheckingInterval (30 s by
    // default, which let a client dripping a byte every 5 s hold its socket for over 75 s).
    // An idle socket is cut after the request timeout plus the longest Redis wait of a request.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: Math.min(MAX_DURATION_MS, config.requestTimeoutMs + config.redisTimeoutMs),
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
}

/**
 * Bodies are validated by zod in the handlers (readable reasons, one schema source); the route
 * schemas only document the API. Replies are plain JSON.stringify. JSON is read strictly.
 */
function readBodies(app: FastifyInstance, config: IngestConfig): void {
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.removeContentTypeParser('text/plain');
  readBodiesWith(app, 'application/json', (text) => parseJsonBody(text, config.maxDepth));
}

/** A logger per request carrying its id, one log line and one metric sample per response. */
function observeRequests(app: FastifyInstance, logger: Logger, metrics: IngestMetrics): void {
  app.decorateRequest('logger', null as unknown as Logger);
  app.addHook('onRequest', async (request, reply) => {
    request.logger = logger.child({ requestId: request.id });
    reply.header('x-request-id', request.id);
    // Never log a key: query values of key parameters are redacted, and no header is logged.
    request.logger.debug('request received', { method: request.method, url: redactUrl(request.url) });
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the URL: unknown paths all count as one label value.
    const route = request.routeOptions.url ?? '(no route)';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    const quiet = request.url === '/healthz' || request.url === '/readyz' || request.url === '/metrics';
    request.logger.log(quiet ? 'debug' : 'info', 'request', {
      method: request.method,
      url: redactUrl(request.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
  });
}

/**
 * Once closing, every response ends its connection, so keep-alive clients do not hold the
 * shutdown open after their last in-flight request.
 */
function closeConnectionsOnShutdown(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}

/** GET /healthz, /readyz and /metrics: open, like the docs. */
function serveHealth(app: FastifyInstance, redis: RedisClient, config: IngestConfig, metrics: IngestMetrics): void {
  app.get('/healthz', { schema: { summary: 'The process is up', tags: ['health'] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { summary: 'Redis answers', tags: ['health'] } }, async (_request, reply) => {
    const ready = await redisReady(redis, config.redisTimeoutMs);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics of this ingest process', tags: ['health'] } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'inorder ingest',
    version: '0.1.0',
    description:
      "Submit messages to inorder pipelines over HTTP, read a pipeline's status, its results and dead letters, " +
      'redrive dead letters, and the event API of the event processor. The operator dashboard is at /ui.',
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'one of API_KEYS (when set)' },
      apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'one of API_KEYS (when set)' },
    },
  },
} as const;
