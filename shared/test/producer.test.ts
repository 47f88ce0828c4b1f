import { expect } from 'chai';
import sinon from 'sinon';
import {
  EnvelopeError,
  LayoutError,
  SUBMIT_MAX_BATCH,
  SeqSourceError,
  SeqTooFarAheadError,
  enqueue,
  keysFor,
  registerPipeline,
  submit,
  type NewMessage,
} from '@inorder/shared';
import { snapshot } from './support/lua.js';
import { rejectionOf, uniquePipeline, useRedis } from '@inorder/testkit';
import { Partition } from '@inorder/shared';

describe('enqueue() (producer API, through submit.lua)', function () {
  const fixture = useRedis();
  afterEach(() => sinon.restore());

  const messages = (from: number, count: number, extra: Partial<NewMessage> = {}): NewMessage[] =>
    Array.from({ length: count }, (_, i) => ({ seq: from + i, payload: { n: from + i }, ...extra }));
  const partitionOf = (pipeline: string): Partition => new Partition(fixture.redis, pipeline, 0);
  const seqsOf = (raws: string[]): number[] => raws.map((r) => (JSON.parse(r) as { seq: number }).seq);

  it('appends in the order given, stamps createdAt, and goes through submit.lua in chunks of at most SUBMIT_MAX_BATCH', async () => {
    const pipeline = uniquePipeline('enq');
    const calls = sinon.spy(fixture.redis, 'inorderSubmit');
    expect(await enqueue(fixture.redis, { pipeline }, messages(1, 4500), 1234)).to.equal(4500);
    const k = keysFor(pipeline, 0);
    const raws = await fixture.redis.lrange(k.input, 0, -1);
    expect(seqsOf(raws)).to.deep.equal(Array.from({ length: 4500 }, (_, i) => i + 1));
    expect(raws[0]).to.equal('{"seq":1,"payload":{"n":1},"createdAt":1234}');
    expect(calls.callCount).to.be.greaterThan(2);
    // 6 keys and 7 fixed arguments, then two per message.
    for (const call of calls.getCalls()) expect((call.args.length - 15) / 2).to.be.at.most(SUBMIT_MAX_BATCH);
    expect(await fixture.redis.hmget(k.meta, 'seqSource', 'accepted', 'next')).to.deep.equal(['given', '4500', '1']);
  });

  it('validates every message before writing anything', async () => {
    const pipeline = uniquePipeline('enq');
    const p = partitionOf(pipeline);
    const before = await snapshot(fixture.redis, p);
    const batch = messages(1, 4000);
    batch[3999] = { seq: 0, payload: 'bad' };
    const error = await rejectionOf(enqueue(fixture.redis, { pipeline }, batch));
    expect(error).to.be.instanceOf(EnvelopeError);
    expect(error.message).to.match(/seq/);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('throws EnvelopeError for a priority on a strict pipeline or out of range, writing nothing', async () => {
    const strict = uniquePipeline('enq');
    await registerPipeline(fixture.redis, strict, { ordering: 'strict' });
    expect(
      String(await rejectionOf(enqueue(fixture.redis, { pipeline: strict }, [...messages(1, 3), { seq: 4, payload: 4, priority: 1 }]))),
    ).to.match(/EnvelopeError: seq 4: priority is only for unordered pipelines/);
    const none = uniquePipeline('enq');
    await registerPipeline(fixture.redis, none, { ordering: 'none' });
    const error = await rejectionOf(enqueue(fixture.redis, { pipeline: none }, [{ seq: 1, payload: 1, priority: 1001 }]));
    expect(error).to.be.instanceOf(EnvelopeError);
    expect(await fixture.redis.exists(keysFor(strict, 0).input, keysFor(none, 0).queue, keysFor(none, 0).meta)).to.equal(0);
  });

  it('queues by priority on an unordered pipeline, then by arrival', async () => {
    const pipeline = uniquePipeline('enq');
    await registerPipeline(fixture.redis, pipeline, { ordering: 'none' });
    await enqueue(fixture.redis, { pipeline }, [
      { seq: 1, payload: 1, priority: 5 },
      { seq: 2, payload: 2, priority: -3 },
      { seq: 3, payload: 3 },
    ]);
    await enqueue(fixture.redis, { pipeline }, [{ seq: 4, payload: 4, priority: -3 }]);
    const k = keysFor(pipeline, 0);
    expect(seqsOf(await fixture.redis.zrange(k.queue, 0, -1))).to.deep.equal([2, 4, 3, 1]);
  });

  it('throws SeqSourceError, writing nothing, on a partition whose seqs the ingest assigns', async () => {
    const pipeline = uniquePipeline('enq');
    const p = partitionOf(pipeline);
    await submit(fixture.redis, p.keys, [{ payload: 'a' }], { ordering: 'strict', dedupTtlMs: 0 });
    const before = await snapshot(fixture.redis, p);
    const error = await rejectionOf(enqueue(fixture.redis, { pipeline }, messages(1, 3)));
    expect(error).to.be.instanceOf(SeqSourceError);
    expect(error.message).to.match(/ingest assigns its seqs/);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('throws SeqTooFarAheadError, writing nothing, for a seq MAX_SEQ_AHEAD or more past the next seq', async () => {
    const pipeline = uniquePipeline('enq');
    const p = partitionOf(pipeline);
    const before = await snapshot(fixture.redis, p);
    const error = await rejectionOf(
      enqueue(fixture.redis, { pipeline }, [...messages(1, 2), { seq: 9_007_199_254_740_991, payload: 'bug' }]),
    );
    expect(error).to.be.instanceOf(SeqTooFarAheadError);
    expect(error).to.include({ seq: 9_007_199_254_740_991, next: 1, maxAhead: 10_000_000 });
    expect(error.message).to.match(/seq 9007199254740991 is 10000000 or more ahead of the next seq 1/);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('writes no chunk when a later chunk holds a seq too far ahead', async () => {
    const pipeline = uniquePipeline('enq');
    const p = partitionOf(pipeline);
    const before = await snapshot(fixture.redis, p);
    const batch = [...messages(1, 2500), { seq: 20_000, payload: 'far' }];
    expect(await rejectionOf(enqueue(fixture.redis, { pipeline }, batch, { maxSeqAhead: 10_000 }))).to.be.instanceOf(SeqTooFarAheadError);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('takes any seq with maxSeqAhead 0', async () => {
    const pipeline = uniquePipeline('enq');
    expect(await enqueue(fixture.redis, { pipeline }, [{ seq: 9_007_199_254_740_991, payload: 1 }], { maxSeqAhead: 0 })).to.equal(1);
  });

  it("sets the first seq of a new partition from the target's seqStart", async () => {
    const pipeline = uniquePipeline('enq');
    await enqueue(fixture.redis, { pipeline, seqStart: 100 }, messages(100, 2));
    expect(await fixture.redis.hget(keysFor(pipeline, 0).meta, 'next')).to.equal('100');
  });

  it('refuses a partition written by another data layout', async () => {
    const pipeline = uniquePipeline('enq');
    await fixture.redis.hset(keysFor(pipeline, 0).meta, 'layout', '99');
    expect(await rejectionOf(enqueue(fixture.redis, { pipeline }, messages(1, 1)))).to.be.instanceOf(LayoutError);
    expect(await fixture.redis.llen(keysFor(pipeline, 0).input)).to.equal(0);
  });

  it('writes nothing and answers 0 for no messages', async () => {
    const pipeline = uniquePipeline('enq');
    expect(await enqueue(fixture.redis, { pipeline }, [])).to.equal(0);
    expect(await fixture.redis.exists(keysFor(pipeline, 0).meta)).to.equal(0);
  });
});
