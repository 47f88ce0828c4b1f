import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Partition, PartitionDiscovery, Processor, connect, enqueue, registerPipeline, silentLogger } from '@inorder/shared';
import { capturingLogger, checkOrder, fastProcessor, range, waitFor, usePipelines } from '@inorder/testkit';

/** What an operator relies on: a stalled partition says why, clocks do not matter, connections stay few. */
describe('operating promises (in process)', function () {
  this.timeout(60_000);
  const fixture = usePipelines();

  it('says why the order has not moved, in its log and its status, and clears it when it moves', async () => {
    const pipeline = fixture.pipeline();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const processor = await pipeline.processor(
      async (_p, { seq }) => {
        if (seq === 2) await gate;
        return { seq };
      },
      { handlerTimeoutMs: 60_000 },
    );
    const leader = capturingLogger();
    await pipeline.sequencer({ gapTimeoutMs: 300 }, { logger: leader.logger });
    await pipeline.enqueue(10);
    const stalled = await waitFor(() => leader.lines.find((l) => l.event === 'stalled'), {
      timeoutMs: 10_000,
      message: 'no stall reported',
    });
    expect(stalled).to.include({ seq: 2, kind: 'claimed', level: 'warn' });
    expect(String(stalled.reason)).to.equal(`waiting for seq 2: claimed by ${processor.owner} (alive), its handler still running`);
    const status = await pipeline.partition.status();
    expect(status.stalled).to.deep.include({ seq: 2, reason: stalled.reason });
    expect(status.nextSeq).to.equal(2);
    release();
    await pipeline.settled(10);
    expect((await pipeline.partition.status()).stalled).to.equal(null);
  });

  it('reports a partition with work waiting and no leader as stalled in its status', async () => {
    const pipeline = fixture.pipeline();
    await pipeline.partition.init();
    await pipeline.enqueue(3);
    expect((await pipeline.partition.status()).stalled).to.deep.equal({
      reason: 'no sequencer holds the leader lease: are sequencers running?',
    });
  });

  it("keeps every claim exclusive when processors' clocks are seconds apart: leases run on Redis's clock", async () => {
    const pipeline = fixture.pipeline();
    const running = new Set<number>();
    const overlaps: number[] = [];
    const handler = async (_p: unknown, { seq }: { seq: number }): Promise<unknown> => {
      if (running.has(seq)) overlaps.push(seq);
      running.add(seq);
      await new Promise((r) => setTimeout(r, 5 + (seq % 7)));
      running.delete(seq);
      return { seq };
    };
    const skews = [-5000, 0, 5000];
    for (const skew of skews) await pipeline.processor(handler, { concurrency: 24, batchSize: 8 }, { clock: () => Date.now() + skew });
    await pipeline.sequencer();
    await pipeline.enqueue(1500);
    await pipeline.settled(1500);
    expect(overlaps, 'seqs in two handler calls at once').to.deep.equal([]);
    expect(
      pipeline.processors.reduce((n, p) => n + p.stats.reaped + p.stats.stale + p.stats.abandoned, 0),
      'claims lost to a skewed clock',
    ).to.equal(0);
    expect(
      checkOrder(
        (await pipeline.output()).map((e) => e.seq),
        range(1, 1500),
      ),
    ).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
  });

  it('serves 500 event pipelines from one process on two connections, under one concurrency', async () => {
    const pipeline = fixture.pipeline();
    const prefix = `ev${randomBytes(3).toString('hex')}`;
    const names = range(1, 500).map((n) => `events-${n}`);
    for (const name of names) await registerPipeline(pipeline.redis, name, { ordering: 'none' }, prefix);
    const name = `processor-${randomBytes(3).toString('hex')}`;
    const redis = connect(fixture.server.url, { name });
    const subscriber = connect(fixture.server.url, { name });
    let now = 0;
    let most = 0;
    const handler = async (): Promise<unknown> => {
      most = Math.max(most, ++now);
      await new Promise((r) => setTimeout(r, 20));
      now--;
      return {};
    };
    const processor = new Processor({ redis, subscriber, handler, settings: { ...fastProcessor, concurrency: 3 }, logger: silentLogger() });
    const discovery = new PartitionDiscovery({
      redis,
      pipeline: 'events-*',
      partitions: 'all',
      prefix,
      seqStart: 1,
      ordering: 'none',
      strictOnly: false,
      server: processor,
      logger: silentLogger(),
      everyMs: 100,
    });
    try {
      await discovery.start();
      await processor.start();
      expect(processor.served).to.have.length(500);
      for (const n of range(1, 50))
        await enqueue(
          pipeline.redis,
          { pipeline: `events-${n}`, prefix },
          range(1, 4).map((seq) => ({ seq, payload: seq })),
        );
      await waitFor(
        async () => {
          let done = 0;
          for (const n of range(1, 50))
            done += await pipeline.redis.llen(new Partition(pipeline.redis, `events-${n}`, 0, { prefix }).keys.output);
          return done === 200;
        },
        { timeoutMs: 30_000, message: 'not every event was processed' },
      );
      const clients = ((await pipeline.redis.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${name} `));
      expect(clients, 'Redis connections of the process').to.have.length(2);
      expect(most, 'handlers at once').to.be.at.most(3);
    } finally {
      await discovery.stop();
      await processor.stop();
      redis.disconnect();
      subscriber.disconnect();
    }
  });
});
