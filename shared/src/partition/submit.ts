import type { RedisClient } from '../redis.js';
import { parseEnvelopeObject, type NewMessage } from '../envelope.js';
import { EnvelopeError, InorderError, LayoutError } from '../errors.js';
import { PRIORITY_MAX, PRIORITY_MIN, addressOf, wakeChannels, type PartitionKeys } from './keys.js';
import { scriptKeys, type Ordering } from '../commands.js';
import { writeAcked } from '../replica-acks.js';
import { LAYOUT } from './partition.js';

/**
 * Most messages in one submit: keys, ARGV and the command itself stay under Redis Cluster's
 * 3,999 arguments (3 + 5 keys + 10 + 2 per message = 3,998).
 */
export const SUBMIT_MAX_BATCH = 1990;

/**
 * The default refusal distance for given seqs: a seq this far or further past the partition's
 * next seq is refused (the ingest's MAX_SEQ_AHEAD, enqueue()'s maxSeqAhead).
 */
export const MAX_SEQ_AHEAD = 10_000_000;

/** One message to submit: the envelope fields a producer chooses, the seq left out on every message of a batch to have seqs assigned. */
export type SubmitMessage = Omit<NewMessage, 'seq'> & { seq?: number };

export interface SubmitOptions {
  ordering: Ordering;
  /** first seq of the partition when it is new (default 1) */
  seqStart?: number;
  /** how long a message id is remembered, ms (0 = ids are ignored) */
  dedupTtlMs: number;
  /** epoch ms after which Redis must not apply the submit (the caller has given up); 0 = none */
  deadline?: number;
  /** the envelopes' createdAt */
  now?: number;
  /**
   * Ordered pipelines: refuse a batch that gives a seq this far or further past the partition's
   * next seq (default 0 = no limit; callers facing producers pass MAX_SEQ_AHEAD or a setting).
   */
  maxAhead?: number;
  /**
   * The highest seq the caller itself has assigned in this partition (default 0 = none). When
   * Redis holds a lower last assigned seq (it was rolled back), it is raised to this first, so
   * a seq already acknowledged is never handed out again.
   */
  floor?: number;
  /**
   * The pipeline's partition count the caller routed the batch by (default 0 = not checked).
   * When the partition records another count (`npm run partitions` changed it since the caller
   * read the registry), nothing is written and the result is `stale-partitions`.
   */
  partitions?: number;
}

export type SubmitResult =
  /** `rollback`: the partition's last assigned seq was below the floor, and was raised to it */
  | { kind: 'submitted'; seqs: number[]; duplicates: boolean[]; rollback?: { stored: number; floor: number } }
  /** the partition takes seqs from the other source: nothing written */
  | { kind: 'seq-source-conflict'; source: 'assigned' | 'given' }
  /** `seq` (the first such of the batch) is `maxAhead` or more past the partition's `next`: nothing written */
  | { kind: 'seq-too-far-ahead'; seq: number; next: number; maxAhead: number }
  /** Redis ran the submit after the deadline: nothing written */
  | { kind: 'expired' }
  /** the pipeline's partition count is being changed to `to` (`npm run partitions`): nothing written */
  | { kind: 'resizing'; to: number }
  /** the caller routed by another count than the pipeline's `partitions`: nothing written */
  | { kind: 'stale-partitions'; partitions: number };

/** A batch the submit step cannot take as given (a caller's bug: the ingest checks first). */
export class SubmitBatchError extends InorderError {}

/** A validated batch and its submit.lua arguments, built before anything is written. */
export interface PreparedSubmit {
  readonly args: ReadonlyArray<string | number>;
  readonly count: number;
  /** the highest seq the batch gives (0 when its seqs are to be assigned) */
  readonly highestGiven: number;
  readonly floor: number;
}

/**
 * Submits a batch to one partition in one atomic step (submit.lua): seqs assigned or given,
 * known ids answered with their first seq, the rest appended to the input (strict) or the
 * priority queue (none). All or nothing. Throws EnvelopeError or SubmitBatchError, writing
 * nothing, for a batch that cannot be submitted as given.
 */
export async function submit(
  redis: RedisClient,
  keys: PartitionKeys,
  messages: readonly SubmitMessage[],
  options: SubmitOptions,
): Promise<SubmitResult> {
  return submitPrepared(redis, keys, prepareSubmit(messages, options));
}

/** submit.lua's arguments before the wake channel and tag (which come from the keys). */
const FIXED_ARGS = 8;

/** Runs a batch checked by prepareSubmit. */
export async function submitPrepared(redis: RedisClient, keys: PartitionKeys, prepared: PreparedSubmit): Promise<SubmitResult> {
  const { prefix, tag } = addressOf(keys);
  const split = tag.lastIndexOf(':');
  const where = { pipeline: tag.slice(0, split), partition: Number(tag.slice(split + 1)) };
  const [code, a, b, c] = await writeAcked(
    redis,
    where,
    'inorderSubmit',
    ...scriptKeys('inorderSubmit', keys),
    ...prepared.args.slice(0, FIXED_ARGS),
    wakeChannels(prefix).input,
    tag,
    ...prepared.args.slice(FIXED_ARGS),
  );
  switch (code) {
    case 1: {
      const result: SubmitResult = {
        kind: 'submitted',
        seqs: (a as string[]).map(Number),
        duplicates: ((b ?? []) as number[]).map((f) => f === 1),
      };
      if (typeof c === 'number' && c >= 0) result.rollback = { stored: c, floor: prepared.floor };
      return result;
    }
    case -1:
      throw new LayoutError(keys.meta, String(a), LAYOUT);
    case -2:
      return { kind: 'seq-source-conflict', source: a === 'given' ? 'given' : 'assigned' };
    case -3:
      return { kind: 'expired' };
    case -4:
      return { kind: 'seq-too-far-ahead', seq: Number(a), next: Number(b), maxAhead: Number(c) };
    case -5:
      return { kind: 'resizing', to: Number(a) };
    case -6:
      return { kind: 'stale-partitions', partitions: Number(a) };
    default:
      throw new InorderError(`submit.lua returned unknown code ${code}`);
  }
}

/**
 * Validates a batch against the envelope schema processors read and builds submit.lua's
 * arguments. Throws EnvelopeError (an invalid message) or SubmitBatchError (a batch the
 * submit step cannot take) before anything is written.
 */
export function prepareSubmit(messages: readonly SubmitMessage[], options: SubmitOptions): PreparedSubmit {
  if (messages.length === 0) throw new SubmitBatchError('a submit needs at least one message');
  if (messages.length > SUBMIT_MAX_BATCH) {
    throw new SubmitBatchError(`a submit takes at most ${SUBMIT_MAX_BATCH} messages, got ${messages.length}`);
  }
  const given = messages[0]!.seq !== undefined;
  const ordered = options.ordering === 'strict';
  const now = options.now ?? Date.now();
  const floor = options.floor ?? 0;
  const args: (string | number)[] = [
    options.ordering,
    LAYOUT,
    options.seqStart ?? 1,
    options.deadline ?? 0,
    options.dedupTtlMs,
    options.maxAhead ?? 0,
    floor,
    options.partitions ?? 0,
  ];
  let highestGiven = 0;
  for (const [i, m] of messages.entries()) {
    if ((m.seq !== undefined) !== given) {
      throw new SubmitBatchError(`message ${i}: a batch gives a seq on every message or on none`);
    }
    if (ordered && m.priority !== undefined) {
      throw new SubmitBatchError(`message ${i}: priority applies to unordered pipelines only`);
    }
    if (m.payload === undefined) throw new EnvelopeError(`message ${i}: invalid envelope: payload: is required`);
    const priority = ordered ? 0 : (m.priority ?? 0);
    if (!Number.isInteger(priority) || priority < PRIORITY_MIN || priority > PRIORITY_MAX) {
      throw new SubmitBatchError(`message ${i}: priority must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}`);
    }
    // Validates against the envelope schema processors read (seq 1 stands in for an assigned one).
    let envelope;
    try {
      envelope = parseEnvelopeObject({ ...m, seq: m.seq ?? 1, priority: ordered ? undefined : priority, createdAt: now });
    } catch (error) {
      throw new EnvelopeError(`${given ? `seq ${m.seq}` : `message ${i}`}: ${(error as Error).message}`, undefined, { cause: error });
    }
    const { seq, ...rest } = envelope;
    if (given && seq > highestGiven) highestGiven = seq;
    const body = JSON.stringify(rest);
    if (!body.startsWith('{"')) throw new EnvelopeError(`message ${i}: envelope did not serialise to an object`);
    args.push(`${given ? seq : ''}|${priority}|${m.id ?? ''}`, body);
  }
  return { args, count: messages.length, highestGiven, floor };
}
