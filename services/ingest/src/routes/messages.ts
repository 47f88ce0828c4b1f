import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { keysFor, listPipelines, type PipelineSettings } from '@inorder/shared';
import type { IngestContext } from '../app.js';
import { submitToPartition } from '../assigned-seqs.js';
import { sendJson } from '../app.js';
import { RedisUnavailableError, RequestError, badRequest, clip, withRedis } from '../errors.js';
import { checkPriorities, describeIssues, jsonSchema, messageSchema, parseSubmitBody } from '../schemas.js';
import { pipelineStatus } from '../status.js';

const params = z.object({
  pipeline: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . -'),
});
/** A canonical non-negative decimal integer: no sign, spaces, leading zeros, exponent or hex. */
const CANONICAL_INT = /^(0|[1-9][0-9]*)$/;

const errorReply = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
    issues: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, reason: { type: 'string' } } } },
  },
};
const security: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }];

/** POST /v1/pipelines/:pipeline/messages, GET /v1/pipelines/:pipeline, GET /v1/pipelines. */
export async function messageRoutes(app: FastifyInstance, { context }: { context: IngestContext }): Promise<void> {
  const { redis, config, directory, apiKeys, assigned } = context;

  app.addHook('onRequest', async (request, reply) => {
    const refusal = apiKeys.refuse(request);
    if (refusal) return sendJson(reply, { status: 401, message: refusal });
  });

  /** Looks the pipeline up in the registry: 400 for a name that cannot exist, 404 for an unknown one. */
  async function pipelineOf(rawParams: unknown, deadline: number): Promise<{ name: string; settings: PipelineSettings }> {
    const parsed = params.safeParse(rawParams);
    if (!parsed.success) throw badRequest(describeIssues(parsed.error));
    const name = parsed.data.pipeline;
    const settings = await withRedis(deadline - Date.now(), 'registry lookup', () => directory.get(name));
    if (!settings) {
      throw new RequestError(404, `no pipeline named "${name}": register it (PIPELINES on the ingest, or start its processors)`);
    }
    return { name, settings };
  }

  /** `?partition=N`: absent = 0; else given once, as a canonical decimal below the partition count. */
  function partitionOf(rawQuery: unknown, settings: PipelineSettings, name: string): number {
    const raw = (rawQuery as Record<string, unknown> | undefined)?.partition;
    if (raw === undefined) return 0;
    if (Array.isArray(raw)) throw badRequest([{ field: 'partition', reason: `is given ${raw.length} times: give it once` }]);
    if (typeof raw !== 'string' || !CANONICAL_INT.test(raw)) {
      throw badRequest([{
        field: 'partition',
        reason: `must be a non-negative integer written in plain decimal digits (no sign, spaces, leading zeros, exponent or hex), got ${clip(JSON.stringify(raw), 40)}`,
      }]);
    }
    const partition = Number(raw);
    if (partition >= settings.partitions) {
      throw badRequest([{ field: 'partition', reason: `pipeline ${name} has ${settings.partitions} partition(s): must be below ${settings.partitions}` }]);
    }
    return partition;
  }

  app.post('/v1/pipelines/:pipeline/messages', {
    schema: {
      summary: 'Submit one message or a batch (all or nothing)',
      description:
        'Without seq, the next seqs of the partition are assigned and the messages enqueued in one atomic step. ' +
        'With seq (on every message of the batch), the seqs are used as given. A known id returns its first seq and enqueues nothing.',
      tags: ['messages'],
      security,
      params: { type: 'object', properties: { pipeline: { type: 'string' } }, required: ['pipeline'] },
      querystring: {
        type: 'object',
        properties: { partition: { type: 'string', pattern: '^(0|[1-9][0-9]*)$', default: '0', description: 'the partition (default 0), below the registered count' } },
      },
      body: { oneOf: [jsonSchema(messageSchema), { type: 'array', minItems: 1, maxItems: config.maxBatch, items: jsonSchema(messageSchema) }] },
      response: {
        202: {
          description: 'Enqueued: the seq of each message, in order, and which were duplicates of an earlier id',
          type: 'object',
          properties: { seqs: { type: 'array', items: { type: 'integer' } }, duplicates: { type: 'array', items: { type: 'boolean' } } },
        },
        400: { description: 'Malformed JSON or a schema violation: every field and why', ...errorReply },
        401: { description: 'Missing or unknown API key', ...errorReply },
        404: { description: 'No such pipeline in the registry', ...errorReply },
        409: { description: 'The partition takes seqs from the other source (assigned vs given)', ...errorReply },
        413: { description: 'Body over MAX_BODY_BYTES', ...errorReply },
        503: { description: 'Redis unreachable: nothing enqueued; see Retry-After', ...errorReply },
      },
    },
  }, async (request, reply) => {
    const deadline = Date.now() + config.redisTimeoutMs;
    const { messages, batch } = parseSubmitBody(request.body, config.maxBatch);
    const { name, settings } = await pipelineOf(request.params, deadline);
    const partition = partitionOf(request.query, settings, name);
    if (settings.ordering === 'strict') checkPriorities(messages, batch, name);
    const keys = keysFor(name, partition, config.keyPrefix);
    const result = await withRedis(deadline - Date.now(), 'submit', () => submitToPartition(
      { redis, assigned, logger: request.logger }, { pipeline: name, partition, keys }, messages,
      { ordering: settings.ordering, seqStart: config.seqStart, dedupTtlMs: config.dedupTtlMs, deadline, maxAhead: config.maxSeqAhead },
    ));
    if (result.kind === 'expired') throw new RedisUnavailableError(`Redis ran the submit after its ${config.redisTimeoutMs} ms deadline`);
    if (result.kind === 'seq-source-conflict') {
      throw new RequestError(409, result.source === 'assigned'
        ? `partition ${partition} of pipeline ${name} has its seqs assigned by the ingest: omit seq`
        : `partition ${partition} of pipeline ${name} has its seqs given by producers: give a seq on every message`);
    }
    if (result.kind === 'seq-too-far-ahead') {
      const at = messages.findIndex((m) => m.seq === result.seq);
      throw badRequest([{
        field: batch ? `[${at}].seq` : 'seq',
        reason: `is ${result.seq}, ${result.maxAhead} or more past the partition's next seq ${result.next} (MAX_SEQ_AHEAD ${result.maxAhead}): ` +
          'check the producer\'s numbering',
      }]);
    }
    const duplicates = result.duplicates.filter(Boolean).length;
    request.logger.info('submitted', {
      pipeline: name, partition, count: messages.length, duplicates,
      firstSeq: result.seqs[0], lastSeq: result.seqs[result.seqs.length - 1],
    });
    return reply.code(202).send({ seqs: result.seqs, duplicates: result.duplicates });
  });

  app.get('/v1/pipelines/:pipeline', {
    schema: {
      summary: 'A pipeline\'s status, per partition',
      description:
        'Input depth, in-flight seqs, results backlog, next seq to emit, current leader and fencing token, ' +
        'dead-letter and skipped counts.',
      tags: ['pipelines'],
      security,
      params: { type: 'object', properties: { pipeline: { type: 'string' } }, required: ['pipeline'] },
      response: {
        200: { description: 'The pipeline\'s settings and one entry per partition', type: 'object', additionalProperties: true },
        404: { description: 'No such pipeline in the registry', ...errorReply },
        503: { description: 'Redis unreachable', ...errorReply },
      },
    },
  }, async (request) => {
    const deadline = Date.now() + config.redisTimeoutMs;
    const { name, settings } = await pipelineOf(request.params, deadline);
    return withRedis(deadline - Date.now(), 'status', () => pipelineStatus(redis, name, settings, config.keyPrefix));
  });

  app.get('/v1/pipelines', {
    schema: {
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
    },
  }, async (request) => {
    const all = await withRedis(config.redisTimeoutMs, 'registry', () => listPipelines(redis, config.keyPrefix));
    for (const { pipeline, reason } of all.skipped) {
      request.logger.warn('unreadable registry entry skipped', { pipeline, reason, fix: 'fix or delete the registry entry' });
    }
    return { pipelines: Object.fromEntries(all), skipped: all.skipped };
  });
}
