import { Redis } from 'ioredis';

/** One line of CLUSTER NODES, as a node sees the cluster. */
export interface ClusterNodeView {
  id: string;
  port: number;
  role: 'primary' | 'replica';
  /** the primary's id, for a replica */
  primaryId: string | undefined;
  /** flagged fail? or fail by the node that answered */
  failing: boolean;
  connected: boolean;
  /** slot ranges served, for a primary ([from, to], both included) */
  slots: Array<[number, number]>;
}

/** A short-lived client to one node: no retries, no offline queue, so a dead node fails at once (and a paused one within 10 s). */
export async function withNode<T>(port: number, work: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 10_000,
  });
  node.on('error', () => {});
  try {
    await node.connect();
    return await work(node);
  } finally {
    node.disconnect();
  }
}

/** Sends one command to one node and returns its reply. */
export function nodeCall(port: number, ...args: Array<string | number>): Promise<unknown> {
  return withNode(port, (node) => node.call(String(args[0]), ...args.slice(1)));
}

/** Parses CLUSTER NODES (migrating/importing markers in the slot list are skipped). */
export function parseClusterNodes(text: string): ClusterNodeView[] {
  const nodes: ClusterNodeView[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    if (fields.length < 8) continue;
    const [id, address, flags, primary, , , , link, ...slotFields] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      ...string[],
    ];
    const port = Number(/:(\d+)@/.exec(address)?.[1] ?? /:(\d+)$/.exec(address)?.[1]);
    const flagList = flags.split(',');
    const slots: Array<[number, number]> = [];
    for (const field of slotFields) {
      if (field.startsWith('[')) continue;
      const [from, to] = field.split('-').map(Number);
      slots.push([from!, to ?? from!]);
    }
    nodes.push({
      id,
      port,
      role: flagList.includes('master') ? 'primary' : 'replica',
      primaryId: primary === '-' ? undefined : primary,
      failing: flagList.includes('fail') || flagList.includes('fail?'),
      connected: link === 'connected',
      slots,
    });
  }
  return nodes;
}

/** What one node reports: its view of every node. */
export async function clusterNodes(port: number): Promise<ClusterNodeView[]> {
  return parseClusterNodes(String(await nodeCall(port, 'CLUSTER', 'NODES')));
}

/** The port of the primary that serves `slot`, as `view` has it. */
export function ownerOf(view: ClusterNodeView[], slot: number): number | undefined {
  return view.find((n) => n.role === 'primary' && !n.failing && n.slots.some(([from, to]) => slot >= from && slot <= to))?.port;
}

/** True when `view` has every slot served by a primary not flagged as failing. */
export function coversEverySlot(view: ClusterNodeView[]): boolean {
  const served = view
    .filter((n) => n.role === 'primary' && !n.failing)
    .flatMap((n) => n.slots)
    .sort((a, b) => a[0] - b[0]);
  let next = 0;
  for (const [from, to] of served) {
    if (from > next) return false;
    next = Math.max(next, to + 1);
  }
  return next === 16_384;
}

/** One node's replication state (INFO replication): its role and, for a replica, whether its link is up and in sync. */
export async function replicationOf(port: number): Promise<{ role: string; linkUp: boolean; offset: number }> {
  const info = String(await nodeCall(port, 'INFO', 'replication'));
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  return {
    role: field('role') ?? 'unknown',
    linkUp: field('master_link_status') === 'up' && field('master_sync_in_progress') !== '1',
    offset: Number(field('master_repl_offset') ?? 0),
  };
}

/**
 * True when every node of `live` reports cluster_state:ok, sees every slot served by a primary
 * that is not failing and runs, all of them agree on which, and each primary has `replicas`
 * replicas attached whose link is up and in sync.
 */
export async function clusterHealthy(live: number[], replicas: number): Promise<boolean> {
  const maps = new Set<string>();
  for (const port of live) {
    if (!String(await nodeCall(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
    const view = await clusterNodes(port);
    if (!coversEverySlot(view)) return false;
    const primaries = view.filter((n) => n.role === 'primary' && n.slots.length > 0);
    if (primaries.some((n) => !live.includes(n.port))) return false;
    maps.add(JSON.stringify(primaries.map((n) => [n.port, n.slots]).sort()));
    const attached = (primary: ClusterNodeView): number =>
      view.filter((n) => n.primaryId === primary.id && !n.failing && live.includes(n.port)).length;
    if (primaries.some((p) => attached(p) < replicas)) return false;
  }
  if (maps.size !== 1) return false;
  if (replicas === 0) return true;
  for (const port of live) {
    const replication = await replicationOf(port);
    if (replication.role === 'slave' && !replication.linkUp) return false;
  }
  return true;
}
