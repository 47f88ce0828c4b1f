import type { RedisClient } from './redis.js';
import { EnvelopeError } from './errors.js';
import { makeEnvelope, serializeEnvelope, type NewMessage } from './envelope.js';
import { PRIORITY_MAX, PRIORITY_MIN } from './keys.js';
import { Partition, type Ordering } from './partition.js';
import { getPipeline } from './registry.js';

/** Most entries per call: keeps a request under Redis Cluster's 3,999 arguments. */
const PUSH_CHUNK = 1900;

export interface EnqueueTarget {
  pipeline: string;
  partition?: number;
  prefix?: string;
  /** defaults to the pipeline's registered ordering, or strict when it is not registered */
  ordering?: Ordering;
}

/**
 * Validates and appends messages to a partition's input, stamping `createdAt`: in the order
 * given for strict pipelines, by priority (lower first, then arrival) for unordered ones.
 * Throws EnvelopeError before writing anything if any message is invalid. Each chunk of
 * 1,900 messages is written atomically.
 */
export async function enqueue(redis: RedisClient, target: EnqueueTarget, messages: NewMessage[], now = Date.now()): Promise<number> {
  const ordering = target.ordering ?? (await getPipeline(redis, target.pipeline, target.prefix))?.ordering ?? 'strict';
  const partition = new Partition(redis, target.pipeline, target.partition ?? 0, { prefix: target.prefix, ordering });
  const entries = messages.map((m) => {
    if (m.priority !== undefined && ordering === 'strict') {
      throw new EnvelopeError(`seq ${m.seq}: priority is only for unordered pipelines; ${target.pipeline} keeps strict order`);
    }
    if (m.priority !== undefined && (m.priority < PRIORITY_MIN || m.priority > PRIORITY_MAX)) {
      throw new EnvelopeError(`seq ${m.seq}: priority must be between ${PRIORITY_MIN} and ${PRIORITY_MAX}`);
    }
    return { raw: serializeEnvelope(makeEnvelope(m, now)), priority: m.priority };
  });
  for (let i = 0; i < entries.length; i += PUSH_CHUNK) {
    await partition.enqueue(entries.slice(i, i + PUSH_CHUNK));
  }
  return entries.length;
}
