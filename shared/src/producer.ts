import type { RedisClient } from './redis.js';
import { EnvelopeError, InorderError, SeqSourceError, SeqTooFarAheadError } from './errors.js';
import type { NewMessage } from './envelope.js';
import { PRIORITY_MAX, PRIORITY_MIN, keysFor, type PartitionKeys } from './partition/keys.js';
import type { Ordering } from './commands.js';
import { getPipeline } from './registry.js';
import { MAX_SEQ_AHEAD, SUBMIT_MAX_BATCH, prepareSubmit, submitPrepared, type PreparedSubmit } from './submit.js';

/**
 * Messages per submit: at most SUBMIT_MAX_BATCH, kept at 1,900 so that each call stays the size
 * the README promises.
 */
const CHUNK = Math.min(1900, SUBMIT_MAX_BATCH);

export interface EnqueueTarget {
  pipeline: string;
  partition?: number;
  prefix?: string;
  /** defaults to the pipeline's registered ordering, or strict when it is not registered */
  ordering?: Ordering;
  /** first seq of the partition when it is new (default 1): the services' SEQ_START */
  seqStart?: number;
}

export interface EnqueueOptions {
  /** the envelopes' createdAt (default: now) */
  now?: number;
  /**
   * Ordered pipelines: refuse (SeqTooFarAheadError, nothing written) messages whose seq is this
   * far or further past the partition's next seq. Default MAX_SEQ_AHEAD (10,000,000); 0 = no limit.
   */
  maxSeqAhead?: number;
}

/**
 * Validates and appends messages that carry their producer's seqs to a partition, stamping
 * `createdAt`: in the order given for strict pipelines, by priority (lower first, then arrival)
 * for unordered ones. A thin layer over submit.lua, the one way in: seqs given, ids ignored.
 *
 * Every message is validated before anything is written (EnvelopeError). Each chunk of up to
 * 1,900 messages is written atomically. Throws, writing nothing, SeqSourceError when the ingest
 * assigns this partition's seqs, SeqTooFarAheadError for a seq `maxSeqAhead` or more past the
 * partition's next seq, LayoutError for a partition written by another data layout.
 * `options` may be a number: the envelopes' createdAt.
 */
export async function enqueue(
  redis: RedisClient,
  target: EnqueueTarget,
  messages: NewMessage[],
  options: EnqueueOptions | number = {},
): Promise<number> {
  const { now = Date.now(), maxSeqAhead = MAX_SEQ_AHEAD } = typeof options === 'number' ? { now: options } : options;
  if (messages.length === 0) return 0;
  const ordering = target.ordering ?? (await getPipeline(redis, target.pipeline, target.prefix))?.ordering ?? 'strict';
  const partition = target.partition ?? 0;
  const keys = keysFor(target.pipeline, partition, target.prefix);
  for (const m of messages) {
    if (m.seq === undefined) throw new EnvelopeError('invalid envelope: seq: is required (enqueue() takes numbered messages)');
    if (m.priority !== undefined && ordering === 'strict') {
      throw new EnvelopeError(`seq ${m.seq}: priority is only for unordered pipelines; ${target.pipeline} keeps strict order`);
    }
    if (m.priority !== undefined && (m.priority < PRIORITY_MIN || m.priority > PRIORITY_MAX)) {
      throw new EnvelopeError(`seq ${m.seq}: priority must be between ${PRIORITY_MIN} and ${PRIORITY_MAX}`);
    }
  }
  const submitOptions = { ordering, seqStart: target.seqStart ?? 1, dedupTtlMs: 0, now, maxAhead: maxSeqAhead };
  const chunks: PreparedSubmit[] = [];
  for (let i = 0; i < messages.length; i += CHUNK) chunks.push(prepareSubmit(messages.slice(i, i + CHUNK), submitOptions));
  if (chunks.length > 1 && ordering === 'strict' && maxSeqAhead > 0) await refuseFarAhead(redis, keys, target, chunks, maxSeqAhead);

  const where = `${target.pipeline} partition ${partition}`;
  let written = 0;
  for (const chunk of chunks) {
    const result = await submitPrepared(redis, keys, chunk);
    switch (result.kind) {
      case 'submitted':
        written += result.seqs.length;
        break;
      case 'seq-source-conflict':
        throw new SeqSourceError(
          `${where}: the ingest assigns its seqs, so messages with their own seqs are refused (submit without seq through the ingest, or use another pipeline)`,
        );
      case 'seq-too-far-ahead':
        throw new SeqTooFarAheadError(target.pipeline, partition, result.seq, result.next, result.maxAhead);
      case 'expired':
        throw new InorderError('submit.lua reported a deadline that enqueue() never sets');
    }
  }
  return written;
}

/**
 * Each chunk is checked in Redis as it is written; this first look at the partition's next seq
 * keeps a far-ahead seq in a later chunk from leaving the earlier chunks written. `next` only
 * grows, so a seq that passes here passes in Redis too.
 */
async function refuseFarAhead(redis: RedisClient, keys: PartitionKeys, target: EnqueueTarget, chunks: PreparedSubmit[], maxAhead: number): Promise<void> {
  const highest = Math.max(...chunks.map((c) => c.highestGiven));
  const next = Number((await redis.hget(keys.meta, 'next')) ?? target.seqStart ?? 1);
  if (highest >= next + maxAhead) throw new SeqTooFarAheadError(target.pipeline, target.partition ?? 0, highest, next, maxAhead);
}
