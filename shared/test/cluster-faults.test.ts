import { expect } from 'chai';
import type { ShortAck } from '@inorder/shared';
import {
  capturingLogger,
  killWhileReplicaLags,
  PipelineRun,
  RedisCluster,
  uniquePipeline,
  type PartitionAccount,
  type PipelineRunOptions,
} from '@inorder/testkit';

const PARTITIONS = 6;

/**
 * Faults of a Redis Cluster (3 primaries, each with a replica) in the middle of a run: 6
 * partitions spread over the primaries, 2 processors and 2 sequencers serving all of them, and
 * a producer enqueueing into every partition throughout. Each run ends complete and in order
 * per partition; what a fault cost (messages skipped because Redis lost them, copies dropped,
 * handlers run again, recovery time) is counted and printed.
 */
describe('Redis Cluster under faults (3 primaries + 3 replicas)', function () {
  this.timeout(60_000);
  let cluster: RedisCluster;
  let run: PipelineRun | undefined;
  let warnings = capturingLogger('warn');

  before(async function () {
    this.timeout(60_000);
    cluster = await RedisCluster.start();
  });
  after(async () => {
    await cluster?.destroy();
  });
  afterEach(async function () {
    this.timeout(60_000);
    // A failed run shows what its services warned about last.
    if (this.currentTest?.state === 'failed')
      console.log(
        warnings.lines
          .slice(-30)
          .map((l) => JSON.stringify(l))
          .join('\n'),
      );
    await run?.close();
    run = undefined;
    // The next test starts from a whole cluster: every node up, every primary with its replica in sync.
    for (const port of cluster.ports) if (!cluster.running(port)) await cluster.restart(port);
    await cluster.waitHealthy({ timeoutMs: 30_000 });
  });

  /** A run whose partitions sit on every primary, once each partition has emitted some. */
  async function startRun(options: Partial<PipelineRunOptions> = {}): Promise<{ run: PipelineRun; nodes: number[] }> {
    const primaries = await cluster.primaries();
    let name: string;
    let nodes: number[] = [];
    do {
      name = uniquePipeline('faults');
      nodes = [];
      for (let p = 0; p < PARTITIONS; p++) nodes.push(await cluster.nodeOfPartition(name, p));
    } while (!primaries.every((port) => nodes.includes(port)));
    warnings = capturingLogger('warn');
    run = await PipelineRun.start(cluster, {
      name,
      partitions: PARTITIONS,
      load: { batch: 4, everyMs: 25 },
      logger: warnings.logger,
      ...options,
    });
    await run.progressed(
      Array.from({ length: PARTITIONS }, () => 40),
      20_000,
    );
    return { run, nodes };
  }

  /** Lets the load go on past the recovery, then stops it and waits until everything acknowledged is emitted or skipped. */
  async function finish(current: PipelineRun): Promise<PartitionAccount[]> {
    await current.progressed([...current.load.acknowledged], 20_000);
    await current.drain(20_000);
    return current.account();
  }

  /** Every acknowledged seq once in the output or skipped, the output in order; skips only where `mayLose` says. */
  function expectAccounted(accounts: PartitionAccount[], mayLose: (partition: number) => boolean): void {
    for (const a of accounts) {
      const where = `partition ${a.partition}`;
      expect(a.missing, `${where}: acknowledged seqs neither emitted nor skipped`).to.deep.equal([]);
      expect(a.outputDuplicates, `${where}: seqs emitted twice`).to.deep.equal([]);
      expect(a.inversions, `${where}: output out of order`).to.equal(0);
      expect(a.dead, `${where}: dead letters`).to.equal(0);
      // Every skipped seq is counted by the sequencer, never silent.
      expect(a.metaSkipped, `${where}: meta skipped`).to.equal(a.skipped.length);
      if (!mayLose(a.partition)) expect(a.skipped, `${where}: a partition the fault did not touch lost seqs`).to.deep.equal([]);
    }
  }

  /** The acknowledged seqs of `partitions`, before the replica of `victim` lags and just before `victim` dies. */
  async function killWhileLagging(
    current: PipelineRun,
    victim: number,
    partitions: number[],
  ): Promise<{ before: number; atKill: number; killedAt: number }> {
    const acknowledged = (): number => partitions.reduce((n, p) => n + current.load.acknowledged[p]!, 0);
    const before = acknowledged();
    let atKill = before;
    const killedAt = await killWhileReplicaLags(cluster, victim, {
      megabytes: 32,
      lagMs: 300,
      beforeKill: () => (atKill = acknowledged()),
    });
    return { before, atKill, killedAt };
  }

  function report(label: string, accounts: PartitionAccount[], figures: Record<string, number>): void {
    const sum = (f: (a: PartitionAccount) => number): number => accounts.reduce((n, a) => n + f(a), 0);
    const counts = {
      acknowledged: sum((a) => a.acknowledged),
      skipped: sum((a) => a.skipped.length),
      lost: sum((a) => a.metaLost),
      duplicatesDropped: sum((a) => a.duplicatesDropped),
      reruns: sum((a) => a.reruns),
    };
    console.log(`      ${label}: ${JSON.stringify({ ...figures, ...counts })}`);
  }

  it('a primary SIGKILLed mid-run: its replica is promoted, every partition ends complete and in order, and only its partitions skip (and count) what the promotion lost', async () => {
    const { run, nodes } = await startRun();
    const victim = nodes[0]!;
    expect(await cluster.replicasOf(victim)).to.have.length(1);
    const marks = await run.nexts();
    const failures = run.load.failures;
    const killedAt = Date.now();
    await cluster.kill(victim);
    const promotedMs = await cluster.waitHealthy({ replicas: false, timeoutMs: 20_000 });
    await run.progressed(marks, 20_000);
    const recoveredMs = Date.now() - killedAt;
    const accounts = await finish(run);
    expectAccounted(accounts, (p) => nodes[p] === victim);
    expect(run.load.failures, 'the producer met the fault').to.be.above(failures);
    report('primary SIGKILL', accounts, { promotedMs, recoveredMs, producerRetries: run.load.failures - failures });
  });

  it('a primary SIGKILLed while its replica lags: the promotion loses acknowledged writes, which its partitions skip and count (meta lost), and the run goes on', async () => {
    const slow = { processor: { claimLeaseMs: 4000, claimRenewMs: 1000 }, sequencer: { leaderLeaseMs: 4000, leaderRenewMs: 1000 } };
    const { run, nodes } = await startRun(slow);
    const victim = nodes[0]!;
    const victims = nodes.flatMap((port, p) => (port === victim ? [p] : []));
    const marks = await run.nexts();
    const killedAt = Date.now();
    const { before, atKill } = await killWhileLagging(run, victim, victims);
    expect(atKill, 'the producer had writes acknowledged while the replica lagged').to.be.above(before);
    await cluster.waitHealthy({ replicas: false, timeoutMs: 20_000 });
    await run.progressed(marks, 30_000);
    const recoveredMs = Date.now() - killedAt;
    const accounts = await finish(run);
    expectAccounted(accounts, (p) => victims.includes(p));
    const lost = accounts.reduce((n, a) => n + a.skipped.length, 0);
    expect(lost, 'acknowledged seqs the promoted replica never had').to.be.above(0);
    report('primary SIGKILL, replica lagging, REPLICA_ACKS=0', accounts, { recoveredMs, acknowledgedDuringLag: atKill - before });
  });

  it('REPLICA_ACKS=1: the same kill loses nothing that was acknowledged, as the lagging replica never confirmed the writes that followed', async () => {
    const shorts: Array<ShortAck & { at: number }> = [];
    const { run, nodes } = await startRun({
      processor: { claimLeaseMs: 4000, claimRenewMs: 1000 },
      sequencer: { leaderLeaseMs: 4000, leaderRenewMs: 1000 },
      replicaAcks: { replicas: 1, timeoutMs: 2000, onShort: (short) => shorts.push({ ...short, at: Date.now() }) },
    });
    const victim = nodes[0]!;
    const victims = nodes.flatMap((port, p) => (port === victim ? [p] : []));
    const marks = await run.nexts();
    const killedAt = Date.now();
    const { before, atKill, killedAt: deadAt } = await killWhileLagging(run, victim, victims);
    // Every write to the victim since the lag began waited in WAIT: none was acknowledged.
    expect(atKill, 'acknowledged while the replica lagged').to.be.at.most(before + 4 * victims.length);
    await cluster.waitHealthy({ replicas: false, timeoutMs: 20_000 });
    // The promoted replica has no replica of its own, so its WAITs time out until the old primary is back as one.
    await cluster.restart(victim);
    await run.progressed(marks, 30_000);
    const recoveredMs = Date.now() - killedAt;
    const accounts = await finish(run);
    expectAccounted(accounts, () => false);
    const sentBeforeKill = shorts.filter((s) => s.at - s.waitedMs <= deadAt);
    expect(sentBeforeKill, 'WAITs to the killed primary that timed out: writes acknowledged unconfirmed').to.deep.equal([]);
    expect(
      shorts.every((s) => victims.includes(s.partition)),
      'short WAITs only where the new primary had no replica yet',
    ).to.equal(true);
    report('primary SIGKILL, replica lagging, REPLICA_ACKS=1', accounts, { recoveredMs, shortAfterPromotion: shorts.length });
  });

  it('a manual CLUSTER FAILOVER mid-run loses nothing and emits nothing twice', async () => {
    const { run, nodes } = await startRun();
    const primary = nodes[0]!;
    const replica = (await cluster.replicasOf(primary))[0]!;
    const marks = await run.nexts();
    const startedAt = Date.now();
    await cluster.failover(replica);
    await run.progressed(marks, 20_000);
    const recoveredMs = Date.now() - startedAt;
    expect(await cluster.nodeOfPartition(run.name, 0)).to.equal(replica);
    const accounts = await finish(run);
    expectAccounted(accounts, () => false);
    report('manual failover', accounts, { recoveredMs });
  });

  for (const replicaAcks of [0, 1]) {
    const title = replicaAcks === 0 ? '' : ' with REPLICA_ACKS=1 (the step and its WAIT go out again)';
    it(`a slot holding a partition migrated to another primary mid-run (ASK and TRYAGAIN, then MOVED)${title}: nothing lost, nothing stalls`, async () => {
      const shorts: ShortAck[] = [];
      const acks =
        replicaAcks > 0 ? { replicaAcks: { replicas: 1, timeoutMs: 2000, onShort: (short: ShortAck) => shorts.push(short) } } : {};
      const { run, nodes } = await startRun(acks);
      const from = nodes[0]!;
      const to = (await cluster.primaries()).find((port) => port !== from)!;
      const slot = await cluster.partitionSlot(run.name, 0);
      const marks = await run.nexts();
      const redirections = async (): Promise<{ ASK: number; TRYAGAIN: number; MOVED: number }> => {
        const [a, b] = [await cluster.errorReplies(from), await cluster.errorReplies(to)];
        return {
          ASK: (a.ASK ?? 0) + (b.ASK ?? 0),
          TRYAGAIN: (a.TRYAGAIN ?? 0) + (b.TRYAGAIN ?? 0),
          MOVED: (a.MOVED ?? 0) + (b.MOVED ?? 0),
        };
      };
      const before = await redirections();
      const startedAt = Date.now();
      // One key per MIGRATE, 100 ms apart: the partition's keys sit on both primaries for about a second.
      const migration = await cluster.migrateSlot(slot, to, { batch: 1, pauseMs: 100 });
      expect(migration.keys).to.be.at.least(5);
      expect(await cluster.nodeOfPartition(run.name, 0)).to.equal(to);
      await run.progressed(marks, 20_000);
      const recoveredMs = Date.now() - startedAt;
      const after = await redirections();
      const met = { ASK: after.ASK - before.ASK, TRYAGAIN: after.TRYAGAIN - before.TRYAGAIN, MOVED: after.MOVED - before.MOVED };
      expect(met.ASK + met.TRYAGAIN, 'scripts that met the migration half way').to.be.above(0);
      expect(met.MOVED, 'clients sent on to the new owner').to.be.above(0);
      const accounts = await finish(run);
      expectAccounted(accounts, () => false);
      report(`slot migration, REPLICA_ACKS=${replicaAcks}`, accounts, {
        migrationMs: migration.ms,
        keysMoved: migration.keys,
        recoveredMs,
        ...met,
      });
      expect(shorts, 'WAITs that came back short').to.deep.equal([]);
    });
  }

  it('a primary restarted mid-run (SIGTERM, back on the same port with its nodes.conf and append-only file): nothing lost', async () => {
    const { run, nodes } = await startRun();
    const primary = nodes[0]!;
    const marks = await run.nexts();
    const startedAt = Date.now();
    await cluster.restart(primary);
    await cluster.waitHealthy({ replicas: false, timeoutMs: 20_000 });
    await run.progressed(marks, 20_000);
    const recoveredMs = Date.now() - startedAt;
    const accounts = await finish(run);
    expectAccounted(accounts, () => false);
    report('primary restart', accounts, { recoveredMs });
  });
});
