import type { RedisClient } from './redis.js';
import { parseEnvelopeObject } from './envelope.js';
import { EnvelopeError, InorderError, LayoutError } from './errors.js';
import { PRIORITY_MAX, PRIORITY_MIN, type PartitionKeys } from './partition/keys.js';
import type { Ordering } from './commands.js';
import { LAYOUT } from './partition/partition.js';

/**
 * Most messages in one submit: keys, ARGV and the command itself stay under Redis Cluster's
 * 3,999 arguments (3 + 6 keys + 5 + 2 per message).
 */
export const SUBMIT_MAX_BATCH = 1990;

/** One message to submit: the envelope fields a producer chooses. */
export interface SubmitMessage {
  payload: unknown;
  /** omit on every message of the batch to have seqs assigned */
  seq?: number;
  /** makes the submit idempotent while the id is remembered */
  id?: string;
  maxRetries?: number;
  maxAgeMs?: number;
  /** unordered pipelines only: lower first, PRIORITY_MIN..PRIORITY_MAX, default 0 */
  priority?: number;
}

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
}

export type SubmitResult =
  | { kind: 'submitted'; seqs: number[]; duplicates: boolean[] }
  /** the partition takes seqs from the other source: nothing written */
  | { kind: 'seq-source-conflict'; source: 'assigned' | 'given' }
  /** Redis ran the submit after the deadline: nothing written */
  | { kind: 'expired' };

/** A batch the submit step cannot take as given (a caller's bug: the ingest checks first). */
export class SubmitBatchError extends InorderError {}

/**
 * Submits a batch to one partition in one atomic step (submit.lua): seqs assigned or given,
 * known ids answered with their first seq, the rest appended to the input (strict) or the
 * priority queue (none). All or nothing.
 */
export async function submit(
  redis: RedisClient,
  keys: PartitionKeys,
  messages: readonly SubmitMessage[],
  options: SubmitOptions,
): Promise<SubmitResult> {
  const args = submitArgs(messages, options);
  const [code, a, b] = await redis.inorderSubmit(
    keys.meta, keys.input, keys.queue, keys.signal, keys.dedupe, keys.dedupeAt, ...args,
  );
  switch (code) {
    case 1:
      return { kind: 'submitted', seqs: (a as string[]).map(Number), duplicates: (b ?? []).map((f) => f === 1) };
    case -1:
      throw new LayoutError(keys.meta, String(a), LAYOUT);
    case -2:
      return { kind: 'seq-source-conflict', source: a === 'given' ? 'given' : 'assigned' };
    case -3:
      return { kind: 'expired' };
    default:
      throw new InorderError(`submit.lua returned unknown code ${code}`);
  }
}

function submitArgs(messages: readonly SubmitMessage[], options: SubmitOptions): (string | number)[] {
  if (messages.length === 0) throw new SubmitBatchError('a submit needs at least one message');
  if (messages.length > SUBMIT_MAX_BATCH) {
    throw new SubmitBatchError(`a submit takes at most ${SUBMIT_MAX_BATCH} messages, got ${messages.length}`);
  }
  const given = messages[0]!.seq !== undefined;
  const ordered = options.ordering === 'strict';
  const now = options.now ?? Date.now();
  const args: (string | number)[] = [
    options.ordering, LAYOUT, options.seqStart ?? 1, options.deadline ?? 0, options.dedupTtlMs,
  ];
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
    const envelope = parseEnvelopeObject({
      ...m, seq: m.seq ?? 1, priority: ordered ? undefined : priority, createdAt: now,
    });
    const { seq, ...rest } = envelope;
    const body = JSON.stringify(rest);
    if (!body.startsWith('{"')) throw new EnvelopeError(`message ${i}: envelope did not serialise to an object`);
    args.push(`${given ? seq : ''}|${priority}|${m.id ?? ''}`, body);
  }
  return args;
}
