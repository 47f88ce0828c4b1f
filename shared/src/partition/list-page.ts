import { InorderError } from '../errors.js';
import type { RedisClient } from '../redis.js';

/** One page of a partition's list: its entries as stored, and the list's length at the time of the read. */
export interface ListPage {
  raw: string[];
  length: number;
}

/**
 * A page of the list at `key` (the output or the dead letters): at most `count` entries from
 * position `from`, as stored, and the list's length, read in one MULTI so that the two agree.
 * Reading removes nothing.
 */
export async function readListPage(redis: RedisClient, key: string, from: number, count: number): Promise<ListPage> {
  if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`a list page needs a non-negative from and count, got from ${from}, count ${count}`);
  }
  // LRANGE's stop is inclusive, and LRANGE key 0 -1 would be the whole list: a count of 0 reads no entry.
  const multi = redis.multi();
  if (count > 0) multi.lrange(key, from, from + count - 1);
  const replies = await multi.llen(key).exec();
  if (!replies) throw new InorderError(`the read of ${key} was aborted`);
  for (const [error] of replies) if (error) throw error;
  const raw = count > 0 ? (replies[0]![1] as string[]) : [];
  return { raw, length: replies[replies.length - 1]![1] as number };
}
