import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  Partition,
  PartitionDiscovery,
  Processor,
  Sequencer,
  connect,
  enqueue,
  parseFence,
  partitionForKey,
  registerPipeline,
  silentLogger,
  type RedisClient,
} from '@inorder/shared';
import {
  checkOrder,
  fastProcessor,
  fastSequencer,
  range,
  RedisServer,
  servePartitions,
  ServiceProcess,
  uniquePipeline,
  waitFor,
} from '@inorder/testkit';

/** Partitions as the unit of scale: keyed order, one process for many partitions, leaderships shared out. */
describe('partitions (the unit of scale)', function () {
  this.timeout(120_000);
  let server: RedisServer;
  let redis: RedisClient;
  const children: ServiceProcess[] = [];
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    server = await RedisServer.start();
    redis = connect(server.url);
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(async () => {
    redis.disconnect();
    await server.destroy();
  });

  /** A processor and a sequencer in this process serving every partition of `pipeline`. */
  async function services(
    pipeline: string,
    handler: (payload: unknown, ctx: { seq: number }) => Promise<unknown>,
    concurrency = 32,
  ): Promise<Processor> {
    const served = await servePartitions(server, pipeline, handler, { settings: { concurrency } });
    closers.push(() => served.close());
    return served.processor;
  }

  it("keeps each key's order over 4 partitions: 20 keys, 4,000 messages, random work, every message once, every partition used", async () => {
    const pipeline = uniquePipeline('keys');
    await registerPipeline(redis, pipeline, { ordering: 'strict', partitions: 4 });
    await services(
      pipeline,
      async (_payload, { seq }) => {
        await new Promise((r) => setTimeout(r, (seq * 7919) % 9));
        return {};
      },
      64,
    );
    const keys = range(1, 20).map((k) => `user-${k}`);
    const sent = new Map<string, number>();
    const messages = range(1, 4000).map((i) => {
      const key = keys[(i * 31) % keys.length]!;
      const n = (sent.get(key) ?? 0) + 1;
      sent.set(key, n);
      return { key, payload: { key, n } };
    });
    for (let i = 0; i < messages.length; i += 500) await enqueue(redis, { pipeline }, messages.slice(i, i + 500));
    const outputs = range(0, 3).map((p) => new Partition(redis, pipeline, p));
    await waitFor(
      async () => {
        let total = 0;
        for (const p of outputs) total += await redis.llen(p.keys.output);
        return total === 4000;
      },
      { timeoutMs: 60_000, message: 'not every message came out' },
    );
    const perKey = new Map<string, number[]>();
    for (const p of outputs) {
      const entries = (await redis.lrange(p.keys.output, 0, -1)).map(
        (raw) => JSON.parse(raw) as { seq: number; key: string; payload: { key: string; n: number } },
      );
      expect(
        checkOrder(
          entries.map((e) => e.seq),
          range(1, entries.length),
        ),
        `partition ${p.partition}`,
      ).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
      expect(entries.length, `partition ${p.partition} got no work`).to.be.above(0);
      for (const e of entries) {
        expect(partitionForKey(e.key, 4), `key ${e.key} in the partition its hash names`).to.equal(p.partition);
        const seen = perKey.get(e.key) ?? [];
        seen.push(e.payload.n);
        perKey.set(e.key, seen);
      }
    }
    for (const key of keys) expect(perKey.get(key), `order of ${key}`).to.deep.equal(range(1, sent.get(key)!));
  });

  it('runs at most CONCURRENCY handlers for 16 partitions in one process, moves every partition, on two connections', async () => {
    const pipeline = uniquePipeline('many');
    await registerPipeline(redis, pipeline, { ordering: 'strict', partitions: 16 });
    let now = 0;
    let most = 0;
    const name = `proc-${randomBytes(3).toString('hex')}`;
    const conns = [connect(server.url, { name }), connect(server.url, { name })];
    const processor = new Processor({
      redis: conns[0]!,
      subscriber: conns[1]!,
      settings: { ...fastProcessor, concurrency: 8 },
      logger: silentLogger(),
      handler: async () => {
        most = Math.max(most, ++now);
        await new Promise((r) => setTimeout(r, 3));
        now--;
        return {};
      },
    });
    const discovery = new PartitionDiscovery({
      redis: conns[0]!,
      pipeline,
      partitions: 'all',
      prefix: 'inorder',
      seqStart: 1,
      ordering: 'strict',
      strictOnly: false,
      server: processor,
      logger: silentLogger(),
    });
    await discovery.start();
    await processor.start();
    closers.push(async () => {
      await discovery.stop();
      await processor.stop();
      for (const c of conns) c.disconnect();
    });
    const seqConns = [connect(server.url), connect(server.url)];
    const sequencer = new Sequencer({ redis: seqConns[0]!, subscriber: seqConns[1]!, settings: fastSequencer, logger: silentLogger() });
    for (const p of range(0, 15)) await sequencer.serve(new Partition(seqConns[0]!, pipeline, p));
    await sequencer.start();
    closers.push(async () => {
      await sequencer.stop();
      for (const c of seqConns) c.disconnect();
    });
    for (const p of range(0, 15))
      await enqueue(
        redis,
        { pipeline, partition: p },
        range(1, 60).map((seq) => ({ seq, payload: seq })),
      );
    await waitFor(
      async () => {
        for (const p of range(0, 15)) if ((await redis.llen(new Partition(redis, pipeline, p).keys.output)) < 60) return false;
        return true;
      },
      { timeoutMs: 60_000, message: 'some partition did not finish' },
    );
    expect(processor.served).to.have.length(16);
    expect(most, 'handlers at once').to.be.within(2, 8);
    const clients = ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${name} `));
    expect(clients, 'Redis connections of the processor').to.have.length(2);
  });

  it('shares 8 leaderships 4 and 4 between two sequencers, moves them all within 1.5 s of a SIGKILL, and shares them again on restart, emitting no seq twice', async () => {
    const pipeline = uniquePipeline('lead');
    await registerPipeline(redis, pipeline, { ordering: 'strict', partitions: 8 });
    const env = { REDIS_URL: server.url, PIPELINE: pipeline, LOG_LEVEL: 'info' };
    children.push(new ServiceProcess('processor', { ...env, WORK_MS: '2', CONCURRENCY: '64' }));
    const ownerOf = (child: ServiceProcess): Promise<string> =>
      waitFor(
        () => {
          const line = child.logs
            .map((l) => JSON.parse(l) as { event?: string; owner?: string })
            .find((l) => l.event === 'started' && l.owner);
          return line?.owner;
        },
        { timeoutMs: 20_000, message: 'a sequencer did not start' },
      );
    const a = new ServiceProcess('sequencer', env);
    children.push(a);
    const ownerA = await ownerOf(a);
    let b = new ServiceProcess('sequencer', env);
    children.push(b);
    let ownerB = await ownerOf(b);

    const partitions = range(0, 7).map((p) => new Partition(redis, pipeline, p));
    const leaders = async (): Promise<Array<string | undefined>> =>
      Promise.all(
        partitions.map(async (p) => {
          const [fence, lease] = await Promise.all([redis.hget(p.keys.meta, 'fence'), redis.exists(p.keys.leader)]);
          return lease ? parseFence(fence)?.owner : undefined;
        }),
      );
    const count = (all: Array<string | undefined>, owner: string): number => all.filter((o) => o === owner).length;
    // A steady load on every partition, so each one's leader emits all the time.
    let feeding = true;
    const next = new Map(partitions.map((p) => [p.partition, 1]));
    const feeder = (async () => {
      while (feeding) {
        for (const p of partitions) {
          const from = next.get(p.partition)!;
          await enqueue(
            redis,
            { pipeline, partition: p.partition },
            range(from, from + 4).map((seq) => ({ seq, payload: seq })),
          );
          next.set(p.partition, from + 5);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitFor(
        async () => {
          const all = await leaders();
          return count(all, ownerA) === 4 && count(all, ownerB) === 4;
        },
        { timeoutMs: 1500, message: 'the leaderships were not shared 4 and 4 within a lease period of both being up' },
      );

      const killedAt = Date.now();
      await b.kill();
      const emittedAgain = await Promise.all(
        partitions.map((p) =>
          waitFor(
            async () => {
              const [fence, movedAt] = await redis.hmget(p.keys.meta, 'fence', 'movedAt');
              return parseFence(fence)?.owner === ownerA && Number(movedAt) > killedAt ? Number(movedAt) - killedAt : undefined;
            },
            { timeoutMs: 10_000, intervalMs: 10, message: `partition ${p.partition} did not emit under the survivor` },
          ),
        ),
      );
      expect(Math.max(...emittedAgain), "ms from the SIGKILL to the last partition's first emit under the survivor").to.be.below(1500);
      expect(count(await leaders(), ownerA)).to.equal(8);

      b = new ServiceProcess('sequencer', env);
      children.push(b);
      ownerB = await ownerOf(b);
      await waitFor(
        async () => {
          const all = await leaders();
          return count(all, ownerA) === 4 && count(all, ownerB) === 4;
        },
        { timeoutMs: 5000, message: 'the leaderships were not shared again after the restart' },
      );
    } finally {
      feeding = false;
      await feeder;
    }
    for (const p of partitions) {
      const sent = next.get(p.partition)! - 1;
      await waitFor(async () => (await redis.llen(p.keys.output)) >= sent, {
        timeoutMs: 30_000,
        message: `partition ${p.partition} did not drain`,
      });
      const seqs = (await redis.lrange(p.keys.output, 0, -1)).map((raw) => (JSON.parse(raw) as { seq: number }).seq);
      expect(checkOrder(seqs, range(1, sent)), `partition ${p.partition}`).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
    }
  });
});
