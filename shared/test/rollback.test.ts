import { expect } from 'chai';
import { silentLogger } from '@inorder/shared';
import { capturingLogger, RedisServer, TestPipeline, checkOrder, range, waitFor } from '@inorder/testkit';

/**
 * Redis loses acknowledged writes: restored from an older snapshot, as after a failover to a
 * lagging replica or a crash under `appendfsync everysec`. What it lost is counted and
 * reported; the partition never stops.
 */
describe('Redis rollback (in process)', function () {
  this.timeout(120_000);
  let server: RedisServer;
  let pipeline: TestPipeline;

  beforeEach(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    await pipeline.close();
    await server.destroy();
  });

  /** Every seq of `expected` once in the output or skipped, none stuck, the output in order. */
  async function accounted(expected: number[]): Promise<{ output: number[]; skipped: number[] }> {
    const k = pipeline.partition.keys;
    const skippedSeqs = async (): Promise<number[]> =>
      (await pipeline.redis.zrange(k.skipped, 0, -1)).flatMap((member) => {
        const [from, to] = member.split('-').map(Number);
        return range(from!, to!);
      });
    await waitFor(async () => (await pipeline.redis.llen(k.output)) + (await skippedSeqs()).length >= expected.length, {
      timeoutMs: 60_000,
      message: 'the partition did not drain after the rollback',
    });
    const output = (await pipeline.output()).map((e) => e.seq);
    const skipped = await skippedSeqs();
    expect(checkOrder(output, [])).to.deep.include({ duplicates: [], inversions: 0 });
    expect(
      checkOrder(
        [...output, ...skipped].sort((a, b) => a - b),
        expected,
      ),
    ).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
    return { output, skipped };
  }

  it('drains after a restore from a snapshot taken mid-run: complete, in order, nothing stuck', async () => {
    pipeline = new TestPipeline(server);
    const leader = capturingLogger();
    for (let i = 0; i < 2; i++)
      await pipeline.processor(
        async (_p, { seq }) => {
          await new Promise((r) => setTimeout(r, 2 + (seq % 5)));
          return { seq };
        },
        { concurrency: 32, batchSize: 16 },
      );
    await pipeline.sequencer({ gapTimeoutMs: 500 }, { logger: leader.logger });
    await pipeline.enqueue(3000);
    await waitFor(async () => (await pipeline.redis.llen(pipeline.partition.keys.output)) >= 800, {
      timeoutMs: 30_000,
      message: 'no progress',
    });
    const older = await server.snapshot();
    await waitFor(async () => (await pipeline.redis.llen(pipeline.partition.keys.output)) >= 2000, {
      timeoutMs: 30_000,
      message: 'no progress after the snapshot',
    });
    await server.restore(older);
    const { output, skipped } = await accounted(range(1, 3000));
    // Every input entry was in the snapshot: the work since is redone, nothing is lost.
    expect(skipped).to.deep.equal([]);
    expect(output).to.deep.equal(range(1, 3000));
    await waitFor(() => leader.lines.some((l) => l.event === 'rollback-detected'), {
      timeoutMs: 10_000,
      message: 'the leader did not report the rollback',
    });
    expect(leader.lines.filter((l) => l.event === 'rollback-detected').length, 'reported once per rollback, not in a loop').to.be.at.most(
      3,
    );
  });

  it('counts as lost, skips and reports the acknowledged seqs Redis forgot, newest ones included', async () => {
    pipeline = new TestPipeline(server);
    const leader = capturingLogger();
    await pipeline.processor(async (_p, { seq }) => ({ seq }), { concurrency: 32 });
    const sequencer = await pipeline.sequencer({ gapTimeoutMs: 300 }, { logger: leader.logger });
    await pipeline.enqueue(500);
    await pipeline.settled(500);
    const older = await server.snapshot();
    // Accepted, processed and emitted: then Redis forgets all of it.
    await pipeline.enqueue(500, 501);
    await pipeline.settled(1000);
    await server.restore(older);
    const { output, skipped } = await accounted(range(1, 1000));
    expect(output).to.deep.equal(range(1, 500));
    expect(skipped).to.deep.equal(range(501, 1000));
    expect(await pipeline.redis.hget(pipeline.partition.keys.meta, 'lost')).to.equal('500');
    expect(sequencer.stats.lost).to.equal(500);
    const skip = leader.lines.find((l) => l.event === 'gap-skipped');
    expect(skip).to.include({ from: 501, to: 1000, lost: 500 });
    // New work goes on after the lost seqs.
    await pipeline.enqueue(10, 1001);
    await waitFor(async () => (await pipeline.output()).length === 510, { timeoutMs: 10_000, message: 'no progress after the loss' });
  });

  it('rebuilds when next moves back under a leader that keeps its lease, instead of looping', async () => {
    pipeline = new TestPipeline(server);
    const leader = capturingLogger();
    await pipeline.processor(async (_p, { seq }) => ({ seq }));
    const sequencer = await pipeline.sequencer({ gapTimeoutMs: 300 }, { logger: leader.logger });
    await pipeline.enqueue(100);
    await pipeline.settled(100);
    // As a rollback would leave it: next back at 51 while outputs 51..100 are gone with their state.
    const k = pipeline.partition.keys;
    await pipeline.redis.hset(k.meta, 'next', '51');
    await pipeline.redis.ltrim(k.output, 0, 49);
    await pipeline.enqueue(20, 101);
    const { output, skipped } = await accounted(range(1, 120));
    expect(output).to.deep.equal([...range(1, 50), ...range(101, 120)]);
    expect(skipped).to.deep.equal(range(51, 100));
    expect(sequencer.stats.rollbacks).to.be.at.least(1);
    expect(leader.lines.filter((l) => l.event === 'rollback-detected').length).to.be.within(1, 3);
  });

  it('puts back a next seq claimed under a token that holds no claim, instead of waiting forever', async () => {
    pipeline = new TestPipeline(server);
    await pipeline.processor(async (_p, { seq }) => ({ seq }));
    await pipeline.sequencer({ gapTimeoutMs: 0 });
    await pipeline.enqueue(5);
    await pipeline.settled(5);
    // seq 6 claimed by a token whose claim entry is gone (what a replayed settle left before the fix).
    const raw = JSON.stringify({ seq: 6, payload: { n: 6 }, createdAt: Date.now() });
    await pipeline.redis.hset(pipeline.partition.keys.state, '6', `C|ghost:1|1|${raw}`);
    await pipeline.enqueue(3, 7);
    await pipeline.settled(9);
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal(range(1, 9));
  });

  it('gives back a claim that a rollback brought back to a live processor, while it keeps claiming and holds nothing at its heartbeats', async () => {
    pipeline = new TestPipeline(server);
    const processor = await pipeline.processor(async (_p, { seq }) => ({ seq }), { claimLeaseMs: 1000, claimRenewMs: 250 });
    await pipeline.sequencer({ gapTimeoutMs: 0 });
    await pipeline.enqueue(5);
    await pipeline.settled(5);
    // As a failover to a lagging replica leaves it: seq 6 claimed by this live processor under a
    // token it settled and forgot long ago.
    const k = pipeline.partition.keys;
    const token = `${processor.owner}:orphan`;
    const raw = JSON.stringify({ seq: 6, payload: { n: 6 }, createdAt: Date.now() });
    await pipeline.redis.hset(k.state, '6', `C|${token}|1|${raw}`);
    await pipeline.redis.hset(k.claims, token, '1|6');
    // A trickle of new messages keeps it claiming here, so its liveness never lapses.
    let seq = 7;
    const trickle = setInterval(() => void pipeline!.enqueue(1, seq++).catch(() => undefined), 50);
    try {
      await waitFor(async () => (await pipeline!.output()).length >= 8, {
        timeoutMs: 5000,
        message: 'the order stayed behind the brought-back claim',
      });
    } finally {
      clearInterval(trickle);
    }
    const output = (await pipeline.output()).map((e) => e.seq);
    expect(output.slice(0, 8)).to.deep.equal(range(1, 8));
  });

  it('skips a run of 200 missing seqs at once, not one per GAP_TIMEOUT_MS', async () => {
    pipeline = new TestPipeline(server);
    await pipeline.processor(async (_p, { seq }) => ({ seq }), {}, { logger: silentLogger() });
    await pipeline.sequencer({ gapTimeoutMs: 300 });
    await pipeline.enqueue(3);
    await pipeline.enqueue(5, 204);
    // One skip per timeout would take a minute; the run goes within a few timeouts.
    await waitFor(async () => (await pipeline.output()).length === 8, {
      timeoutMs: 5000,
      message: 'the run of missing seqs was not skipped at once',
    });
    expect(await pipeline.redis.zrange(pipeline.partition.keys.skipped, 0, -1)).to.deep.equal(['4-203']);
    expect(await pipeline.redis.hget(pipeline.partition.keys.meta, 'skipped')).to.equal('200');
  });
});
