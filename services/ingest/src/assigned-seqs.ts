import {
  submit,
  type Logger,
  type PartitionKeys,
  type RedisClient,
  type SubmitMessage,
  type SubmitOptions,
  type SubmitResult,
} from '@inorder/shared';
import { BoundedMap } from './bounded-map.js';

/** Partitions whose last assigned seq one ingest process remembers. */
export const ASSIGNED_SEQS_CAPACITY = 10_000;

/**
 * The highest seq this process has assigned in each partition, kept in memory (bounded: the
 * least recently used partition is forgotten first). Passed to submit.lua as its floor, so that
 * after a Redis rollback (an older snapshot, a lagging replica) a seq already acknowledged to a
 * producer is never handed to another message.
 */
export class AssignedSeqs {
  private readonly highest: BoundedMap<string, number>;

  constructor(capacity = ASSIGNED_SEQS_CAPACITY) {
    this.highest = new BoundedMap(capacity);
  }

  get size(): number {
    return this.highest.size;
  }

  /** The highest seq assigned here in the partition, 0 when none is remembered. */
  floor(keys: PartitionKeys): number {
    return this.highest.get(keys.meta) ?? 0;
  }

  record(keys: PartitionKeys, seq: number): void {
    if (seq > this.floor(keys)) this.highest.set(keys.meta, seq);
  }
}

/**
 * The ingest's one call to submit.lua: passes the partition's floor when seqs are to be
 * assigned, remembers the seqs it got, and logs an error when Redis had rolled back below it.
 */
export async function submitToPartition(
  parts: { redis: RedisClient; assigned: AssignedSeqs; logger: Logger },
  where: { pipeline: string; partition: number; keys: PartitionKeys },
  messages: readonly SubmitMessage[],
  options: Omit<SubmitOptions, 'floor'>,
): Promise<SubmitResult> {
  const { redis, assigned, logger } = parts;
  const assigning = messages[0]?.seq === undefined;
  const floor = assigning ? assigned.floor(where.keys) : 0;
  const result = await submit(redis, where.keys, messages, { ...options, floor });
  if (result.kind !== 'submitted') return result;
  if (result.rollback) {
    logger.error('Redis lost seqs it had acknowledged (a rollback): assigning from the highest seq this ingest handed out', {
      event: 'rollback-detected',
      pipeline: where.pipeline,
      partition: where.partition,
      storedAssigned: result.rollback.stored,
      rememberedAssigned: result.rollback.floor,
    });
  }
  if (assigning) {
    let top = 0;
    result.seqs.forEach((seq, i) => {
      if (!result.duplicates[i] && seq > top) top = seq;
    });
    if (top > 0) assigned.record(where.keys, top);
  }
  return result;
}
