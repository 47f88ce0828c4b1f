import { expect } from 'chai';
import { Partition, Sequencer, connect, enqueue, silentLogger, type CompleteItem, type Probe, type RedisClient } from '@inorder/shared';
import { fastSequencer, uniquePipeline, useRedis, waitFor } from '@inorder/testkit';

/** A partition whose first probe meets a completion that landed just after the leader's last read. */
class LateCompletion extends Partition {
  late: CompleteItem[] = [];

  override async probe(next: number): Promise<Probe> {
    const items = this.late.splice(0);
    if (items.length > 0) await this.complete(items);
    return super.probe(next);
  }
}

/** The count of one stage's histogram in a Prometheus text. */
function stageCount(text: string, stage: string): number {
  const line = text.split('\n').find((l) => l.startsWith('inorder_stage_duration_seconds_count{') && l.includes(`stage="${stage}"`));
  return Number(line?.split(' ').pop() ?? 0);
}

describe('leadership', function () {
  this.timeout(20_000);
  const fixture = useRedis();
  const connections: RedisClient[] = [];

  afterEach(() => {
    for (const c of connections.splice(0)) c.disconnect();
  });

  it('times a seq that settled between its read of the stream and its probe like any other, from the stream entry', async () => {
    const name = uniquePipeline('leader');
    const [redis, subscriber] = [connect(fixture.server.url), connect(fixture.server.url)];
    connections.push(redis, subscriber);
    const partition = new LateCompletion(redis, name, 0);
    await partition.init();
    await enqueue(redis, { pipeline: name }, [
      { seq: 1, payload: 1 },
      { seq: 2, payload: 2 },
    ]);
    const { claimed } = await partition.claim({ count: 2, token: 'p:1', owner: 'p', leaseMs: 60_000, window: 0 });
    const item = (seq: number): CompleteItem => ({
      seq,
      token: 'p:1',
      body: JSON.stringify({ seq, payload: seq, result: seq }),
      createdAt: Date.now() - 50,
      processedAt: Date.now(),
    });
    expect(claimed.map((c) => c.seq)).to.deep.equal([1, 2]);
    // Seq 2 is in the stream when the leader first reads it; seq 1 lands as the leader probes why it waits.
    await partition.complete([item(2)]);
    partition.late = [item(1)];
    const sequencer = new Sequencer({ redis, subscriber, settings: fastSequencer, logger: silentLogger() });
    await sequencer.serve(partition);
    await sequencer.start();
    try {
      await waitFor(async () => (await redis.llen(partition.keys.output)) === 2, {
        timeoutMs: 10_000,
        message: 'seqs 1 and 2 were not emitted',
      });
    } finally {
      await sequencer.stop();
    }
    const text = await sequencer.telemetry.metrics.text();
    expect([stageCount(text, 'end_to_end'), stageCount(text, 'hand_off')], 'both emitted seqs timed').to.deep.equal([2, 2]);
  });
});
