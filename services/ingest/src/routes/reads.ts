import type { FastifyInstance } from 'fastify';
import type { IngestContext } from '../context.js';
import { parseOptionalJsonBody } from '../json-body.js';
import { pageOf, partitionOf, pipelineOf, seqOf } from '../params.js';
import { parseRedriveBody, readPage, redriveDeadLetter } from '../reads.js';
import { sendJson } from '../replies.js';
import { errorReply, pipelineParam, security } from './message-docs.js';
import { readBodiesWith, requireApiKey } from './plumbing.js';
import { listPageDoc, redriveDoc, type ReadApi, type RouteText } from './read-docs.js';

const partitionQuery = {
  partition: { type: 'string', pattern: '^(0|[1-9][0-9]*)$', default: '0', description: 'the partition (default 0)' },
};
const errors = {
  400: { description: 'A malformed parameter (each named) or a partition the pipeline does not have', ...errorReply },
  401: { description: 'Missing or unknown API key', ...errorReply },
  404: { description: 'No such pipeline in the registry', ...errorReply },
  503: { description: 'Redis unreachable; see Retry-After', ...errorReply },
};
const readApi: ReadApi = { security, partitionQuery, errors };

/**
 * What operators read and do without redis-cli: pages of a partition's output and dead-letter
 * lists, and the redrive of a dead letter. Same keys and errors as the submit route.
 */
export async function readRoutes(app: FastifyInstance, { context }: { context: IngestContext }): Promise<void> {
  const { config, directory, apiKeys } = context;

  requireApiKey(app, apiKeys, sendJson);
  // The redrive's body is optional: an empty application/json body reads as none.
  readBodiesWith(app, 'application/json', (text) => parseOptionalJsonBody(text, config.maxDepth));

  for (const list of ['output', 'dead'] as const) {
    app.get(
      `/v1/pipelines/:pipeline/${list}`,
      { schema: listPageDoc(list, listReadTexts[list], readApi, pipelineParam) },
      async (request) => {
        const deadline = Date.now() + config.redisTimeoutMs;
        const page = pageOf(request.query);
        const { name, settings } = await pipelineOf(directory, request.params, deadline);
        const partition = partitionOf(request.query, settings, name);
        return readPage(context, { name, partition, settings }, list, page, deadline);
      },
    );
  }

  app.post('/v1/pipelines/:pipeline/dead/:seq/redrive', { schema: redriveRouteDoc }, async (request) => {
    const deadline = Date.now() + config.redisTimeoutMs;
    const seq = seqOf((request.params as { seq?: unknown }).seq);
    const { newSeq } = parseRedriveBody(request.body);
    const { name, settings } = await pipelineOf(directory, request.params, deadline);
    const partition = partitionOf(request.query, settings, name);
    const result = await redriveDeadLetter(context, { name, partition, settings }, seq, newSeq, deadline);
    request.logger.info('dead letter redriven', { pipeline: name, partition, seq, newSeq: result.seq, duplicate: result.duplicate });
    return result;
  });
}

/** GET /v1/pipelines/:pipeline/output and .../dead */
const listReadTexts: Record<'output' | 'dead', RouteText> = {
  output: {
    summary: 'Read the output list, in order, a page at a time',
    description:
      'The results in the order they were emitted (strict pipelines: seq order), parsed as JSON, each with its seq and timestamps. ' +
      'Reading removes nothing.',
    tags: ['results'],
  },
  dead: {
    summary: 'Read the dead-letter list, a page at a time',
    description:
      'The dead letters, oldest first: reason, attempts, lastError, seq (or readSeq for a copy that did not take its seq), envelope (or raw text), deadAt. ' +
      'Reading removes nothing.',
    tags: ['dead letters'],
  },
};

/** POST /v1/pipelines/:pipeline/dead/:seq/redrive */
const redriveRouteDoc = redriveDoc(
  {
    summary: 'Redrive a dead letter as a new message at the end of the order',
    description:
      'The dead letter whose seq is :seq goes back on the input as a new message with a new seq (its first seq kept as originalSeq), ' +
      'and leaves the dead-letter list. It cannot take its old place: the order has moved past it. Partitions whose seqs the ingest ' +
      'assigns take the next one; partitions whose producers number their own need newSeq, a seq they will never use. ' +
      'Asking again after a lost answer enqueues nothing twice.',
    tags: ['dead letters'],
  },
  readApi,
  {
    type: 'object',
    properties: { pipeline: { type: 'string' }, seq: { type: 'string', pattern: '^[1-9][0-9]*$' } },
    required: ['pipeline', 'seq'],
  },
  {
    404: { description: 'No such pipeline, or no dead letter for that seq in the partition', ...errorReply },
    409: {
      description:
        'The partition needs newSeq (producers number its seqs) or refuses it (the ingest assigns them), or the dead letter holds no readable envelope',
      ...errorReply,
    },
    415: { description: 'A body that is not application/json', ...errorReply },
  },
);
