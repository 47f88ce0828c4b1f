/**
 * Where a bench runs: a redis-server it starts (the default), a Redis the user names
 * (--redis-url), or a local 3-primary Redis Cluster it starts (--cluster). Never the shared
 * server on 6379 unless named.
 */
import { connect, redactRedisUrl, type RedisClient } from '@inorder/shared';
import { RedisCluster } from '@inorder/testkit';
import type { Cleanup } from '@inorder/tools';
import { startLocalRedis } from './stack.js';

export interface BenchTarget {
  /** the client the bench enqueues and reads with */
  redis: RedisClient;
  /** one client per Redis node, for INFO and CONFIG */
  nodes: RedisClient[];
  redisUrl: string;
  label: string;
}

export async function openTarget(opts: { cluster: boolean; redisUrl?: string | undefined }, cleanup: Cleanup): Promise<BenchTarget> {
  if (opts.cluster) {
    const cluster = await RedisCluster.start({ primaries: 3, replicas: 0 });
    cleanup.add('redis cluster', () => cluster.destroy());
    const redis = connect(cluster.url, { name: 'inorder-bench' });
    cleanup.add('connection', () => redis.disconnect());
    const nodes = cluster.ports.map((port) => connect(`redis://127.0.0.1:${port}`, { name: 'inorder-bench-node' }));
    cleanup.add('node connections', () => nodes.forEach((n) => n.disconnect()));
    return { redis, nodes, redisUrl: cluster.url, label: `Redis Cluster of 3 primaries on ports ${cluster.ports.join(', ')}` };
  }
  let url = opts.redisUrl;
  let label = url ? `Redis at ${redactRedisUrl(url)}` : '';
  if (!url) {
    const server = await startLocalRedis();
    cleanup.add('redis-server', () => server.destroy());
    url = server.url;
    label = `redis-server on ${redactRedisUrl(url)}`;
  }
  const redis = connect(url, { name: 'inorder-bench' });
  cleanup.add('connection', () => redis.disconnect());
  return { redis, nodes: [redis], redisUrl: url, label };
}
