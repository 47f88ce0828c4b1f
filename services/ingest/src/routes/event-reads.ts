import type { FastifyInstance } from 'fastify';
import type { IngestContext } from '../context.js';
import { parseOptionalJsonBody } from '../json-body.js';
import { integerParam, pageOf, partitionOf, registered, seqOf } from '../params.js';
import { parseRedriveBody, readPage, redriveDeadLetter, type Target } from '../reads.js';
import { httpFailure, logFailure, sendText } from '../replies.js';
import { eventPipeline } from './events.js';
import { listPageDoc, redriveDoc, type ReadApi, type RouteText } from './read-docs.js';
import { security } from './message-docs.js';
import { readBodiesWith, requireApiKey } from './plumbing.js';

const text = (description: string): Record<string, unknown> => ({ description, type: 'string' });
const errors = {
  400: text('A malformed parameter: a plain-text reason'),
  401: text('Missing or unknown API key (when API_KEYS is set)'),
  404: text('No pipeline for that event type yet (no event of the type was queued)'),
  503: text('Redis unreachable; see Retry-After'),
};
const typeParam = { type: 'object', properties: { type: { type: 'string', description: 'the event_type_id' } }, required: ['type'] };
const partitionQuery = {
  partition: {
    type: 'string',
    pattern: '^(0|[1-9][0-9]*)$',
    default: '0',
    description: "the partition (default 0), when the type's pipeline has several",
  },
};
const eventApi: ReadApi = { security, partitionQuery, errors };

/**
 * The event API's reads: output and dead letters of an event type's pipeline (events-<id>;
 * `?partition=N` when it has several), and the redrive of a dead letter. Errors are plain
 * text, as on POST /api/event/v1.
 */
export async function eventReadRoutes(app: FastifyInstance, { context }: { context: IngestContext }): Promise<void> {
  const { config, directory, apiKeys } = context;
  requireApiKey(app, apiKeys, sendText);
  // As on POST /api/event/v1, a body is read as JSON whatever its content type; here it is optional.
  app.removeContentTypeParser('application/json');
  readBodiesWith(app, '*', (text) => parseOptionalJsonBody(text, config.maxDepth));
  app.setErrorHandler((error, request, reply) => {
    const failure = httpFailure(error, config);
    logFailure(request, failure, error);
    sendText(reply, failure);
  });

  async function targetOf(request: { params: unknown; query: unknown }, deadline: number): Promise<Target> {
    const type = integerParam((request.params as { type?: unknown }).type, 'event_type_id', { min: 0, max: config.eventTypeIdMax });
    const name = eventPipeline(type);
    const settings = await registered(directory, name, deadline);
    return { name, partition: partitionOf(request.query, settings, name), settings };
  }

  for (const list of ['output', 'dead'] as const) {
    app.get(`/api/event/v1/:type/${list}`, { schema: listPageDoc(list, eventListText(list), eventApi, typeParam) }, async (request) => {
      const deadline = Date.now() + config.redisTimeoutMs;
      const page = pageOf(request.query);
      return readPage(context, await targetOf(request, deadline), list, page, deadline);
    });
  }
  app.post('/api/event/v1/:type/dead/:seq/redrive', { schema: eventRedriveDoc }, async (request) => {
    const deadline = Date.now() + config.redisTimeoutMs;
    const seq = seqOf((request.params as { seq?: unknown }).seq);
    const { newSeq } = parseRedriveBody(request.body);
    const target = await targetOf(request, deadline);
    const result = await redriveDeadLetter(context, target, seq, newSeq, deadline);
    request.logger.info('dead letter redriven', {
      pipeline: target.name,
      partition: target.partition,
      seq,
      newSeq: result.seq,
      duplicate: result.duplicate,
    });
    return result;
  });
}

/** GET /api/event/v1/:type/output and .../dead */
function eventListText(list: 'output' | 'dead'): RouteText {
  return {
    summary: list === 'output' ? "Read an event type's results, a page at a time" : "Read an event type's dead letters, a page at a time",
    description:
      `The ${list === 'output' ? 'output' : 'dead-letter'} list of pipeline events-<type> (one partition), as GET /v1/pipelines/{pipeline}/${list} ` +
      'answers it (unordered pipelines: results in completion order).',
    tags: ['events'],
  };
}

const eventRedriveDoc = redriveDoc(
  {
    summary: "Redrive an event type's dead letter as a new event",
    description:
      'As POST /v1/pipelines/{pipeline}/dead/{seq}/redrive on pipeline events-<type> (one partition): the event is queued again with its priority.',
    tags: ['events'],
  },
  eventApi,
  { type: 'object', properties: { type: { type: 'string' }, seq: { type: 'string' } }, required: ['type', 'seq'] },
  {
    404: text('No pipeline for that event type, or no dead letter for that seq'),
    409: text('The dead letter cannot be redriven as asked (newSeq on a pipeline whose seqs are assigned, or no readable envelope)'),
  },
);
