import { expect } from 'chai';
import {
  DrainTimeoutError,
  PartitionCountError,
  PartitionDiscovery,
  PipelineResizingError,
  ResizeConflictError,
  cancelResize,
  enqueue,
  submit,
  getPipeline,
  keysFor,
  partitionForKey,
  registerPipeline,
  resizePipeline,
  silentLogger,
} from '@inorder/shared';
import { checkOrder, range, servePartitions, uniquePipeline, useRedis, waitFor } from '@inorder/testkit';

interface Emitted {
  seq: number;
  key: string;
  payload: { key: string; n: number };
  createdAt: number;
  sequencedAt: number;
}

describe("changing a pipeline's partition count (npm run partitions)", function () {
  this.timeout(120_000);
  const fixture = useRedis();

  const outputOf = async (pipeline: string, partition: number): Promise<Emitted[]> =>
    (await fixture.redis.lrange(keysFor(pipeline, partition).output, 0, -1)).map((raw) => JSON.parse(raw) as Emitted);

  it("grows 2 -> 4 partitions under a steady keyed load: every key's order holds across the change, every message once", async () => {
    const pipeline = uniquePipeline('grow');
    await registerPipeline(fixture.redis, pipeline, { ordering: 'strict', partitions: 2 });
    // Slower work than the producer's pace, so a backlog waits in the old partitions at the change.
    const served = await servePartitions(
      fixture.server,
      pipeline,
      async (_payload, { seq }) => {
        await new Promise((r) => setTimeout(r, 5 + ((seq * 7919) % 30)));
        return {};
      },
      { settings: { concurrency: 16 } },
    );
    const keys = range(1, 12).map((k) => `account-${k}`);
    // Some keys must change partition, or the test proves nothing.
    expect(keys.filter((k) => partitionForKey(k, 2) !== partitionForKey(k, 4)).length).to.be.above(2);
    const sent = new Map<string, number>();
    let refused = 0;
    let producing = true;
    const producer = (async () => {
      for (let round = 0; producing || round < 40; round++) {
        for (const key of keys) {
          const n = (sent.get(key) ?? 0) + 1;
          // One key per call: one partition, one atomic write, so a refusal wrote nothing.
          for (;;) {
            try {
              await enqueue(fixture.redis, { pipeline }, [{ key, payload: { key, n } }]);
              break;
            } catch (error) {
              if (!(error instanceof PipelineResizingError)) throw error;
              refused++;
              await new Promise((r) => setTimeout(r, 5));
            }
          }
          sent.set(key, n);
        }
      }
    })();
    try {
      await waitFor(async () => [...sent.values()].reduce((a, b) => a + b, 0) >= 600, { timeoutMs: 20_000, message: 'producer too slow' });
      let backlog = 0;
      for (const p of [0, 1]) backlog += await fixture.redis.llen(keysFor(pipeline, p).input);
      expect(backlog, 'no backlog at the change: the test would prove nothing').to.be.above(50);
      const result = await resizePipeline(fixture.redis, pipeline, 4, { drainTimeoutMs: 30_000, pollMs: 20 });
      expect(result).to.include({ kind: 'resized', from: 2, to: 4 });
      const after = [...sent.values()].reduce((a, b) => a + b, 0);
      await waitFor(async () => [...sent.values()].reduce((a, b) => a + b, 0) >= after + 600, {
        timeoutMs: 20_000,
        message: 'producer stalled after the change',
      });
      producing = false;
      await producer;
      const total = [...sent.values()].reduce((a, b) => a + b, 0);
      await waitFor(
        async () => {
          let out = 0;
          for (const p of range(0, 3)) out += await fixture.redis.llen(keysFor(pipeline, p).output);
          return out === total;
        },
        { timeoutMs: 30_000, message: 'not every message came out' },
      );
    } finally {
      producing = false;
      await producer.catch(() => {});
      await served.close();
    }
    expect(refused, 'the producer never met the drain').to.be.above(0);
    expect((await getPipeline(fixture.redis, pipeline))?.partitions).to.equal(4);
    const byKey = new Map<string, Array<Emitted & { partition: number }>>();
    for (const p of range(0, 3)) {
      const entries = await outputOf(pipeline, p);
      expect(entries.length, `partition ${p} got no work`).to.be.above(0);
      expect(
        checkOrder(
          entries.map((e) => e.seq),
          range(1, entries.length),
        ),
        `partition ${p}`,
      ).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
      for (const e of entries) byKey.set(e.key, [...(byKey.get(e.key) ?? []), { ...e, partition: p }]);
    }
    let moved = 0;
    for (const key of keys) {
      const entries = byKey.get(key)!;
      const old = entries.filter((e) => e.partition === partitionForKey(key, 2));
      const now = entries.filter((e) => e.partition !== partitionForKey(key, 2));
      // Each partition's output lists the key's messages in order, and the old partition's come first.
      expect(
        [...old, ...now].map((e) => e.payload.n),
        `order of ${key}`,
      ).to.deep.equal(range(1, sent.get(key)!));
      if (now.length === 0) continue;
      moved++;
      expect(now.every((e) => e.partition === partitionForKey(key, 4))).to.equal(true);
      // Nothing routed by the new count went in before the last message of the old count came out.
      expect(Math.min(...now.map((e) => e.createdAt))).to.be.at.least(Math.max(...old.map((e) => e.sequencedAt)));
    }
    expect(moved).to.be.above(2);
  });

  it('calls the change off when the partitions do not drain in time: the count stays, submits are taken again', async () => {
    const pipeline = uniquePipeline('stuck');
    await registerPipeline(fixture.redis, pipeline, { ordering: 'strict', partitions: 2 });
    await enqueue(
      fixture.redis,
      { pipeline, partition: 1 },
      range(1, 10).map((seq) => ({ seq, payload: seq })),
    );
    const resizing = resizePipeline(fixture.redis, pipeline, 3, { drainTimeoutMs: 1500, pollMs: 20 });
    await waitFor(async () => (await fixture.redis.hget(keysFor(pipeline, 0).meta, 'resizing')) === '3', {
      timeoutMs: 5000,
      message: 'never froze',
    });
    // While it drains, a submit to any partition is refused and writes nothing.
    const refused = await enqueue(fixture.redis, { pipeline, partition: 0 }, [{ seq: 1, payload: 'x' }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).to.be.instanceOf(PipelineResizingError);
    expect(await fixture.redis.llen(keysFor(pipeline, 0).input)).to.equal(0);
    const error = await resizing.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(DrainTimeoutError);
    expect((error as DrainTimeoutError).message).to.contain('partition 1: 10 waiting');
    expect((error as DrainTimeoutError).backlog.map((b) => b.partition)).to.deep.equal([1]);
    expect((await getPipeline(fixture.redis, pipeline))?.partitions).to.equal(2);
    for (const p of [0, 1]) expect(await fixture.redis.hget(keysFor(pipeline, p).meta, 'resizing')).to.equal(null);
    expect(await enqueue(fixture.redis, { pipeline, partition: 0 }, [{ seq: 1, payload: 'x' }])).to.equal(1);
  });

  it('refuses a second change to another count while one is under way; --cancel calls off one left unfinished', async () => {
    const pipeline = uniquePipeline('twice');
    await registerPipeline(fixture.redis, pipeline, { ordering: 'none', partitions: 2 });
    // A change to 5 whose process died after freezing partition 1.
    await fixture.redis.hset(keysFor(pipeline, 1).meta, 'resizing', '5');
    const error = await resizePipeline(fixture.redis, pipeline, 3, { drainTimeoutMs: 1000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ResizeConflictError);
    expect((error as Error).message).to.contain('resized to 5 partitions by another run');
    // Partition 0, frozen by the refused run, was thawed again; partition 1 still refuses.
    expect(await fixture.redis.hget(keysFor(pipeline, 0).meta, 'resizing')).to.equal(null);
    const refused = await enqueue(fixture.redis, { pipeline, partition: 1 }, [{ payload: 1 }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).to.be.instanceOf(PipelineResizingError);
    expect(await cancelResize(fixture.redis, pipeline)).to.deep.equal({ partitions: 2, cancelled: 1 });
    expect(await enqueue(fixture.redis, { pipeline, partition: 1 }, [{ payload: 1 }])).to.equal(1);
    // Finishing the same change resumes it instead: an empty pipeline drains at once.
    await fixture.redis.hset(keysFor(pipeline, 0).meta, 'resizing', '5');
    await fixture.redis.del(keysFor(pipeline, 1).queue);
    expect(await resizePipeline(fixture.redis, pipeline, 5)).to.include({ kind: 'resized', from: 2, to: 5 });
    expect(await fixture.redis.hget(keysFor(pipeline, 4).meta, 'partitions')).to.equal('5');
  });

  it('refuses a write routed by the count from before a change, so no key is split', async () => {
    const pipeline = uniquePipeline('stale');
    await registerPipeline(fixture.redis, pipeline, { ordering: 'strict', partitions: 2 });
    await resizePipeline(fixture.redis, pipeline, 4);
    // A producer that read the registry before the change routes by 2.
    const result = await submit(fixture.redis, keysFor(pipeline, 1), [{ payload: 1 }], {
      ordering: 'strict',
      dedupTtlMs: 0,
      partitions: 2,
    });
    expect(result).to.deep.equal({ kind: 'stale-partitions', partitions: 4 });
    expect(await fixture.redis.llen(keysFor(pipeline, 1).input)).to.equal(0);
    expect(
      await submit(fixture.redis, keysFor(pipeline, 1), [{ payload: 1 }], { ordering: 'strict', dedupTtlMs: 0, partitions: 4 }),
    ).to.deep.include({ kind: 'submitted', seqs: [1] });
  });

  it('refuses a registration that asks for another count, naming the command that changes it', async () => {
    const pipeline = uniquePipeline('count');
    await registerPipeline(fixture.redis, pipeline, { ordering: 'strict', partitions: 4 });
    const exact = await registerPipeline(fixture.redis, pipeline, { ordering: 'strict', partitions: 8 }, 'inorder', Date.now(), {
      partitionCheck: 'exact',
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(exact).to.be.instanceOf(PartitionCountError);
    expect((exact as Error).message).to.contain(`npm run partitions -- --pipeline ${pipeline} --to 8`);
    // A processor or sequencer listing partitions 0-5 of a 4-partition pipeline is refused too.
    const discovery = new PartitionDiscovery({
      redis: fixture.redis,
      pipeline,
      partitions: [0, 1, 2, 3, 4, 5],
      prefix: 'inorder',
      seqStart: 1,
      ordering: 'strict',
      strictOnly: false,
      server: { served: [], serve: async () => {}, unserve: async () => {} },
      logger: silentLogger(),
    });
    const listed = await discovery.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(listed).to.be.instanceOf(PartitionCountError);
    expect((listed as Error).message).to.contain('name partition 5 of pipeline');
    // Without a count to hold to, the pipeline's own count is taken as it is.
    expect((await registerPipeline(fixture.redis, pipeline, { ordering: 'strict' })).settings.partitions).to.equal(4);
  });
});
