/** Connections for the one-shot tools (verify, stats, dlq): they fail fast instead of retrying forever. */
import { Redis } from 'ioredis';
import { connect, isClusterUrl, redactRedisUrl, type RedisClient } from '@inorder/shared';
import type { Cleanup } from './cli.js';

/**
 * A connection for a one-shot script (verify, stats): fails fast with a clear message when the
 * server cannot be reached, instead of retrying forever as the services do.
 */
export async function connectOnce(url: string): Promise<RedisClient> {
  if (isClusterUrl(url)) return connectClusterOnce(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    retryStrategy: (times) => (times > 3 ? null : 200),
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (cause) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactRedisUrl(url)}: ${(cause as Error).message}`, { cause });
  }
  return redis;
}

/** connectOnce for a Redis Cluster: the first PING must answer within 5 s (slots discovered). */
async function connectClusterOnce(url: string): Promise<RedisClient> {
  const redis = connect(url, { name: 'inorder-scripts' });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 5000 ms')), 5000))),
    ]);
  } catch (cause) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactRedisUrl(url)}: ${(cause as Error).message}`, { cause });
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

/** connectOnce, with the connection closed by the script's clean-up. */
export async function connectForScript(url: string, cleanup: Cleanup): Promise<RedisClient> {
  const redis = await connectOnce(url);
  cleanup.add('connection', () => redis.disconnect());
  return redis;
}
