import type { RedisClient } from './redis.js';
import { EnvelopeError, SeqSourceError } from './errors.js';
import type { NewMessage } from './envelope.js';
import type { Ordering } from './commands.js';
import { keysFor } from './partition/keys.js';
import { getPipeline } from './registry.js';
import { SUBMIT_MAX_BATCH, submit } from './submit.js';

export interface EnqueueTarget {
  pipeline: string;
  partition?: number;
  prefix?: string;
  /** defaults to the pipeline's registered ordering, or strict when it is not registered */
  ordering?: Ordering;
}

/**
 * Validates and appends messages that carry their producer's seqs to a partition's input,
 * stamping `createdAt`, through the same atomic step as the ingest (submit.lua). Throws
 * EnvelopeError before writing anything if any message is invalid, and SeqSourceError when the
 * ingest assigns the partition's seqs. Each chunk of SUBMIT_MAX_BATCH messages is atomic.
 */
export async function enqueue(redis: RedisClient, target: EnqueueTarget, messages: NewMessage[], now = Date.now()): Promise<number> {
  const ordering = target.ordering ?? (await getPipeline(redis, target.pipeline, target.prefix))?.ordering ?? 'strict';
  const keys = keysFor(target.pipeline, target.partition ?? 0, target.prefix);
  for (const m of messages) {
    if (m.priority !== undefined && ordering === 'strict') {
      throw new EnvelopeError(`seq ${m.seq}: priority is only for unordered pipelines; ${target.pipeline} keeps strict order`);
    }
  }
  for (let i = 0; i < messages.length; i += SUBMIT_MAX_BATCH) {
    const result = await submit(redis, keys, messages.slice(i, i + SUBMIT_MAX_BATCH), { ordering, dedupTtlMs: 0, now });
    if (result.kind === 'seq-source-conflict') {
      throw new SeqSourceError(
        `${target.pipeline} partition ${target.partition ?? 0}: the ingest assigns its seqs, so messages with their own seqs are refused (submit without seq through the ingest, or use another pipeline)`,
      );
    }
  }
  return messages.length;
}
