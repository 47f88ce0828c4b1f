import { expect } from 'chai';
import { Processor, PartitionDiscovery, enqueue, matchesPattern, registerPipeline, silentLogger, type Handler } from '@inorder/shared';
import { usePipelines, TestPipeline, fastProcessor, range, uniquePipeline, waitFor } from '@inorder/testkit';

describe('unordered pipelines', function () {
  this.timeout(60_000);
  const fixture = usePipelines();

  async function unordered(): Promise<TestPipeline> {
    const pipeline = fixture.pipeline({ ordering: 'none' });
    await registerPipeline(pipeline.redis, pipeline.name, { ordering: 'none' });
    return pipeline;
  }

  it('processes lower priority numbers first, equal priorities first-in first-out', async () => {
    const pipeline = await unordered();
    const order: number[] = [];
    const handler: Handler = (_p, { seq }) => {
      order.push(seq);
      return { seq };
    };
    const priorities = [5, 1, 5, -3, 1, 0, 5, -3, 1000, -1000];
    await enqueue(
      pipeline.redis,
      { pipeline: pipeline.name },
      priorities.map((priority, i) => ({ seq: i + 1, payload: i, priority })),
    );
    await pipeline.processor(handler, { concurrency: 1, batchSize: 1 });
    await pipeline.settled(priorities.length);
    const expected = priorities
      .map((priority, i) => ({ priority, seq: i + 1 }))
      .sort((a, b) => a.priority - b.priority || a.seq - b.seq)
      .map((e) => e.seq);
    expect(order).to.deep.equal(expected);
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal(expected);
  });

  it('wakes a waiting processor when input arrives, and retries and dead-letters as ordered pipelines do', async () => {
    const pipeline = await unordered();
    const attempts = new Map<number, number>();
    const handler: Handler = (_p, { seq, attempt }) => {
      attempts.set(seq, attempt);
      if (seq % 10 === 0) throw new Error('always');
      if (seq % 3 === 0 && attempt === 1) throw new Error('once');
      return { seq };
    };
    await pipeline.processor(handler, { concurrency: 8, backoffBaseMs: 5, backoffMaxMs: 10, maxRetries: 2 });
    await pipeline.processor(handler, { concurrency: 8, backoffBaseMs: 5, backoffMaxMs: 10, maxRetries: 2 });
    await waitFor(() => pipeline.processors.every((p) => p.running), { timeoutMs: 5000 });
    await enqueue(
      pipeline.redis,
      { pipeline: pipeline.name },
      range(1, 100).map((seq) => ({ seq, payload: seq, priority: seq % 4 })),
    );
    await pipeline.settled(100);
    const output = (await pipeline.output()).map((e) => e.seq).sort((a, b) => a - b);
    expect(output).to.deep.equal(range(1, 100).filter((s) => s % 10 !== 0));
    const dead = await pipeline.deadLetters();
    expect(dead.map((d) => d.seq).sort((a, b) => (a as number) - (b as number))).to.deep.equal(range(1, 10).map((i) => i * 10));
    expect(dead.every((d) => d.reason === 'max-retries' && d.attempts === 3)).to.equal(true);
    expect(await pipeline.redis.xlen(pipeline.partition.keys.results), 'no results stream for unordered pipelines').to.equal(0);
  });

  it('returns the claims of a dead processor to the head of their priority class', async () => {
    const pipeline = await unordered();
    const k = pipeline.partition.keys;
    await enqueue(pipeline.redis, { pipeline: pipeline.name }, [
      { seq: 1, payload: 1, priority: 2 },
      { seq: 2, payload: 2, priority: 1 },
      { seq: 3, payload: 3, priority: 1 },
    ]);
    await pipeline.partition.init();
    const claim = await pipeline.partition.claim({ count: 1, token: 'dead-owner:1', owner: 'dead-owner', leaseMs: 1, window: 0 });
    expect(claim.claimed.map((c) => c.seq)).to.deep.equal([2]);
    // Its liveness lapses after 1 ms; any heartbeat or claim in the partition reaps it.
    await waitFor(async () => (await pipeline.partition.heartbeat('someone-else', 1000, [])).returned === 1, {
      timeoutMs: 5000,
      message: 'not reaped',
    });
    const queued = await pipeline.redis.zrange(k.queue, 0, -1);
    expect(queued.map((raw) => (JSON.parse(raw) as { seq: number }).seq)).to.deep.equal([2, 3, 1]);
    expect(await pipeline.redis.zcard(k.owners)).to.equal(0);
  });

  it('refuses a priority on a strict pipeline', async () => {
    const pipeline = fixture.pipeline();
    await registerPipeline(pipeline.redis, pipeline.name, { ordering: 'strict' });
    let error: unknown;
    try {
      await enqueue(pipeline.redis, { pipeline: pipeline.name }, [{ seq: 1, payload: 1, priority: 3 }]);
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/priority is only for unordered pipelines/);
    expect(await pipeline.redis.llen(pipeline.partition.keys.input)).to.equal(0);
  });

  it('serves every pipeline matching a pattern, including ones created after it started', async () => {
    const pipeline = fixture.pipeline();
    const base = uniquePipeline('ev');
    const redis = pipeline.connection();
    const processor = new Processor({
      redis,
      subscriber: pipeline.connection(),
      handler: (_p, { seq }) => ({ seq }),
      settings: fastProcessor,
      logger: silentLogger(),
    });
    const discovery = new PartitionDiscovery({
      redis,
      pipeline: `${base}-*`,
      partitions: 'all',
      prefix: 'inorder',
      seqStart: 1,
      ordering: 'none',
      strictOnly: false,
      server: processor,
      logger: silentLogger(),
      everyMs: 50,
    });
    await registerPipeline(redis, `${base}-1`, { ordering: 'none' });
    await registerPipeline(redis, `other-${base}`, { ordering: 'none' });
    await discovery.start();
    await processor.start();
    const pipelines = (): string[] => processor.served.map((tag) => tag.slice(0, tag.lastIndexOf(':'))).sort();
    try {
      await registerPipeline(redis, `${base}-2`, { ordering: 'none' });
      await waitFor(() => processor.served.length === 2, { timeoutMs: 5000, message: 'new pipeline not picked up' });
      expect(pipelines()).to.deep.equal([`${base}-1`, `${base}-2`]);
      for (const name of pipelines())
        await enqueue(
          redis,
          { pipeline: name },
          range(1, 20).map((seq) => ({ seq, payload: seq, priority: 1 })),
        );
      for (const name of pipelines()) {
        const output = new TestPipeline(fixture.server, { name, ordering: 'none' });
        try {
          await output.settled(20);
        } finally {
          await output.close();
        }
      }
    } finally {
      await discovery.stop();
      await processor.stop();
    }
  });

  it('matches pipeline names against a pattern with * as a wildcard', () => {
    expect(matchesPattern('events-*', 'events-7')).to.equal(true);
    expect(matchesPattern('events-*', 'events-')).to.equal(true);
    expect(matchesPattern('events-*', 'xevents-7')).to.equal(false);
    expect(matchesPattern('a.b', 'axb')).to.equal(false);
    expect(matchesPattern('*', 'anything')).to.equal(true);
  });
});
