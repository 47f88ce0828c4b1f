import type { FastifyInstance } from 'fastify';
import { PipelineConflictError, RegistryFullError, partitionForKey } from '@inorder/shared';
import type { IngestContext } from '../context.js';
import { httpFailure, logFailure, sendText } from '../replies.js';
import { parseJsonBody } from '../json-body.js';
import { RequestError, withRedis } from '../errors.js';
import { eventSchema, jsonSchema, parseEvent } from '../schemas.js';
import { routeAndSubmit } from '../submitting.js';
import { security } from './message-docs.js';
import { readBodiesWith, requireApiKey } from './plumbing.js';

/** The pipeline of an event type: one unordered pipeline per type, created on first use. */
export function eventPipeline(eventTypeId: number): string {
  return `events-${eventTypeId}`;
}

/**
 * The event processor's API: POST /api/event/v1. 200 when queued, 400 with a plain-text reason
 * when malformed, 500 with a plain-text reason when it cannot be queued.
 */
export async function eventRoutes(app: FastifyInstance, { context }: { context: IngestContext }): Promise<void> {
  const { config, directory, apiKeys, metrics } = context;

  requireApiKey(app, apiKeys, sendText);
  // The seed's clients post JSON under any content type (curl -d sends form-urlencoded): the body
  // is read as JSON whatever the header says, so a bad body is a 400, never a 415.
  readBodiesWith(app, '*', (text) => parseJsonBody(text, config.maxDepth));
  app.setErrorHandler((error, request, reply) => {
    const failure = eventFailure(error, config);
    logFailure(request, failure, error);
    sendText(reply, failure);
  });

  app.post('/api/event/v1', { schema: eventDoc }, async (request, reply) => {
    const deadline = Date.now() + config.redisTimeoutMs;
    const event = parseEvent(request.body, config.eventTypeIdMax);
    const pipeline = eventPipeline(event.event_type_id);
    const settings = await withRedis(deadline - Date.now(), 'pipeline registration', () =>
      directory.ensure(pipeline, { ordering: 'none', maxPipelines: config.maxPipelines }, request.logger),
    );
    // A partitioned event pipeline spreads users over its partitions; one user's events stay in one.
    const key = String(event.user_id);
    const payload = { user_id: event.user_id, event_type_id: event.event_type_id, priority: event.priority, event_data: event.event_data };
    const { partition, result } = await routeAndSubmit(
      context,
      { logger: request.logger, deadline, name: pipeline, settings },
      [{ payload, key, priority: event.priority }],
      (current) => partitionForKey(key, current.partitions),
    );
    if (result.kind !== 'submitted') {
      // Seqs are assigned here, so only a partition numbered by its producers can refuse them.
      throw new RequestError(500, `cannot queue the event: pipeline ${pipeline} takes seqs given by producers`);
    }
    metrics.noteSubmit(pipeline, partition, result.duplicates);
    const seq = result.seqs[0]!;
    request.logger.info('event queued', { pipeline, partition, seq, priority: event.priority });
    return reply.code(200).send({ status: 'queued', pipeline, partition, seq });
  });
}

/** The seed's contract: anything that keeps the event from being queued is a 500, in plain text. */
function eventFailure(error: unknown, config: IngestContext['config']): ReturnType<typeof httpFailure> {
  const failure = httpFailure(error, config);
  if (failure.status === 503) failure.status = 500;
  if (error instanceof PipelineConflictError) failure.message = `cannot queue the event: ${error.message}`;
  if (error instanceof RegistryFullError) {
    failure.message =
      `cannot queue the event: pipeline ${error.pipeline} would be a new pipeline and the registry holds ${error.count}, ` +
      `the most MAX_PIPELINES (${error.maxPipelines}) allows: raise MAX_PIPELINES or delete pipelines no longer used`;
  }
  return failure;
}

const eventDoc = {
  summary: "Queue an event on its type's priority pipeline",
  description:
    'Each event_type_id has its own unordered pipeline (events-<id>), created on first use. ' +
    'Events are processed lower priority number first; equal priorities first-in first-out. ' +
    'When the pipeline is registered with several partitions, user_id is the ordering key: partition murmur2(user_id) mod partitions.',
  tags: ['events'],
  security,
  body: jsonSchema(eventSchema),
  response: {
    200: {
      description: 'Queued',
      type: 'object',
      properties: { status: { type: 'string' }, pipeline: { type: 'string' }, partition: { type: 'integer' }, seq: { type: 'integer' } },
    },
    400: { description: 'Malformed: a plain-text reason', type: 'string' },
    401: { description: 'Missing or unknown API key (when API_KEYS is set)', type: 'string' },
    413: { description: 'Body over MAX_BODY_BYTES', type: 'string' },
    500: { description: 'Could not be queued: a plain-text reason', type: 'string' },
  },
};
