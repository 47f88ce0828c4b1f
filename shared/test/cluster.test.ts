import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { connect, keysFor, registerPipeline, type RedisClient } from '@inorder/shared';
import { TestIngest } from '../../services/ingest/test/support/ingest.js';
import { connectOnce, verifyPipeline } from '@inorder/tools';
import { RedisCluster, TestPipeline, jitteredHandler, range, uniquePipeline } from '@inorder/testkit';
import { expectInOrder } from './support/order.js';

/** `count` fresh pipeline/partition pairs whose hash tags land on at least two different nodes. */
async function spreadTargets(
  cluster: RedisCluster,
  count: number,
  partitions = 1,
): Promise<Array<{ name: string; partition: number; node: number }>> {
  for (;;) {
    const targets = [];
    for (let i = 0; i < count; i++) {
      const name = uniquePipeline('cluster');
      const partition = i % partitions;
      targets.push({ name, partition, node: await cluster.nodeOf(keysFor(name, partition).input) });
    }
    if (new Set(targets.map((t) => t.node)).size > 1) return targets;
  }
}

describe('Redis Cluster', function () {
  this.timeout(30_000);
  let cluster: RedisCluster;
  const pipelines: TestPipeline[] = [];
  const connections: RedisClient[] = [];

  before(async () => {
    cluster = await RedisCluster.start();
  });
  after(async () => {
    for (const c of connections) c.disconnect();
    await cluster?.destroy();
  });
  afterEach(async () => {
    await Promise.all(pipelines.splice(0).map((p) => p.close()));
  });

  it('connects with a cluster client to a redis+cluster:// URL', async () => {
    const redis = connect(cluster.url, { name: 'inorder-test' });
    connections.push(redis);
    expect(redis).to.be.instanceOf(Cluster);
    expect(await redis.ping()).to.equal('PONG');
  });

  it('delivers 2,000 messages per partition through 2 processors and 2 sequencers on partitions of different nodes, complete and in order', async () => {
    const targets = await spreadTargets(cluster, 2);
    for (const target of targets) {
      const pipeline = new TestPipeline(cluster, { name: target.name, partition: target.partition });
      pipelines.push(pipeline);
      for (let i = 0; i < 2; i++) await pipeline.processor(jitteredHandler(7));
      await pipeline.sequencer();
      await pipeline.sequencer();
    }
    await Promise.all(pipelines.map((p) => p.enqueue(2000)));
    await Promise.all(pipelines.map((p) => p.settled(2000, 25_000)));
    for (const pipeline of pipelines) {
      const output = await pipeline.output();
      expectInOrder(output, range(1, 2000));
      expect(output.every((e) => (e.result as { seq: number }).seq === e.seq)).to.equal(true);
      // One leader per partition: the Redlock lease works through the cluster client.
      expect(pipeline.sequencers.filter((s) => s.isLeader)).to.have.length(1);
    }
    // The verify tool reads the same partitions through a cluster URL.
    const tool = await connectOnce(cluster.url);
    connections.push(tool);
    for (const pipeline of pipelines) {
      const result = await verifyPipeline(tool, {
        pipeline: pipeline.name,
        partition: pipeline.partition.partition,
        expected: { from: 1, to: 2000 },
      });
      expect(result).to.include({ ok: true, output: 2000, missing: 0, duplicates: 0, orderViolations: 0 });
    }
  });

  it("serves the ingest: submits to partitions on different nodes and reports each one's status", async () => {
    const setup = connect(cluster.url);
    connections.push(setup);
    let name = '';
    for (;;) {
      name = uniquePipeline('cluster-ingest');
      const nodes = await Promise.all([0, 1, 2].map((p) => cluster.nodeOf(keysFor(name, p).input)));
      // the registry key has no hash tag, so it lives on some node of its own choosing
      if (new Set(nodes).size > 1) break;
    }
    await registerPipeline(setup, name, { ordering: 'strict', partitions: 3 });
    const ingest = await TestIngest.start(cluster);
    try {
      for (let partition = 0; partition < 3; partition++) {
        const batch = Array.from({ length: partition + 2 }, (_, i) => ({ payload: { partition, i } }));
        const reply = await ingest.post(`/v1/pipelines/${name}/messages?partition=${partition}`, batch);
        expect(reply.status, reply.text).to.equal(202);
        expect(reply.json.seqs).to.deep.equal(range(1, partition + 2));
      }
      const status = await ingest.get(`/v1/pipelines/${name}`);
      expect(status.status, status.text).to.equal(200);
      expect(status.json.ordering).to.equal('strict');
      expect(
        status.json.partitions.map((p: { partition: number; inputDepth: number; lastAssignedSeq: number }) => [
          p.partition,
          p.inputDepth,
          p.lastAssignedSeq,
        ]),
      ).to.deep.equal([
        [0, 2, 2],
        [1, 3, 3],
        [2, 4, 4],
      ]);
      const list = await ingest.get('/v1/pipelines');
      expect(list.status).to.equal(200);
      expect(list.json.pipelines[name]).to.include({ ordering: 'strict', partitions: 3 });
      expect((await ingest.get('/readyz')).status).to.equal(200);
    } finally {
      await ingest.close();
    }
  });
});
