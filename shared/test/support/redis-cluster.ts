import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { assertRedisInstalled, freePort } from './redis-server.js';
import { waitFor } from './wait-for.js';

/** What one node reports about the cluster. */
async function clusterInfo(port: number): Promise<string> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return String(await probe.call('CLUSTER', 'INFO'));
  } finally {
    probe.disconnect();
  }
}

/**
 * A Redis Cluster of the test's own: `masters` redis-server processes with cluster mode on, on
 * free loopback ports in a temporary directory, joined by `redis-cli --cluster create` (no
 * replicas). Never touches the shared server on 6379. `destroy()` kills every node.
 */
export class RedisCluster {
  private readonly processes: ChildProcess[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'inorder-cluster-'));

  private constructor(readonly ports: number[]) {}

  static async start(masters = 3): Promise<RedisCluster> {
    assertRedisInstalled();
    if (spawnSync('redis-cli', ['--version']).error) {
      throw new Error('redis-cli is not on PATH. It comes with Redis (Debian/Ubuntu: sudo apt-get install redis-tools; macOS: brew install redis).');
    }
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: both must be free and below 65536.
      if (port !== 6379 && port + 10_000 < 65_536 && !ports.includes(port)) ports.push(port);
    }
    const cluster = new RedisCluster(ports);
    try {
      await cluster.launch();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** A seed URL for connect(): the client discovers the other nodes from it. */
  get url(): string {
    return `redis+cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  private async launch(): Promise<void> {
    for (const port of this.ports) {
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', join(this.dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000',
        '--appendonly', 'no', '--save', '', '--dir', this.dir, '--logfile', '', '--loglevel', 'warning',
      ];
      this.processes.push(spawn('redis-server', args, { stdio: 'ignore' }));
    }
    for (const port of this.ports) {
      await waitFor(() => clusterInfo(port).then(() => true), { timeoutMs: 10_000, message: `cluster node on port ${port} did not start` });
    }
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    for (const port of this.ports) {
      await waitFor(async () => (await clusterInfo(port)).includes('cluster_state:ok'), {
        timeoutMs: 15_000,
        message: `cluster node on port ${port} did not report cluster_state:ok`,
      });
    }
  }

  /** The port of the master that serves `key`'s slot. */
  async nodeOf(key: string): Promise<number> {
    const probe = new Redis(this.ports[0]!, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      const slot = Number(await probe.call('CLUSTER', 'KEYSLOT', key));
      const ranges = (await probe.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no node serves slot ${slot}`);
      return range[2][1];
    } finally {
      probe.disconnect();
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.processes.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return exited;
      }),
    );
    this.processes.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
