import { jsonSchema, messageSchema } from '../schemas.js';

/** OpenAPI descriptions of the message and pipeline routes (documentation only: the handlers validate). */

export const errorReply = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
    issues: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, reason: { type: 'string' } } } },
  },
};
export const security: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }];
export const pipelineParam = { type: 'object', properties: { pipeline: { type: 'string' } }, required: ['pipeline'] };

/** POST /v1/pipelines/:pipeline/messages; `maxBatch` is the largest batch the ingest takes. */
export function submitDoc(maxBatch: number): Record<string, unknown> {
  return {
    summary: 'Submit one message or a batch (all or nothing)',
    description:
      'Without seq, the next seqs of the partition are assigned and the messages enqueued in one atomic step. ' +
      'With seq (on every message of the batch), the seqs are used as given. A known id returns its first seq and enqueues nothing. ' +
      'With key (on every message of the batch, all routing to one partition), the message goes to partition murmur2(key) mod partitions; ' +
      'otherwise to ?partition (default 0).',
    tags: ['messages'],
    security,
    params: pipelineParam,
    querystring: {
      type: 'object',
      properties: {
        partition: {
          type: 'string',
          pattern: '^(0|[1-9][0-9]*)$',
          default: '0',
          description: 'the partition (default 0), below the registered count; not with message keys',
        },
      },
    },
    body: { oneOf: [jsonSchema(messageSchema), { type: 'array', minItems: 1, maxItems: maxBatch, items: jsonSchema(messageSchema) }] },
    response: {
      202: {
        description: 'Enqueued: the partition, the seq of each message in order, and which were duplicates of an earlier id',
        type: 'object',
        properties: {
          partition: { type: 'integer' },
          seqs: { type: 'array', items: { type: 'integer' } },
          duplicates: { type: 'array', items: { type: 'boolean' } },
        },
      },
      400: { description: 'Malformed JSON or a schema violation: every field and why', ...errorReply },
      401: { description: 'Missing or unknown API key', ...errorReply },
      404: { description: 'No such pipeline in the registry', ...errorReply },
      409: { description: 'The partition takes seqs from the other source (assigned vs given)', ...errorReply },
      413: { description: 'Body over MAX_BODY_BYTES', ...errorReply },
      503: { description: 'Redis unreachable, or the pipeline being resized: nothing enqueued; see Retry-After', ...errorReply },
    },
  };
}

/** GET /v1/pipelines/:pipeline */
export const statusDoc = {
  summary: "A pipeline's status, per partition",
  description:
    'Input depth, in-flight seqs, results backlog, next seq to emit, current leader and fencing token, ' +
    'dead-letter and skipped counts.',
  tags: ['pipelines'],
  security,
  params: pipelineParam,
  response: {
    200: { description: "The pipeline's settings and one entry per partition", type: 'object', additionalProperties: true },
    404: { description: 'No such pipeline in the registry', ...errorReply },
    503: { description: 'Redis unreachable', ...errorReply },
  },
};

/** GET /v1/pipelines */
export const listDoc = {
  summary: 'Every registered pipeline and its settings',
  tags: ['pipelines'],
  security,
  response: {
    200: {
      description: 'The readable pipelines by name, and the registry entries skipped as unreadable (each logged as a warning)',
      type: 'object',
      additionalProperties: true,
    },
    503: { description: 'Redis unreachable', ...errorReply },
  },
};
