import type { RedisClient } from '../redis.js';
import type { DeadLetter } from '../envelope.js';
import { InorderError } from '../errors.js';
import type { PartitionKeys } from './keys.js';
import type { Ordering } from '../commands.js';
import { submit } from './submit.js';

export interface StoredDeadLetter {
  /** position in the dead-letter list (0 = oldest) */
  index: number;
  record: DeadLetter;
  /** the record as stored: what LREM removes */
  raw: string;
}

/** A dead letter that cannot be redriven as asked (no envelope, no free seq...). */
export class RedriveError extends InorderError {}

const SCAN_CHUNK = 1000;

/** A stored record; text that is not a JSON object (written by hand: `null`, `42`, not JSON) reads as malformed. */
function parseRecord(raw: string, index: number): StoredDeadLetter {
  try {
    const record = JSON.parse(raw) as unknown;
    if (record !== null && typeof record === 'object' && !Array.isArray(record)) return { index, record: record as DeadLetter, raw };
  } catch {
    // not JSON: below
  }
  return { index, record: { reason: 'malformed', raw, deadAt: 0 }, raw };
}

/** Dead letters from `start` (0 = oldest), at most `count`. */
export async function listDeadLetters(redis: RedisClient, keys: PartitionKeys, start = 0, count = 100): Promise<StoredDeadLetter[]> {
  const raws = await redis.lrange(keys.dead, start, start + count - 1);
  return raws.map((raw, i) => parseRecord(raw, start + i));
}

/** The dead letters of one seq (normally one; a late copy can add another), oldest first. */
export async function findDeadLetters(redis: RedisClient, keys: PartitionKeys, seq: number): Promise<StoredDeadLetter[]> {
  const found: StoredDeadLetter[] = [];
  for (let start = 0; ; start += SCAN_CHUNK) {
    const raws = await redis.lrange(keys.dead, start, start + SCAN_CHUNK - 1);
    raws.forEach((raw, i) => {
      const stored = parseRecord(raw, start + i);
      if (stored.record.seq === seq) found.push(stored);
    });
    if (raws.length < SCAN_CHUNK) return found;
  }
}

export interface RedriveOptions {
  ordering: Ordering;
  /** the seq to give it; required when the partition's producers number their own seqs */
  newSeq?: number;
  seqStart?: number;
}

/**
 * Puts a dead-lettered message back as a NEW message at the end of the order, keeping its
 * original seq in `originalSeq`, then removes the dead letter. It cannot go back to its old
 * place: the order has moved past it and the output after it was already delivered.
 *
 * The new seq is assigned atomically from the partition's counter when its seqs are assigned
 * by the ingest service; when producers number their own seqs, pass `newSeq` (one they will
 * never use). Idempotent: a redrive interrupted between the submit and the removal, run again,
 * finds the same seq and enqueues nothing twice.
 */
export async function redrive(
  redis: RedisClient,
  keys: PartitionKeys,
  seq: number,
  options: RedriveOptions,
): Promise<{ seq: number; duplicate: boolean }> {
  const [stored] = await findDeadLetters(redis, keys, seq);
  if (!stored) throw new RedriveError(`no dead letter for seq ${seq}`);
  const { record } = stored;
  if (!record.envelope) {
    throw new RedriveError(
      `seq ${seq} was dead-lettered as ${record.reason} with no readable envelope: fix its raw text and submit it again`,
    );
  }
  const source = await redis.hget(keys.meta, 'seqSource');
  if (options.newSeq === undefined && source !== 'assigned') {
    throw new RedriveError(
      `seqs of this partition are numbered by its producers${source ? '' : ' (or it has never used assigned seqs)'}: ` +
        'give the new seq explicitly (a seq the producers will never use)',
    );
  }
  const envelope = record.envelope;
  const message = {
    payload: envelope.payload,
    id: `redrive:${seq}:${record.deadAt}`,
    ...(options.newSeq !== undefined ? { seq: options.newSeq } : {}),
    ...(envelope.maxRetries !== undefined ? { maxRetries: envelope.maxRetries } : {}),
    ...(envelope.maxAgeMs !== undefined ? { maxAgeMs: envelope.maxAgeMs } : {}),
    ...(envelope.priority !== undefined && options.ordering === 'none' ? { priority: envelope.priority } : {}),
    originalSeq: envelope.originalSeq ?? seq,
  };
  const result = await submit(redis, keys, [message], {
    ordering: options.ordering,
    seqStart: options.seqStart,
    dedupTtlMs: 7 * 24 * 3600 * 1000,
  });
  if (result.kind === 'seq-source-conflict') {
    throw new RedriveError(
      `this partition takes seqs ${result.source === 'given' ? 'from its producers: pass the new seq' : 'from the ingest counter: omit the new seq'}`,
    );
  }
  if (result.kind !== 'submitted') throw new RedriveError('the redrive was not applied');
  await redis.lrem(keys.dead, 1, stored.raw);
  return { seq: result.seqs[0]!, duplicate: result.duplicates[0] === true };
}

/** Removes one seq's dead letters, or all of them; returns how many were removed. */
export async function purgeDeadLetters(redis: RedisClient, keys: PartitionKeys, seq?: number): Promise<number> {
  if (seq === undefined) {
    const count = await redis.llen(keys.dead);
    await redis.del(keys.dead);
    return count;
  }
  let removed = 0;
  for (const stored of await findDeadLetters(redis, keys, seq)) removed += await redis.lrem(keys.dead, 1, stored.raw);
  return removed;
}
