import { Partition, connect, type Ordering, type RedisClient } from '@inorder/shared';
import { RedisServer } from './redis-server.js';
import { uniquePipeline } from './pipeline.js';

/** The test file's own redis-server and one connection with the Lua commands defined. */
export interface LuaFixture {
  readonly server: RedisServer;
  readonly redis: RedisClient;
}

/**
 * Starts a redis-server for the calling test file (`before`) and destroys it (`after`).
 * Call it at the top of a `describe`; read `server` and `redis` inside tests and hooks.
 */
export function useRedis(): LuaFixture {
  let server: RedisServer | undefined;
  let redis: RedisClient | undefined;
  before(async function () {
    this.timeout(15_000);
    server = await RedisServer.start();
    redis = connect(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.destroy();
  });
  return {
    get server(): RedisServer {
      if (!server) throw new Error('redis-server not started: call useRedis() inside describe');
      return server;
    },
    get redis(): RedisClient {
      if (!redis) throw new Error('redis-server not started: call useRedis() inside describe');
      return redis;
    },
  };
}

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
