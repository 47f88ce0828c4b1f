import { expect } from 'chai';
import { simulatedHandler } from '@inorder/shared';
import { RedisServer, ServiceProcess, TestPipeline, waitFor } from '@inorder/testkit';
import { expectSettledInOrder } from './support/order.js';

describe('connection faults and shutdown', function () {
  this.timeout(120_000);
  let server: RedisServer;
  let pipeline: TestPipeline;
  const children: ServiceProcess[] = [];

  beforeEach(async () => {
    server = await RedisServer.start({ appendonly: true });
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await pipeline.close();
    await server.destroy();
  });

  async function busyPipeline(count: number): Promise<void> {
    pipeline = new TestPipeline(server);
    for (let i = 0; i < 2; i++) await pipeline.processor(simulatedHandler({ workMs: 20, failRate: 0 }), { concurrency: 48 });
    await pipeline.sequencer();
    await pipeline.sequencer();
    await pipeline.enqueue(count);
    await waitFor(async () => (await pipeline.redis.llen(pipeline.partition.keys.output)) >= count / 5, {
      timeoutMs: 30_000,
      message: 'no progress before the fault',
    });
  }

  async function expectComplete(count: number): Promise<void> {
    await expectSettledInOrder(pipeline, count, 60_000);
    expect(await pipeline.deadLetters()).to.have.length(0);
  }

  it('finishes complete, ordered and without duplicates after CLIENT KILL of every connection mid-run', async () => {
    await busyPipeline(3000);
    const admin = server.client();
    const killed =
      Number(await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')) + Number(await admin.client('KILL', 'TYPE', 'pubsub'));
    admin.disconnect();
    // 2 processors and 2 sequencers with a command and a wake-up connection each, and the test's own.
    expect(killed).to.be.at.least(9);
    const outputAtKill = await pipeline.redis.llen(pipeline.partition.keys.output);
    expect(outputAtKill).to.be.below(3000);
    await expectComplete(3000);
  });

  it('finishes complete, ordered and without duplicates after a Redis restart (AOF) mid-run', async () => {
    await busyPipeline(3000);
    await server.restart();
    await expectComplete(3000);
  });

  it('exits 0 on SIGTERM mid-run and leaves its claims to the others, losing nothing', async () => {
    pipeline = new TestPipeline(server);
    await pipeline.sequencer();
    const leaving = new ServiceProcess('processor', {
      REDIS_URL: server.url,
      PIPELINE: pipeline.name,
      CONCURRENCY: '64',
      WORK_MS: '400',
      SHUTDOWN_GRACE_MS: '100',
      CLAIM_LEASE_MS: '60000',
    });
    children.push(leaving);
    await pipeline.enqueue(600);
    await waitFor(async () => (await pipeline.redis.hlen(pipeline.partition.keys.state)) >= 64, {
      timeoutMs: 30_000,
      message: 'the processor claimed nothing',
    });
    leaving.signal('SIGTERM');
    expect(await leaving.exited).to.equal(0);
    const stopped = leaving.logs.map((l) => JSON.parse(l) as { event?: string; returned?: number }).find((l) => l.event === 'stopped');
    expect(stopped?.returned, 'claims returned to the input at shutdown').to.be.above(0);
    // The lease is a minute long: only the release on shutdown lets the others have them now.
    await pipeline.processor(simulatedHandler({ workMs: 5, failRate: 0 }), { concurrency: 64 });
    const output = await expectSettledInOrder(pipeline, 600, 20_000);
    expect(
      output.every((e) => e.attempts === 1),
      'a returned claim does not count as an attempt',
    ).to.equal(true);
  });
});
