import { expect } from 'chai';
import { registerPipeline } from '@inorder/shared';
import { TestPipeline, checkOrder, range } from '@inorder/testkit';
import { useIngest } from './support/ingest.js';

describe('end to end: HTTP submissions through processors and sequencers', function () {
  const fixture = useIngest();
  let pipeline: TestPipeline;
  afterEach(async () => {
    await pipeline.close();
  });

  it('delivers messages submitted over HTTP by many clients complete and in order, resent ids once', async () => {
    pipeline = new TestPipeline(fixture.server);
    await registerPipeline(fixture.redis, pipeline.name, { ordering: 'strict' });
    for (let i = 0; i < 3; i++) {
      await pipeline.processor(async (payload, { seq }) => {
        await new Promise((r) => setTimeout(r, (seq * 7919) % 7));
        return { seq, echo: payload };
      });
    }
    await pipeline.sequencer();
    await pipeline.sequencer();

    const clients = 20;
    const batches = 25;
    const size = 4;
    const sent = new Map<number, unknown>();
    await Promise.all(
      range(0, clients - 1).map(async (c) => {
        for (let b = 0; b < batches; b++) {
          const batch = range(0, size - 1).map((i) => ({ id: `c${c}-b${b}-m${i}`, payload: { c, b, i } }));
          const path = `/v1/pipelines/${pipeline.name}/messages`;
          const reply = await fixture.ingest.post(path, batch);
          expect(reply.status, reply.text).to.equal(202);
          (reply.json.seqs as number[]).forEach((seq, i) => sent.set(seq, batch[i]!.payload));
          // Every fifth batch is resent, as a client does after a lost reply: same ids, same seqs, nothing new.
          if (b % 5 === 0) {
            const again = await fixture.ingest.post(path, batch);
            expect(again.json.seqs).to.deep.equal(reply.json.seqs);
            expect(again.json.duplicates).to.deep.equal([true, true, true, true]);
          }
        }
      }),
    );
    const total = clients * batches * size;
    expect([...sent.keys()].sort((a, b) => a - b)).to.deep.equal(range(1, total));

    await pipeline.settled(total);
    const output = await pipeline.output();
    expect(
      checkOrder(
        output.map((e) => e.seq),
        range(1, total),
      ),
    ).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
    expect(output).to.have.length(total);
    for (const e of output) expect(e.result).to.deep.equal({ seq: e.seq, echo: sent.get(e.seq) });
    expect(await pipeline.deadLetters()).to.deep.equal([]);

    const status = await fixture.ingest.get(`/v1/pipelines/${pipeline.name}`);
    expect(status.json.partitions[0]).to.include({
      inputDepth: 0,
      inFlight: 0,
      nextSeq: total + 1,
      emitted: total,
      lastAssignedSeq: total,
    });
    expect(status.json.partitions[0].leader.leaseHeld).to.equal(true);
  });
});
