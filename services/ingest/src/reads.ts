import { z } from 'zod';
import { Partition, RedriveError, findDeadLetters, redrive, type PipelineSettings } from '@inorder/shared';
import type { IngestContext } from './context.js';
import { RedisUnavailableError, RequestError, badRequest, withRedis } from './errors.js';
import { describeIssues } from './schemas.js';

/** One page of a partition's output or dead-letter list. */
export interface Page {
  /** the entries, oldest first, each parsed from its JSON (an unreadable one as `{ unreadable: text }`) */
  entries: unknown[];
  /** the `from` of the following page; null when this page reaches the end of the list */
  next: number | null;
  /** the list's length at the time of the read */
  length: number;
}

/** A partition of a registered pipeline, as the read routes address it. */
export interface Target {
  name: string;
  partition: number;
  settings: PipelineSettings;
}

function openPartition(context: IngestContext, target: Target): Partition {
  return new Partition(context.redis, target.name, target.partition, {
    prefix: context.config.keyPrefix,
    ordering: target.settings.ordering,
    seqStart: context.config.seqStart,
  });
}

/** Reads one page of the output or dead-letter list; removes nothing. */
export async function readPage(
  context: IngestContext,
  target: Target,
  list: 'output' | 'dead',
  page: { from: number; limit: number },
  deadline: number,
): Promise<Page> {
  const partition = openPartition(context, target);
  const { raw, length } = await advise('retry later', () =>
    withRedis(deadline - Date.now(), `${list} read`, () =>
      list === 'output' ? partition.readOutput(page.from, page.limit) : partition.readDead(page.from, page.limit),
    ),
  );
  const end = page.from + raw.length;
  return { entries: raw.map(entryOf), next: raw.length > 0 && end < length ? end : null, length };
}

/** A stored entry as JSON; text that is not JSON (written by hand, truncated) is kept as `{ unreadable }`. */
function entryOf(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return { unreadable: raw };
  }
}

export const redriveBody = z
  .object({
    newSeq: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta({ description: 'the seq to give it, for partitions whose producers number their own seqs (one they will never use)' }),
  })
  .strict();

/** The optional body of a redrive: nothing, or `{ "newSeq": N }`; 400 naming what is wrong. */
export function parseRedriveBody(body: unknown): { newSeq?: number } {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest([{ field: '(body)', reason: 'must be empty or a JSON object such as {"newSeq": 7}' }]);
  }
  const parsed = redriveBody.safeParse(body);
  if (!parsed.success) throw badRequest(describeIssues(parsed.error));
  return parsed.data.newSeq === undefined ? {} : { newSeq: parsed.data.newSeq };
}

/**
 * Redrives the dead letter of `seq` as a new message at the end of the order (the library's
 * `redrive()`): 404 when the partition has no dead letter for that seq, 409 when it cannot be
 * redriven as asked (the seq source needs `newSeq` or refuses it; no readable envelope).
 */
export async function redriveDeadLetter(
  context: IngestContext,
  target: Target,
  seq: number,
  newSeq: number | undefined,
  deadline: number,
): Promise<{ seq: number; duplicate: boolean }> {
  const partition = openPartition(context, target);
  const options = { ordering: target.settings.ordering, seqStart: context.config.seqStart, ...(newSeq === undefined ? {} : { newSeq }) };
  try {
    // A redrive cut short by the time limit may still land: asking again is safe, as it never enqueues twice.
    const result = await advise('the redrive may have been applied; asking again is safe (it never enqueues the message twice)', () =>
      withRedis(deadline - Date.now(), 'redrive', () => redrive(context.redis, partition.keys, seq, options)),
    );
    // The seq was acknowledged: never hand it out again after a Redis rollback.
    if (newSeq === undefined) context.assigned.record(partition.keys, result.seq);
    return result;
  } catch (error) {
    if (!(error instanceof RedriveError)) throw error;
    const left = await withRedis(deadline - Date.now(), 'dead-letter lookup', () => findDeadLetters(context.redis, partition.keys, seq));
    if (left.length === 0) {
      throw new RequestError(404, `partition ${target.partition} of pipeline ${target.name} has no dead letter for seq ${seq}`);
    }
    throw new RequestError(409, error.message);
  }
}

/** Runs a step whose 503 tells the client `advice` instead of "nothing was enqueued". */
async function advise<T>(advice: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof RedisUnavailableError) error.advice = advice;
    throw error;
  }
}
