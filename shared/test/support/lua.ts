import { expect } from 'chai';
import { Partition, PRIORITY_SHIFT, type ClaimResult, type Ordering, type PartitionKeys, type RedisClient } from '@inorder/shared';
import { uniquePipeline, waitFor, type RedisServer } from '@inorder/testkit';

/** A partition of a fresh pipeline: no other test's keys, nothing to flush. */
export function freshPartition(redis: RedisClient, options: { ordering?: Ordering; seqStart?: number } = {}): Partition {
  return new Partition(redis, uniquePipeline('lua'), 0, options);
}

/** A raw input entry the way producers write it (seq first). */
export function envelopeRaw(seq: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ seq, payload: { n: seq }, createdAt: 1000, ...extra });
}

/** Everything stored under one partition's hash tag, by key, in a comparable form. */
export type Snapshot = Record<string, unknown>;

/** Reads every key of the partition (found by SCAN, so keys nobody expected show up too). */
export async function snapshot(redis: RedisClient, partition: Partition): Promise<Snapshot> {
  const tag = partition.keys.meta.slice(0, partition.keys.meta.lastIndexOf(':') + 1);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${tag.replace(/[{}[\]*?\\]/g, '\\$&')}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  const result: Snapshot = {};
  for (const key of found.sort()) {
    const type = await redis.type(key);
    switch (type) {
      case 'list':
        result[key] = await redis.lrange(key, 0, -1);
        break;
      case 'hash':
        result[key] = await redis.hgetall(key);
        break;
      case 'zset':
        result[key] = await redis.zrange(key, 0, -1, 'WITHSCORES');
        break;
      case 'stream':
        result[key] = await redis.xrange(key, '-', '+');
        break;
      case 'string':
        result[key] = await redis.get(key);
        break;
      default:
        result[key] = `<${type}>`;
    }
  }
  return result;
}

/** Fields of a stream entry as an object. */
export function fields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** Redis's clock (TIME) in epoch ms: the clock every lease deadline and retry due time is set on. */
export async function redisNow(redis: RedisClient): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** The partition's dead-letter records, parsed, oldest first. */
export async function deadLetters(redis: RedisClient, partition: Partition): Promise<Array<Record<string, unknown>>> {
  return (await redis.lrange(partition.keys.dead, 0, -1)).map((r) => JSON.parse(r) as Record<string, unknown>);
}

/** The owner of a claim token "owner:n", as lib/state.lua reads it. */
export function ownerOf(token: string): string {
  const colon = token.lastIndexOf(':');
  return colon < 0 ? token : token.slice(0, colon);
}

/**
 * Pushes envelopes of `seqs` onto a strict partition's input and claims them all under
 * `token` (owner: the token's prefix), failing when anything else was claimed.
 */
export async function claimed(
  redis: RedisClient,
  partition: Partition,
  token: string,
  seqs: number[],
  options: { leaseMs?: number; window?: number } = {},
): Promise<ClaimResult> {
  await redis.rpush(partition.keys.input, ...seqs.map((s) => envelopeRaw(s)));
  const result = await partition.claim({
    count: seqs.length,
    token,
    owner: ownerOf(token),
    leaseMs: options.leaseMs ?? 60_000,
    window: options.window ?? 0,
  });
  if (result.claimed.map((c) => c.seq).join() !== seqs.join()) {
    throw new Error(`expected to claim ${seqs.join()} under ${token}, claimed ${result.claimed.map((c) => c.seq).join()}`);
  }
  return result;
}

/**
 * On an unordered partition, owner p claims seq 1 (priority -5) and seq 2 (priority 0) from the
 * queue scores `claimedFrom` under token p:1, then seq 3 arrives at score 3. `giveBack` hands the
 * claim back and answers how many seqs it returned: both must go back as Q, attempt not counted,
 * to the head of their priority class (-5 * PRIORITY_SHIFT and 0), and the keys `emptied` must be gone.
 */
export async function expectGivenBackToHeadOfClass(
  redis: RedisClient,
  giveBack: (partition: Partition) => Promise<number>,
  { claimedFrom, emptied }: { claimedFrom: [urgent: number, normal: number]; emptied: Array<keyof PartitionKeys> },
): Promise<void> {
  const p = freshPartition(redis, { ordering: 'none' });
  const urgent = envelopeRaw(1, { priority: -5 });
  await redis.zadd(p.keys.queue, claimedFrom[0], urgent, claimedFrom[1], envelopeRaw(2));
  await p.claim({ count: 2, token: 'p:1', owner: 'p', leaseMs: 60_000, window: 0 });
  await redis.zadd(p.keys.queue, 3, envelopeRaw(3));
  expect(await giveBack(p)).to.equal(2);
  expect(await redis.zrange(p.keys.queue, 0, -1, 'WITHSCORES')).to.deep.equal([
    urgent,
    String(-5 * PRIORITY_SHIFT),
    envelopeRaw(2),
    '0',
    envelopeRaw(3),
    '3',
  ]);
  expect(await redis.hgetall(p.keys.state)).to.deep.equal({ 1: 'Q|0', 2: 'Q|0' });
  expect(await redis.exists(...emptied.map((key) => p.keys[key]))).to.equal(0);
}

/** Makes `owner`'s liveness lapse (its deadline 1 s before Redis's clock), as if it stopped beating. */
export async function lapse(redis: RedisClient, partition: Partition, owner: string): Promise<void> {
  await redis.zadd(partition.keys.owners, (await redisNow(redis)) - 1000, owner);
}

/** What a subscriber received on one channel. */
export interface Listener {
  /** every message received so far, in order */
  readonly messages: string[];
  /**
   * The messages published on the channel since the last call, and forgets them. A marker
   * published now arrives after all of them (one server delivers a channel in order), so
   * asserting "nothing was published" needs no sleep.
   */
  published(): Promise<string[]>;
  close(): void;
}

/** Subscribes on a connection of its own to `channel` of the test's server. */
export async function listen(server: RedisServer, channel: string): Promise<Listener> {
  const subscriber = server.client();
  const messages: string[] = [];
  subscriber.on('message', (from: string, message: string) => {
    if (from === channel) messages.push(message);
  });
  await subscriber.subscribe(channel);
  const publisher = server.client();
  let markers = 0;
  return {
    messages,
    async published() {
      const marker = `--marker-${++markers}--`;
      await publisher.publish(channel, marker);
      await waitFor(() => messages.includes(marker), { timeoutMs: 5000, message: `marker on ${channel}` });
      return messages.splice(0, messages.indexOf(marker) + 1).slice(0, -1);
    },
    close() {
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}

/**
 * Listens to `channel` of the test file's server for the calling `describe` (mocha's `before`
 * and `after`); read `wakes` inside tests.
 */
export function useListener(fixture: { readonly server: RedisServer }, channel: string): { readonly wakes: Listener } {
  let listener: Listener | undefined;
  before(async () => {
    listener = await listen(fixture.server, channel);
  });
  after(() => listener?.close());
  return {
    get wakes(): Listener {
      if (!listener) throw new Error('not listening: call useListener() inside describe');
      return listener;
    },
  };
}
