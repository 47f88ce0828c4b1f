import { expect } from 'chai';
import { RedriveError, findDeadLetters, listDeadLetters, purgeDeadLetters, redrive, submit, type Handler } from '@inorder/shared';
import { usePipelines, waitFor } from '@inorder/testkit';

describe('dead-letter tooling', function () {
  this.timeout(30_000);
  const fixture = usePipelines();
  let failSeq3 = true;
  const handler: Handler = (_p, { seq }) => {
    if (seq === 3 && failSeq3) throw new Error('refused');
    return { seq };
  };

  it('redrives a dead letter as a new seq at the end, keeping its original seq', async () => {
    failSeq3 = true;
    const pipeline = fixture.pipeline();
    await pipeline.processor(handler, { maxRetries: 0 });
    await pipeline.sequencer();
    const k = pipeline.partition.keys;
    const sent = await submit(
      pipeline.redis,
      k,
      [1, 2, 3, 4, 5].map((n) => ({ payload: { n } })),
      { ordering: 'strict', dedupTtlMs: 60_000 },
    );
    expect(sent).to.deep.include({ kind: 'submitted', seqs: [1, 2, 3, 4, 5] });
    await pipeline.settled(5);
    const [dead] = await listDeadLetters(pipeline.redis, k);
    expect(dead!.record).to.include({ seq: 3, reason: 'max-retries' });

    failSeq3 = false;
    const again = await redrive(pipeline.redis, k, 3, { ordering: 'strict' });
    expect(again).to.deep.equal({ seq: 6, duplicate: false });
    expect(await findDeadLetters(pipeline.redis, k, 3)).to.have.length(0);
    await waitFor(async () => (await pipeline.output()).length === 5, { timeoutMs: 10_000, message: 'redriven message not output' });
    const output = await pipeline.output();
    expect(output.map((e) => e.seq)).to.deep.equal([1, 2, 4, 5, 6]);
    expect(output[4]).to.deep.include({ originalSeq: 3, payload: { n: 3 } });
    let error: unknown;
    await redrive(pipeline.redis, k, 3, { ordering: 'strict' }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(RedriveError);
  });

  it('refuses to pick a new seq for a partition whose producers number their own', async () => {
    failSeq3 = true;
    const pipeline = fixture.pipeline();
    await pipeline.processor(handler, { maxRetries: 0 });
    await pipeline.sequencer();
    await pipeline.enqueue(4);
    await pipeline.settled(4);
    const k = pipeline.partition.keys;
    let error: unknown;
    await redrive(pipeline.redis, k, 3, { ordering: 'strict' }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(RedriveError);
    expect(String(error)).to.match(/give the new seq explicitly/);
    expect(await findDeadLetters(pipeline.redis, k, 3)).to.have.length(1);
    failSeq3 = false;
    expect(await redrive(pipeline.redis, k, 3, { ordering: 'strict', newSeq: 5 })).to.deep.equal({ seq: 5, duplicate: false });
    await pipeline.settled(4);
    await waitFor(async () => (await pipeline.output()).length === 4, { timeoutMs: 10_000 });
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal([1, 2, 4, 5]);
  });

  it('purges one seq or everything', async () => {
    const pipeline = fixture.pipeline();
    const k = pipeline.partition.keys;
    await pipeline.redis.rpush(
      k.dead,
      JSON.stringify({ seq: 1, reason: 'late', deadAt: 1 }),
      JSON.stringify({ seq: 2, reason: 'late', deadAt: 1 }),
      'not json',
    );
    expect(await purgeDeadLetters(pipeline.redis, k, 1)).to.equal(1);
    expect((await listDeadLetters(pipeline.redis, k)).map((d) => d.record.seq)).to.deep.equal([2, undefined]);
    expect(await purgeDeadLetters(pipeline.redis, k)).to.equal(2);
    expect(await pipeline.redis.llen(k.dead)).to.equal(0);
  });
});
