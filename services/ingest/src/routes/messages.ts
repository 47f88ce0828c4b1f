import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { listPipelines } from '@inorder/shared';
import type { IngestContext } from '../context.js';
import { sendJson } from '../replies.js';
import { RequestError, badRequest, withRedis } from '../errors.js';
import { pipelineOf, submitPartitionOf } from '../params.js';
import { checkPriorities, parseSubmitBody, type Message } from '../schemas.js';
import { pipelineStatus } from '../status.js';
import { routeAndSubmit, type Routed } from '../submitting.js';
import { listDoc, statusDoc, submitDoc } from './message-docs.js';
import { requireApiKey } from './plumbing.js';

export { errorReply, security } from './message-docs.js';

/** POST /v1/pipelines/:pipeline/messages, GET /v1/pipelines/:pipeline, GET /v1/pipelines. */
export async function messageRoutes(app: FastifyInstance, { context }: { context: IngestContext }): Promise<void> {
  const { redis, config, directory, apiKeys } = context;
  requireApiKey(app, apiKeys, sendJson);
  app.post('/v1/pipelines/:pipeline/messages', { schema: submitDoc(config.maxBatch) }, (request, reply) =>
    submitMessages(context, request, reply),
  );
  app.get('/v1/pipelines/:pipeline', { schema: statusDoc }, async (request) => {
    const deadline = Date.now() + config.redisTimeoutMs;
    const { name, settings } = await pipelineOf(directory, request.params, deadline);
    return withRedis(deadline - Date.now(), 'status', () => pipelineStatus(redis, name, settings, config.keyPrefix));
  });
  app.get('/v1/pipelines', { schema: listDoc }, async (request) => {
    const all = await withRedis(config.redisTimeoutMs, 'registry', () => listPipelines(redis, config.keyPrefix));
    for (const { pipeline, reason } of all.skipped) {
      request.logger.warn('unreadable registry entry skipped', { pipeline, reason, fix: 'fix or delete the registry entry' });
    }
    return { pipelines: Object.fromEntries(all), skipped: all.skipped };
  });
}

/** Validates, routes and submits a batch; answers 202 with the partition, the seqs and the duplicates. */
async function submitMessages(context: IngestContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { config, directory, metrics } = context;
  const deadline = Date.now() + config.redisTimeoutMs;
  const { messages, batch } = parseSubmitBody(request.body, config.maxBatch);
  const { name, settings } = await pipelineOf(directory, request.params, deadline);
  if (settings.ordering === 'strict') checkPriorities(messages, batch, name);
  const { partition, result } = await routeAndSubmit(
    context,
    { logger: request.logger, deadline, name, settings },
    messages,
    (current) => submitPartitionOf(request.query, messages, batch, current, name),
    { maxAhead: config.maxSeqAhead },
  );
  const submitted = refuseUnsubmitted(result, { name, partition, messages, batch });
  metrics.noteSubmit(name, partition, submitted.duplicates);
  request.logger.info('submitted', {
    pipeline: name,
    partition,
    count: messages.length,
    duplicates: submitted.duplicates.filter(Boolean).length,
    firstSeq: submitted.seqs[0],
    lastSeq: submitted.seqs[submitted.seqs.length - 1],
  });
  return reply.code(202).send({ partition, seqs: submitted.seqs, duplicates: submitted.duplicates });
}

/** The submitted result, or the 409 / 400 that answers a refusal. */
function refuseUnsubmitted(
  result: Routed['result'],
  at: { name: string; partition: number; messages: Message[]; batch: boolean },
): Extract<Routed['result'], { kind: 'submitted' }> {
  const { name, partition, messages, batch } = at;
  if (result.kind === 'seq-source-conflict') {
    throw new RequestError(
      409,
      result.source === 'assigned'
        ? `partition ${partition} of pipeline ${name} has its seqs assigned by the ingest: omit seq`
        : `partition ${partition} of pipeline ${name} has its seqs given by producers: give a seq on every message`,
    );
  }
  if (result.kind === 'seq-too-far-ahead') {
    const index = messages.findIndex((m) => m.seq === result.seq);
    throw badRequest([
      {
        field: batch ? `[${index}].seq` : 'seq',
        reason:
          `is ${result.seq}, ${result.maxAhead} or more past the partition's next seq ${result.next} (MAX_SEQ_AHEAD ${result.maxAhead}): ` +
          "check the producer's numbering",
      },
    ]);
  }
  return result;
}
