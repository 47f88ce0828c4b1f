import type { FastifyInstance } from 'fastify';
import { PipelineConflictError, RegistryFullError, keysFor } from '@inorder/shared';
import type { IngestContext } from '../app.js';
import { submitToPartition } from '../assigned-seqs.js';
import { httpFailure, logFailure, sendText } from '../app.js';
import { parseJsonBody } from '../json-body.js';
import { RedisUnavailableError, RequestError, withRedis } from '../errors.js';
import { eventSchema, jsonSchema, parseEvent } from '../schemas.js';

/** The pipeline of an event type: one unordered pipeline per type, created on first use. */
export function eventPipeline(eventTypeId: number): string {
  return `events-${eventTypeId}`;
}

/**
 * The event processor's API: POST /api/event/v1. 200 when queued, 400 with a plain-text reason
 * when malformed, 500 with a plain-text reason when it cannot be queued.
 */
export async function eventRoutes(app: FastifyInstance, { context }: { context: IngestContext }): Promise<void> {
  const { redis, config, directory, apiKeys, assigned } = context;

  app.addHook('onRequest', async (request, reply) => {
    const refusal = apiKeys.refuse(request);
    if (refusal) return sendText(reply, { status: 401, message: refusal });
  });
  // The seed's clients post JSON under any content type (curl -d sends form-urlencoded): the body
  // is read as JSON whatever the header says, so a bad body is a 400, never a 415.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body), config.maxDepth));
    } catch (error) {
      done(error as RequestError, undefined);
    }
  });
  app.setErrorHandler((error, request, reply) => {
    const failure = httpFailure(error, config);
    // The seed's contract: anything that keeps the event from being queued is a 500.
    if (failure.status === 503) failure.status = 500;
    if (error instanceof PipelineConflictError) failure.message = `cannot queue the event: ${error.message}`;
    if (error instanceof RegistryFullError) {
      failure.message = `cannot queue the event: pipeline ${error.pipeline} would be a new pipeline and the registry holds ${error.count}, ` +
        `the most MAX_PIPELINES (${error.maxPipelines}) allows: raise MAX_PIPELINES or delete pipelines no longer used`;
    }
    logFailure(request, failure, error);
    sendText(reply, failure);
  });

  app.post('/api/event/v1', {
    schema: {
      summary: 'Queue an event on its type\'s priority pipeline',
      description:
        'Each event_type_id has its own unordered pipeline (events-<id>), created on first use. ' +
        'Events are processed lower priority number first; equal priorities first-in first-out.',
      tags: ['events'],
      security: [{ bearer: [] }, { apiKey: [] }],
      body: jsonSchema(eventSchema),
      response: {
        200: {
          description: 'Queued',
          type: 'object',
          properties: { status: { type: 'string' }, pipeline: { type: 'string' }, seq: { type: 'integer' } },
        },
        400: { description: 'Malformed: a plain-text reason', type: 'string' },
        401: { description: 'Missing or unknown API key (when API_KEYS is set)', type: 'string' },
        413: { description: 'Body over MAX_BODY_BYTES', type: 'string' },
        500: { description: 'Could not be queued: a plain-text reason', type: 'string' },
      },
    },
  }, async (request, reply) => {
    const deadline = Date.now() + config.redisTimeoutMs;
    const event = parseEvent(request.body, config.eventTypeIdMax);
    const pipeline = eventPipeline(event.event_type_id);
    await withRedis(deadline - Date.now(), 'pipeline registration', () => directory.ensure(
      pipeline, { ordering: 'none', maxPipelines: config.maxPipelines }, request.logger,
    ));
    const keys = keysFor(pipeline, 0, config.keyPrefix);
    const payload = { user_id: event.user_id, event_type_id: event.event_type_id, priority: event.priority, event_data: event.event_data };
    const result = await withRedis(deadline - Date.now(), 'submit', () => submitToPartition(
      { redis, assigned, logger: request.logger }, { pipeline, partition: 0, keys }, [{ payload, priority: event.priority }],
      { ordering: 'none', seqStart: config.seqStart, dedupTtlMs: config.dedupTtlMs, deadline },
    ));
    if (result.kind === 'expired') throw new RedisUnavailableError(`Redis ran the submit after its ${config.redisTimeoutMs} ms deadline`);
    if (result.kind !== 'submitted') {
      // Seqs are assigned here, so only a partition numbered by its producers can refuse them.
      throw new RequestError(500, `cannot queue the event: pipeline ${pipeline} takes seqs given by producers`);
    }
    const seq = result.seqs[0]!;
    request.logger.info('event queued', { pipeline, partition: 0, seq, priority: event.priority });
    return reply.code(200).send({ status: 'queued', pipeline, seq });
  });
}
