import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keysFor } from '@inorder/shared';
import { isRunning, killOnExit } from './children.js';
import { clusterHealthy, clusterNodes, nodeCall, ownerOf, replicationOf, withNode, type ClusterNodeView } from './cluster-nodes.js';
import { migrateSlot, type MigrateOptions, type Migration } from './cluster-slots.js';
import { freeClusterPorts } from './ports.js';
import { assertRedisInstalled } from './redis-server.js';
import { waitFor } from './wait-for.js';

export type { ClusterNodeView } from './cluster-nodes.js';
export type { MigrateOptions, Migration } from './cluster-slots.js';

export interface RedisClusterOptions {
  /** primaries, each serving an equal share of the slots (default 3) */
  primaries?: number;
  /** replicas attached to each primary (default 1) */
  replicas?: number;
  /** cluster-node-timeout: a node silent this long is flagged failing, and its replica takes over soon after (default 1500) */
  nodeTimeoutMs?: number;
}

/** A node could not bind its port or its cluster bus port: taken since it was found free. */
class PortTakenError extends Error {}

/**
 * A Redis Cluster of the test's own: `primaries` redis-server processes with cluster mode on and
 * `replicas` replicas attached to each, on free loopback ports, each node in a directory of its
 * own (its nodes.conf and append-only file, so a restarted node comes back with its identity and
 * data). Joined by `redis-cli --cluster create`. Faults: kill (SIGKILL), restart, a manual
 * failover, a slot migration. Never touches the shared server on 6379; `destroy()` kills every node.
 */
export class RedisCluster {
  private readonly children = new Map<number, ChildProcess>();
  /** nodes stopped by pause(): they accept connections and answer nothing */
  private readonly paused = new Set<number>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'inorder-cluster-'));

  private constructor(
    readonly ports: number[],
    private readonly options: Required<RedisClusterOptions>,
  ) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    assertRedisInstalled();
    if (spawnSync('redis-cli', ['--version']).error) {
      throw new Error(
        'redis-cli is not on PATH. It comes with Redis (Debian/Ubuntu: sudo apt-get install redis-tools; macOS: brew install redis).',
      );
    }
    const settled = { primaries: 3, replicas: 1, nodeTimeoutMs: 1500, ...options };
    for (let attempt = 1; ; attempt++) {
      const cluster = new RedisCluster(await freeClusterPorts(settled.primaries * (1 + settled.replicas)), settled);
      try {
        await cluster.create();
        return cluster;
      } catch (error) {
        await cluster.destroy();
        // A port found free may be taken before the node binds it (its own, or its bus port + 10000).
        if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
      }
    }
  }

  /** A seed URL for connect(): every node, so that the client finds the cluster whichever node is down. */
  get url(): string {
    return `redis+cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  running(port: number): boolean {
    return isRunning(this.children.get(port));
  }

  /** Running and not paused: the node answers. */
  private answers(port: number): boolean {
    return this.running(port) && !this.paused.has(port);
  }

  private async create(): Promise<void> {
    for (const port of this.ports) await this.launch(port);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(this.options.replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    await this.waitHealthy({ timeoutMs: 30_000 });
  }

  /** Starts the node of `port` (again): same port, same directory, so the same nodes.conf and data. */
  private async launch(port: number): Promise<void> {
    const dir = join(this.dir, String(port));
    mkdirSync(dir, { recursive: true });
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, 'nodes.conf'),
      '--cluster-node-timeout',
      String(this.options.nodeTimeoutMs),
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--repl-diskless-sync-delay',
      '0',
      '--dir',
      dir,
      '--logfile',
      join(dir, 'redis.log'),
      '--loglevel',
      'notice',
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    killOnExit(child);
    this.children.set(port, child);
    await waitFor(async () => !isRunning(child) || (await nodeCall(port, 'PING')) === 'PONG', {
      timeoutMs: 10_000,
      message: `cluster node on port ${port} did not start`,
    });
    if (!isRunning(child)) {
      const log = existsSync(join(dir, 'redis.log')) ? readFileSync(join(dir, 'redis.log'), 'utf8') : '';
      if (/Address already in use/.test(log)) throw new PortTakenError(`cluster node on port ${port}: ${log.trim().split('\n').pop()}`);
      throw new Error(`cluster node on port ${port} exited at start: ${log.trim().split('\n').slice(-3).join(' / ')}`);
    }
  }

  /** Every node's view, from a node that answers. */
  async view(): Promise<ClusterNodeView[]> {
    for (const port of this.ports) {
      if (!this.answers(port)) continue;
      try {
        return await clusterNodes(port);
      } catch {
        // try the next node
      }
    }
    throw new Error('no cluster node answers');
  }

  /** The slot of a key (its hash tag's, when it has one). */
  async slotOf(key: string): Promise<number> {
    const live = this.ports.find((p) => this.answers(p));
    if (live === undefined) throw new Error('no cluster node answers');
    return Number(await nodeCall(live, 'CLUSTER', 'KEYSLOT', key));
  }

  /** The slot every key of a partition lives in (they share the hash tag `{pipeline:partition}`). */
  partitionSlot(pipeline: string, partition: number, prefix?: string): Promise<number> {
    return this.slotOf(keysFor(pipeline, partition, prefix).meta);
  }

  /** The port of the primary that serves `key`'s slot. */
  async nodeOf(key: string): Promise<number> {
    const slot = await this.slotOf(key);
    const port = ownerOf(await this.view(), slot);
    if (port === undefined) throw new Error(`no primary serves slot ${slot}`);
    return port;
  }

  /** The port of the primary that serves a partition's keys. */
  nodeOfPartition(pipeline: string, partition: number, prefix?: string): Promise<number> {
    return this.nodeOf(keysFor(pipeline, partition, prefix).meta);
  }

  /** The ports of the primaries serving slots now. */
  async primaries(): Promise<number[]> {
    return (await this.view()).filter((n) => n.role === 'primary' && !n.failing && n.slots.length > 0).map((n) => n.port);
  }

  /** The ports of the replicas attached to the primary on `port`. */
  async replicasOf(port: number): Promise<number[]> {
    const view = await this.view();
    const id = view.find((n) => n.port === port)?.id;
    return view.filter((n) => n.role === 'replica' && n.primaryId === id && !n.failing).map((n) => n.port);
  }

  /** SIGKILL: the node stops at once, without saving or telling anyone. */
  async kill(port: number): Promise<void> {
    const child = this.children.get(port);
    if (!child || !isRunning(child)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.paused.delete(port);
  }

  /** Stops the node (SIGTERM, SIGKILL after `graceMs`) unless it is down already, and starts it again. */
  async restart(port: number, graceMs = 10_000): Promise<void> {
    const child = this.children.get(port);
    if (child && isRunning(child)) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      this.resume(port);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await this.launch(port);
  }

  /** The replication offset of the node on `port`: how far its stream of writes has gone. */
  async replicationOffset(port: number): Promise<number> {
    return (await replicationOf(port)).offset;
  }

  /** The error replies the node on `port` has sent, by kind (INFO errorstats: MOVED, ASK, TRYAGAIN, CLUSTERDOWN, ...). */
  async errorReplies(port: number): Promise<Record<string, number>> {
    const info = String(await nodeCall(port, 'INFO', 'errorstats'));
    return Object.fromEntries([...info.matchAll(/^errorstat_(\w+):count=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  }

  /** SIGSTOP: the node answers nothing, to clients, its primary or the cluster bus, until resume(). */
  pause(port: number): void {
    this.paused.add(port);
    this.children.get(port)?.kill('SIGSTOP');
  }

  resume(port: number): void {
    this.children.get(port)?.kill('SIGCONT');
    this.paused.delete(port);
  }

  /**
   * Writes `megabytes` of filler into a key that the primary on `port` serves. With its replica
   * paused, this fills the socket buffers between them, so that the writes that follow wait in
   * the primary's memory: a replica lagging for real, whose promotion loses them.
   */
  async flood(port: number, megabytes: number): Promise<void> {
    let tag = '';
    for (let i = 0; !tag; i++) if ((await this.nodeOf(`{inorder-flood-${i}}`)) === port) tag = `{inorder-flood-${i}}`;
    const chunk = 'x'.repeat(1024 * 1024);
    await withNode(port, async (node) => {
      const writes = node.pipeline();
      for (let i = 0; i < megabytes; i++) writes.set(`${tag}:${i}`, chunk);
      await writes.exec();
    });
  }

  /**
   * CLUSTER FAILOVER on a replica (`force`: without the primary's agreement, for a primary that
   * is down): resolves once the replica is a primary serving slots.
   */
  async failover(replicaPort: number, options: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await nodeCall(replicaPort, 'CLUSTER', 'FAILOVER', ...(options.force ? ['FORCE'] : []));
    await waitFor(async () => (await replicationOf(replicaPort)).role === 'master' && (await this.primaries()).includes(replicaPort), {
      timeoutMs: options.timeoutMs ?? 15_000,
      message: `the replica on port ${replicaPort} did not become a primary`,
    });
  }

  /**
   * Waits until every running node reports cluster_state:ok, every node sees every slot served by
   * a primary that is not failing, they all agree on which, and (`replicas`, default true) each
   * primary has its replicas attached and in sync. Resolves with the ms it waited.
   */
  async waitHealthy(options: { timeoutMs?: number; replicas?: boolean } = {}): Promise<number> {
    const startedAt = Date.now();
    const live = (): number[] => this.ports.filter((p) => this.running(p));
    const replicas = (options.replicas ?? true) ? this.options.replicas : 0;
    await waitFor(() => clusterHealthy(live(), replicas), {
      timeoutMs: options.timeoutMs ?? 30_000,
      intervalMs: 50,
      message: 'the cluster did not become healthy',
    });
    return Date.now() - startedAt;
  }

  /** Moves `slot` to the primary on `toPort`, its keys in batches (see migrateSlot). */
  async migrateSlot(slot: number, toPort: number, options: MigrateOptions = {}): Promise<Migration> {
    const view = await this.view();
    const from = ownerOf(view, slot);
    if (from === undefined) throw new Error(`no primary serves slot ${slot}`);
    return migrateSlot(view, slot, from, toPort, options);
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.children.keys()].map((port) => this.kill(port)));
    this.children.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
