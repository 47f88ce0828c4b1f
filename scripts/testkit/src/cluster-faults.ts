import type { PipelineRun } from './pipeline-run.js';
import type { RedisCluster } from './redis-cluster.js';

/** The faults of a Redis Cluster that the tests and the lab inject in the middle of a run. */
export const CLUSTER_FAULTS = ['primary-kill', 'lagging-replica-kill', 'failover', 'slot-migration', 'primary-restart'] as const;
export type ClusterFault = (typeof CLUSTER_FAULTS)[number];

/**
 * The replica of `primary` stops taking writes (SIGSTOP, then `megabytes` of filler fill the
 * socket buffers between them), the primary goes on for `lagMs`, then dies (SIGKILL) and the
 * replica resumes: it is promoted without those writes, acknowledged ones included.
 * `beforeKill` runs just before the kill. Resolves with when the primary died (epoch ms).
 */
export async function killWhileReplicaLags(
  cluster: RedisCluster,
  primary: number,
  options: { megabytes?: number; lagMs?: number; beforeKill?: () => void } = {},
): Promise<number> {
  const replica = (await cluster.replicasOf(primary))[0];
  if (replica === undefined) throw new Error(`the primary on port ${primary} has no replica to lag`);
  cluster.pause(replica);
  try {
    await cluster.flood(primary, options.megabytes ?? 32);
    // How long the replica lags behind a primary that goes on writing: the fault's size, not a wait for an outcome.
    await new Promise((resolve) => setTimeout(resolve, options.lagMs ?? 300));
    options.beforeKill?.();
    await cluster.kill(primary);
  } finally {
    cluster.resume(replica);
  }
  return Date.now();
}

export interface FaultOutcome {
  fault: ClusterFault;
  /** the primary that served partition 0 when the fault began */
  primary: number;
  /** ms from the fault to every partition emitting past where it was */
  recoveredMs: number;
  /** seqs skipped over every partition because of it (what Redis lost) */
  skipped: number;
}

/** Injects `fault` on the primary serving partition 0 of `run`; resolves once every partition has moved on. */
async function inject(cluster: RedisCluster, run: PipelineRun, fault: ClusterFault, primary: number): Promise<void> {
  switch (fault) {
    case 'primary-kill':
      return cluster.kill(primary);
    case 'lagging-replica-kill':
      await killWhileReplicaLags(cluster, primary);
      return;
    case 'failover':
      return cluster.failover((await cluster.replicasOf(primary))[0]!);
    case 'slot-migration': {
      const to = (await cluster.primaries()).find((port) => port !== primary)!;
      // One key per MIGRATE, 100 ms apart: the partition's keys sit on both primaries for a while.
      await cluster.migrateSlot(await cluster.partitionSlot(run.name, 0), to, { batch: 1, pauseMs: 100 });
      return;
    }
    case 'primary-restart':
      return cluster.restart(primary);
  }
}

/**
 * One fault in the middle of `run`, then the cluster made whole again (killed nodes restarted,
 * rejoining as replicas; every replica in sync), so that the next fault meets the same cluster.
 */
export async function faultAndRecover(
  cluster: RedisCluster,
  run: PipelineRun,
  fault: ClusterFault,
  timeoutMs = 60_000,
): Promise<FaultOutcome> {
  const primary = await cluster.nodeOfPartition(run.name, 0);
  const marks = await run.nexts();
  const skippedBefore = await run.skippedCount();
  const startedAt = Date.now();
  await inject(cluster, run, fault, primary);
  await run.progressed(marks, timeoutMs);
  const recoveredMs = Date.now() - startedAt;
  for (const port of cluster.ports) if (!cluster.running(port)) await cluster.restart(port);
  await cluster.waitHealthy({ timeoutMs });
  // Everything acknowledged so far emitted, or skipped as lost: the fault's whole cost is counted.
  await run.progressed([...run.load.acknowledged], timeoutMs);
  return { fault, primary, recoveredMs, skipped: (await run.skippedCount()) - skippedBefore };
}
