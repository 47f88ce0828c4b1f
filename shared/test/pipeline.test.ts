import { expect } from 'chai';
import { jitteredHandler, usePipelines, waitFor } from '@inorder/testkit';
import { expectSettledInOrder } from './support/order.js';

describe('pipeline (in process)', function () {
  const fixture = usePipelines();

  it('delivers 2,000 messages through 3 processors and 2 sequencers complete and in order', async () => {
    const pipeline = fixture.pipeline();
    for (let i = 0; i < 3; i++) await pipeline.processor(jitteredHandler(13));
    await pipeline.sequencer();
    await pipeline.sequencer();
    await pipeline.enqueue(2000);
    const output = await expectSettledInOrder(pipeline, 2000);
    for (const e of output) {
      expect(e.result).to.deep.equal({ seq: e.seq });
      expect(e.createdAt).to.be.at.most(e.processingAt);
      expect(e.processingAt).to.be.at.most(e.processedAt);
      expect(e.processedAt).to.be.at.most(e.sequencingAt);
      expect(e.sequencingAt).to.be.at.most(e.sequencedAt);
    }
    expect(pipeline.sequencers.filter((s) => s.isLeader)).to.have.length(1);
  });

  it('a new leader emits the rest of a results entry its predecessor emitted in part, once, and deletes it', async () => {
    const pipeline = fixture.pipeline();
    const p = pipeline.partition;
    await p.init();
    await pipeline.enqueue(4);
    const claim = await p.claim({ count: 4, token: 'old:1', owner: 'old', leaseMs: 30_000, window: 0 });
    expect(claim.claimed).to.have.length(4);
    await p.complete(claim.claimed.map((c) => ({ seq: c.seq, token: 'old:1', body: c.raw, createdAt: 1, processedAt: 2 })));
    const entries = await p.readSettled('0-0', 10);
    expect(
      entries.map((e) => e.seqs),
      'one stream entry names the whole batch',
    ).to.deep.equal([[1, 2, 3, 4]]);
    // An earlier leader emitted 1 and 2 and died: the entry still names 3 and 4, so it stays.
    const old = await p.fence('old-leader');
    const emitted = await p.emit({ fence: old.fence, next: 1, now: Date.now(), run: [{ count: 2, sequencingAt: Date.now() }] });
    expect(emitted).to.deep.include({ kind: 'emitted', next: 3 });
    expect(await pipeline.redis.xlen(p.keys.results)).to.equal(1);
    await pipeline.sequencer();
    await pipeline.settled(4);
    await waitFor(async () => (await pipeline.redis.xlen(p.keys.results)) === 0, {
      timeoutMs: 10_000,
      message: 'the drained entry was not deleted',
    });
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
  });
});
