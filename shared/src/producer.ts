import type { RedisClient } from './redis.js';
import { EnvelopeError, InorderError, PipelineResizingError, SeqSourceError, SeqTooFarAheadError } from './errors.js';
import type { SubmitMessage } from './partition/submit.js';
import { partitionForKey } from './partition/routing.js';
import { PRIORITY_MAX, PRIORITY_MIN, keysFor, type PartitionKeys } from './partition/keys.js';
import type { Ordering } from './commands.js';
import { getPipeline } from './registry.js';
import { MAX_SEQ_AHEAD, SUBMIT_MAX_BATCH, prepareSubmit, submitPrepared, type PreparedSubmit } from './partition/submit.js';

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

/**
 * A message to enqueue: a seq of the producer's own (every message of a partition's batch, or
 * none: then the partition assigns them, as the ingest does) and an optional ordering key.
 */
export type EnqueueMessage = SubmitMessage;

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
 * Validates and appends messages to a pipeline, stamping `createdAt`: in the order given for
 * strict pipelines, by priority (lower first, then arrival) for unordered ones. A thin layer over
 * submit.lua, the one way in, as the ingest uses it: ids ignored.
 *
 * A message with a `key` goes to partition partitionForKey(key, the pipeline's registered
 * partitions), so one key's messages keep their order; one without goes to `target.partition`
 * (default 0). In each partition, every message gives a seq (the producer's numbering) or none
 * does (the partition assigns the next ones, in the order given).
 *
 * Every message is validated before anything is written (EnvelopeError). Each chunk of up to
 * 1,900 messages of one partition is written atomically. Throws, writing nothing more,
 * SeqSourceError when the partition takes its seqs from the other source, SeqTooFarAheadError
 * for a seq `maxSeqAhead` or more past the partition's next seq, LayoutError for a partition
 * written by another data layout, PipelineResizingError while the pipeline's partition count is
 * being changed (or changed since its registry read). `options` may be a number: the envelopes'
 * createdAt.
 */
export async function enqueue(
  redis: RedisClient,
  target: EnqueueTarget,
  messages: EnqueueMessage[],
  options: EnqueueOptions | number = {},
): Promise<number> {
  if (messages.length === 0) return 0;
  const registered = await getPipeline(redis, target.pipeline, target.prefix);
  const ordering = target.ordering ?? registered?.ordering ?? 'strict';
  const partitions = registered?.partitions ?? 1;
  // Each write carries the count it was routed by: a resize since the read above refuses it.
  const routedBy = registered?.partitions ?? 0;
  const byPartition = new Map<number, EnqueueMessage[]>();
  for (const m of messages) {
    const partition = m.key === undefined ? (target.partition ?? 0) : partitionForKey(m.key, partitions);
    let list = byPartition.get(partition);
    if (!list) byPartition.set(partition, (list = []));
    list.push(m);
  }
  const prepared = [...byPartition].map(([partition, list]) => ({ partition, chunks: prepare(list, target, ordering, options, routedBy) }));
  let written = 0;
  for (const { partition, chunks } of prepared) written += await write(redis, { ...target, partition }, chunks, ordering, options);
  return written;
}

function prepare(
  messages: EnqueueMessage[],
  target: EnqueueTarget,
  ordering: Ordering,
  options: EnqueueOptions | number,
  routedBy: number,
): PreparedSubmit[] {
  const { now = Date.now(), maxSeqAhead = MAX_SEQ_AHEAD } = typeof options === 'number' ? { now: options } : options;
  for (const m of messages) {
    const which = m.seq === undefined ? 'a message' : `seq ${m.seq}`;
    if (m.priority !== undefined && ordering === 'strict') {
      throw new EnvelopeError(`${which}: priority is only for unordered pipelines; ${target.pipeline} keeps strict order`);
    }
    if (m.priority !== undefined && (m.priority < PRIORITY_MIN || m.priority > PRIORITY_MAX)) {
      throw new EnvelopeError(`${which}: priority must be between ${PRIORITY_MIN} and ${PRIORITY_MAX}`);
    }
  }
  const submitOptions = { ordering, seqStart: target.seqStart ?? 1, dedupTtlMs: 0, now, maxAhead: maxSeqAhead, partitions: routedBy };
  const chunks: PreparedSubmit[] = [];
  for (let i = 0; i < messages.length; i += CHUNK) chunks.push(prepareSubmit(messages.slice(i, i + CHUNK), submitOptions));
  return chunks;
}

async function write(
  redis: RedisClient,
  target: EnqueueTarget & { partition: number },
  chunks: PreparedSubmit[],
  ordering: Ordering,
  options: EnqueueOptions | number,
): Promise<number> {
  const { maxSeqAhead = MAX_SEQ_AHEAD } = typeof options === 'number' ? {} : options;
  const { partition } = target;
  const keys = keysFor(target.pipeline, partition, target.prefix);
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
          result.source === 'assigned'
            ? `${where}: the ingest assigns its seqs, so messages with their own seqs are refused (leave seq out, or use another pipeline)`
            : `${where}: its producers number their seqs, so messages without one are refused (give every message a seq)`,
        );
      case 'seq-too-far-ahead':
        throw new SeqTooFarAheadError(target.pipeline, partition, result.seq, result.next, result.maxAhead);
      case 'resizing':
        throw new PipelineResizingError(target.pipeline, partition, result.to, false);
      case 'stale-partitions':
        throw new PipelineResizingError(target.pipeline, partition, result.partitions, true);
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
async function refuseFarAhead(
  redis: RedisClient,
  keys: PartitionKeys,
  target: EnqueueTarget,
  chunks: PreparedSubmit[],
  maxAhead: number,
): Promise<void> {
  const highest = Math.max(...chunks.map((c) => c.highestGiven));
  const next = Number((await redis.hget(keys.meta, 'next')) ?? target.seqStart ?? 1);
  if (highest >= next + maxAhead) throw new SeqTooFarAheadError(target.pipeline, target.partition ?? 0, highest, next, maxAhead);
}
