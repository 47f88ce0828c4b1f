import { nodeCall, type ClusterNodeView } from './cluster-nodes.js';

export interface MigrateOptions {
  /** keys moved per MIGRATE call (default 100) */
  batch?: number;
  /**
   * ms to wait between two batches (default 0): with a batch of 1 and a pause, a partition's keys
   * sit on both primaries for a while, so multi-key scripts meet TRYAGAIN and ASK meanwhile
   */
  pauseMs?: number;
}

export interface Migration {
  from: number;
  to: number;
  keys: number;
  /** ms from IMPORTING to the last SETSLOT NODE */
  ms: number;
}

/**
 * Moves one slot from the primary on `from` to the one on `to` as redis-cli's resharding does:
 * SETSLOT IMPORTING on the target, MIGRATING on the source, MIGRATE the keys in batches (clients
 * meanwhile get ASK for keys already moved, TRYAGAIN for multi-key commands whose keys are split),
 * then SETSLOT NODE on the target, the source and every other primary (clients then get MOVED).
 */
export async function migrateSlot(
  view: ClusterNodeView[],
  slot: number,
  from: number,
  to: number,
  options: MigrateOptions = {},
): Promise<Migration> {
  const idOf = (port: number): string => {
    const id = view.find((n) => n.port === port)?.id;
    if (!id) throw new Error(`no cluster node on port ${port}`);
    return id;
  };
  if (from === to) throw new Error(`slot ${slot} is served by port ${to} already`);
  const startedAt = Date.now();
  await nodeCall(to, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', idOf(from));
  await nodeCall(from, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', idOf(to));
  let keys = 0;
  for (;;) {
    const batch = (await nodeCall(from, 'CLUSTER', 'GETKEYSINSLOT', slot, options.batch ?? 100)) as string[];
    if (batch.length === 0) break;
    await nodeCall(from, 'MIGRATE', '127.0.0.1', to, '', 0, 5000, 'REPLACE', 'KEYS', ...batch);
    keys += batch.length;
    if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
  }
  const owner = idOf(to);
  await nodeCall(to, 'CLUSTER', 'SETSLOT', slot, 'NODE', owner);
  await nodeCall(from, 'CLUSTER', 'SETSLOT', slot, 'NODE', owner);
  for (const other of view) {
    if (other.role !== 'primary' || other.failing || other.slots.length === 0 || other.port === from || other.port === to) continue;
    await nodeCall(other.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', owner).catch(() => undefined);
  }
  return { from, to, keys, ms: Date.now() - startedAt };
}
