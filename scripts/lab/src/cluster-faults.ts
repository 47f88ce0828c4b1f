/**
 * cluster-faults: the Redis Cluster faults of shared/test/cluster-faults.test.ts, longer and one
 * after the other in one run: a throwaway cluster of 3 primaries and 3 replicas, a pipeline of
 * several partitions under a steady producer, and each fault in turn on the primary serving
 * partition 0, the cluster made whole again after each. Prints each fault's recovery time and
 * the seqs it cost, then verifies every partition.
 */
import {
  CLUSTER_FAULTS,
  PipelineRun,
  RedisCluster,
  faultAndRecover,
  type ClusterFault,
  type FaultOutcome,
  type PartitionAccount,
} from '@inorder/testkit';
import {
  UsageError,
  VerificationFailed,
  formatDuration,
  formatInt,
  intFlag,
  runTool,
  stringFlag,
  type Cleanup,
  type Output,
} from '@inorder/tools';

const USAGE = `
npm run cluster-faults -- [options]

Starts a throwaway Redis Cluster (3 primaries, 3 replicas, cluster-node-timeout 1.5 s) and a
pipeline of --partitions partitions under a steady producer (2 processors, 2 sequencers), then
injects each fault in turn, --rounds times, on the primary serving partition 0: primary-kill,
lagging-replica-kill (its replica stopped behind 32 MB of filler, then the primary killed),
failover (CLUSTER FAILOVER), slot-migration (partition 0's slot to another primary, key by key),
primary-restart. Prints each fault's recovery time and the seqs it cost (skipped: what Redis
lost), then verifies every partition: every acknowledged seq once, in order. Exits 1 when a seq
is missing, emitted twice or out of order.

  --faults LIST         comma-separated faults (default: all five)
  --rounds N            times through the list (default 3)
  --partitions N        partitions of the pipeline (default 6)
  --replica-acks N      REPLICA_ACKS of the producer and the services (default 0; timeout 2 s)
  --json                last line of stdout: one JSON object with every figure
`;

const SPEC = {
  name: 'cluster-faults',
  usage: USAGE,
  options: {
    faults: { type: 'string' },
    rounds: { type: 'string' },
    partitions: { type: 'string' },
    'replica-acks': { type: 'string' },
  },
} as const;

function faultList(text: string | undefined): ClusterFault[] {
  if (text === undefined) return [...CLUSTER_FAULTS];
  const faults = text
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const unknown = faults.filter((f) => !(CLUSTER_FAULTS as readonly string[]).includes(f));
  if (faults.length === 0 || unknown.length > 0) throw new UsageError(`--faults takes ${CLUSTER_FAULTS.join(', ')}; got ${text}`);
  return faults as ClusterFault[];
}

/** Per fault: runs, recovery range and median, seqs skipped. */
function renderOutcomes(outcomes: FaultOutcome[]): string[] {
  const lines = ['  fault                   runs   recovery min / median / max      skipped (lost)'];
  for (const fault of CLUSTER_FAULTS) {
    const mine = outcomes.filter((o) => o.fault === fault);
    if (mine.length === 0) continue;
    const ms = mine.map((o) => o.recoveredMs).sort((a, b) => a - b);
    const range = `${formatDuration(ms[0]!)} / ${formatDuration(ms[Math.floor(ms.length / 2)]!)} / ${formatDuration(ms[ms.length - 1]!)}`;
    lines.push(
      `  ${fault.padEnd(22)}  ${String(mine.length).padStart(4)}   ${range.padEnd(30)}   ${formatInt(mine.reduce((n, o) => n + o.skipped, 0))}`,
    );
  }
  return lines;
}

/** What went wrong in a partition's account, if anything: seqs missing, emitted twice, out of order. */
function problems(accounts: PartitionAccount[]): string[] {
  return accounts.flatMap((a) => [
    ...(a.missing.length > 0 ? [`partition ${a.partition}: ${a.missing.length} acknowledged seqs neither emitted nor skipped`] : []),
    ...(a.outputDuplicates.length > 0 ? [`partition ${a.partition}: ${a.outputDuplicates.length} seqs emitted twice`] : []),
    ...(a.inversions > 0 ? [`partition ${a.partition}: ${a.inversions} seqs out of order`] : []),
  ]);
}

/** A throwaway cluster and a pipeline of `partitions` on it under a steady producer, both closed by `cleanup`. */
async function startRun(cleanup: Cleanup, partitions: number, replicaAcks: number): Promise<{ cluster: RedisCluster; run: PipelineRun }> {
  const cluster = await RedisCluster.start();
  cleanup.add('cluster', () => cluster.destroy());
  const acks = replicaAcks > 0 ? { replicas: replicaAcks, timeoutMs: 2000 } : undefined;
  const slow = acks
    ? { processor: { claimLeaseMs: 4000, claimRenewMs: 1000 }, sequencer: { leaderLeaseMs: 4000, leaderRenewMs: 1000 } }
    : {};
  const run = await PipelineRun.start(cluster, { partitions, load: { batch: 4, everyMs: 25 }, replicaAcks: acks, ...slow });
  cleanup.add('pipeline', () => run.close());
  return { cluster, run };
}

/** Each fault in turn, `rounds` times through the list, each one's recovery printed as it comes. */
async function injectFaults(
  cluster: RedisCluster,
  run: PipelineRun,
  faults: ClusterFault[],
  rounds: number,
  out: Output,
): Promise<FaultOutcome[]> {
  const outcomes: FaultOutcome[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const fault of faults) {
      const outcome = await faultAndRecover(cluster, run, fault);
      outcomes.push(outcome);
      out.line(
        `  round ${round}: ${fault} on port ${outcome.primary}: every partition moving again after ${formatDuration(outcome.recoveredMs)}, ${outcome.skipped} seqs skipped`,
      );
    }
  }
  return outcomes;
}

/** The closing lines: the outcomes per fault, then the messages acknowledged and the producer's retries. */
function renderSummary(outcomes: FaultOutcome[], acknowledged: number, producerRetries: number): string[] {
  return [
    '',
    ...renderOutcomes(outcomes),
    '',
    `  ${formatInt(acknowledged)} messages acknowledged, ${formatInt(producerRetries)} enqueue calls sent again`,
  ];
}

await runTool(SPEC, async ({ flags, out, cleanup }) => {
  const faults = faultList(stringFlag(flags, 'faults'));
  const rounds = intFlag(flags, 'rounds', 3, 1);
  const partitions = intFlag(flags, 'partitions', 6, 1);
  const replicaAcks = intFlag(flags, 'replica-acks', 0);
  const { cluster, run } = await startRun(cleanup, partitions, replicaAcks);
  out.line(
    `cluster-faults: cluster ${cluster.url}; ${partitions} partitions; ${faults.join(', ')} x ${rounds}; REPLICA_ACKS=${replicaAcks}`,
  );
  await run.progressed(
    Array.from({ length: partitions }, () => 40),
    30_000,
  );
  const outcomes = await injectFaults(cluster, run, faults, rounds, out);
  await run.drain(60_000);
  const accounts = await run.account();
  const acknowledged = accounts.reduce((n, a) => n + a.acknowledged, 0);
  for (const line of renderSummary(outcomes, acknowledged, run.load.failures)) out.line(line);
  const found = problems(accounts);
  for (const problem of found) out.line(`  FAIL ${problem}`);
  out.result({
    ok: found.length === 0,
    partitions,
    rounds,
    replicaAcks,
    acknowledged,
    producerRetries: run.load.failures,
    outcomes,
    problems: found,
  });
  if (found.length > 0) throw new VerificationFailed('acknowledged seqs missing, emitted twice or out of order (see above)');
});
