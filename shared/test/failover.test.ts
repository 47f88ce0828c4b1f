import { expect } from 'chai';
import { type Lease } from '@inorder/shared';
import { ServiceProcess, type TestPipeline, range, usePipelines, waitFor } from '@inorder/testkit';
import { expectInOrder, expectSettledInOrder } from './support/order.js';

/** Which child holds the fence (owner:epoch), from the instance id each one logs. */
function holderOf(children: ServiceProcess[], fence: string | null): ServiceProcess | undefined {
  if (!fence) return undefined;
  const owner = fence.slice(0, fence.lastIndexOf(':'));
  return children.find((c) => c.logged(`"instance":"${owner}"`));
}

describe('failover (services as child processes)', function () {
  this.timeout(120_000);
  const children: ServiceProcess[] = [];
  // Registered first, so the children are killed before the fixture closes the pipelines.
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
  });
  const fixture = usePipelines();

  const env = (pipeline: TestPipeline, extra: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL: fixture.server.url,
    PIPELINE: pipeline.name,
    ...extra,
  });

  /**
   * Two sequencer children competing for the pipeline, served by an in-process processor, once
   * `count` messages are enqueued and the leader has emitted past `progress`.
   */
  async function twoSequencers(
    pipeline: TestPipeline,
    count: number,
    progress: number,
  ): Promise<{ a: ServiceProcess; b: ServiceProcess; meta: string; fence: string | null }> {
    const a = new ServiceProcess('sequencer', env(pipeline));
    const b = new ServiceProcess('sequencer', env(pipeline));
    children.push(a, b);
    await pipeline.processor(undefined, { concurrency: 64 });
    await pipeline.enqueue(count);
    const meta = pipeline.partition.keys.meta;
    await waitFor(async () => Number(await pipeline.redis.hget(meta, 'next')) > progress, { timeoutMs: 30_000, message: 'no progress' });
    const fence = await pipeline.redis.hget(meta, 'fence');
    return { a, b, meta, fence };
  }

  it('loses nothing when a processor is killed with SIGKILL mid-batch', async () => {
    const pipeline = fixture.pipeline();
    await pipeline.sequencer();
    const victim = new ServiceProcess('processor', env(pipeline, { CONCURRENCY: '50', WORK_MS: '300', CLAIM_LEASE_MS: '1500' }));
    children.push(victim);
    await pipeline.enqueue(400);
    const state = pipeline.partition.keys.state;
    // Mid-batch: it holds claims and has completed some.
    await waitFor(
      async () => (await pipeline.redis.llen(pipeline.partition.keys.output)) >= 50 && (await pipeline.redis.hlen(state)) >= 20,
      {
        timeoutMs: 30_000,
        message: 'the processor never got going',
      },
    );
    await victim.kill();
    await pipeline.processor(undefined, { concurrency: 50 });
    const output = await expectSettledInOrder(pipeline, 400);
    expect(
      output.filter((e) => e.attempts > 1),
      'the killed claims were reaped and run again',
    ).to.have.length.above(0);
    expect(await pipeline.deadLetters()).to.have.length(0);
  });

  it('replaces a sequencer leader killed with SIGKILL, and the output stays complete and ordered', async () => {
    const pipeline = fixture.pipeline();
    const { a, b, meta, fence } = await twoSequencers(pipeline, 1500, 300);
    const leader = holderOf(children, fence);
    expect(leader, `a child holds fence ${fence}`).to.not.equal(undefined);
    await leader!.kill();
    const killedAt = Date.now();
    // Dead, it emits no more: whatever moves next from here on is the new leader.
    const nextAtKill = Number(await pipeline.redis.hget(meta, 'next'));
    // The second half arrives after the death: only a new leader can emit it.
    await pipeline.enqueue(1500, 1501);
    await waitFor(async () => Number(await pipeline.redis.hget(meta, 'next')) > nextAtKill, {
      timeoutMs: 10_000,
      intervalMs: 5,
      message: 'no emit after the leader died',
    });
    const failoverMs = Date.now() - killedAt;
    const newFence = await pipeline.redis.hget(meta, 'fence');
    expect(newFence).to.not.equal(fence);
    expect(holderOf(children, newFence)).to.equal(leader === a ? b : a);
    await expectSettledInOrder(pipeline, 3000);
    // Generous bound for a loaded CI machine; the failover figure itself is reported by chaos.
    expect(failoverMs).to.be.below(5000);
  });

  it('lets a leader paused past its lease write nothing after it resumes, while the new leader carries on', async () => {
    const pipeline = fixture.pipeline();
    const { meta, fence } = await twoSequencers(pipeline, 1000, 200);
    const paused = holderOf(children, fence)!;
    paused.signal('SIGSTOP');
    await pipeline.enqueue(1000, 1001);
    await waitFor(async () => (await pipeline.redis.hget(meta, 'fence')) !== fence, {
      timeoutMs: 10_000,
      message: 'no new leader while paused',
    });
    // 1001..2000 arrived after the pause: only the new leader can have emitted them.
    await waitFor(async () => Number(await pipeline.redis.hget(meta, 'next')) === 2001, {
      timeoutMs: 20_000,
      message: 'new leader did not emit everything while the old one was paused',
    });
    paused.signal('SIGCONT');
    await waitFor(() => paused.logged('leader lease lost') || paused.logged('leadership ended'), {
      timeoutMs: 10_000,
      message: 'resumed leader did not notice it lost the lease',
    });
    await expectSettledInOrder(pipeline, 2000);
    expect(holderOf(children, await pipeline.redis.hget(meta, 'fence'))).to.not.equal(paused);
  });
});

describe('fencing and exclusivity (in process)', function () {
  this.timeout(60_000);
  const fixture = usePipelines();

  it('refuses every emit of a leader that believes it still leads after another took the fence', async () => {
    const pipeline = fixture.pipeline();
    await pipeline.processor(undefined, { concurrency: 64 });
    // A rogue leader: it never holds the Redlock lease, yet always believes it leads (as a
    // process paused through its lease expiry would, for a moment, on resuming).
    let asked = false;
    const rogueLease: Lease = {
      signal: new AbortController().signal,
      holds: () => true,
      tryAcquire: async () => (asked ? false : (asked = true)),
      release: async () => {},
    };
    const rogue = await pipeline.sequencer({}, { owner: 'rogue', leaseFor: () => rogueLease });
    await pipeline.enqueue(100);
    await pipeline.settled(100);
    const honest = await pipeline.sequencer();
    await waitFor(() => honest.isLeader, { timeoutMs: 5000, message: 'the honest sequencer never led' });
    const emittedBefore = rogue.stats.emitted;
    await pipeline.enqueue(1500, 101);
    await pipeline.settled(1600);
    expect(rogue.stats.emitted, 'emits by the fenced-out leader').to.equal(emittedBefore);
    expect(rogue.stats.fenced).to.equal(1);
    expectInOrder(await pipeline.output(), range(1, 1600));
  });

  it('outputs a seq pushed twice once, and never runs it in two handler calls at once', async () => {
    const pipeline = fixture.pipeline();
    const running = new Set<number>();
    const overlaps: number[] = [];
    const calls = new Map<number, number>();
    const handler = async (_p: unknown, { seq }: { seq: number }): Promise<unknown> => {
      if (running.has(seq)) overlaps.push(seq);
      running.add(seq);
      calls.set(seq, (calls.get(seq) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 30));
      running.delete(seq);
      return { seq };
    };
    for (let i = 0; i < 3; i++) await pipeline.processor(handler, { concurrency: 40, batchSize: 8 });
    await pipeline.sequencer();
    // Every seq twice, the copy right behind the original (claimed while it runs) ...
    for (let seq = 1; seq <= 200; seq++) {
      await pipeline.enqueue(1, seq);
      await pipeline.enqueue(1, seq);
    }
    await pipeline.settled(200);
    // ... and once more after it was emitted.
    await pipeline.enqueue(50, 1);
    await waitFor(async () => (await pipeline.redis.llen(pipeline.partition.keys.input)) === 0, {
      timeoutMs: 10_000,
      message: 'late copies not consumed',
    });
    await waitFor(() => pipeline.processors.every((p) => p.inFlightCount === 0), { timeoutMs: 10_000 });
    expectInOrder(await pipeline.output(), range(1, 200));
    expect(overlaps, 'seqs in two handler calls at once').to.have.length(0);
    expect(
      [...calls.values()].every((n) => n === 1),
      'each seq handled once',
    ).to.equal(true);
    const dropped = pipeline.processors.reduce((n, p) => n + p.stats.duplicates, 0);
    expect(dropped).to.equal(250);
  });
});
