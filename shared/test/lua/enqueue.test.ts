import { expect } from 'chai';
import { SeqSourceError, submit } from '@inorder/shared';
import { envelopeRaw, freshPartition, snapshot, useRedis } from '../support/lua.js';

describe('enqueue.lua', function () {
  const fixture = useRedis();

  it('strict: appends the envelopes to the input in the order given and records the seq source', async () => {
    const p = freshPartition(fixture.redis);
    expect(await p.enqueue([3, 1, 2].map((seq) => ({ raw: envelopeRaw(seq) })))).to.equal(3);
    expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([3, 1, 2].map((seq) => envelopeRaw(seq)));
    expect(await fixture.redis.hget(p.keys.meta, 'seqSource')).to.equal('given');
    expect(await fixture.redis.exists(p.keys.queue, p.keys.signal)).to.equal(0);
  });

  it('unordered: scores by priority, then arrival, and raises the signal once', async () => {
    const p = freshPartition(fixture.redis, { ordering: 'none' });
    await p.enqueue([
      { raw: envelopeRaw(1), priority: 5 },
      { raw: envelopeRaw(2), priority: -3 },
      { raw: envelopeRaw(3), priority: 5 },
    ]);
    await p.enqueue([{ raw: envelopeRaw(4), priority: -3 }]);
    expect(await fixture.redis.zrange(p.keys.queue, 0, -1)).to.deep.equal([2, 4, 1, 3].map((seq) => envelopeRaw(seq)));
    expect(await fixture.redis.lrange(p.keys.signal, 0, -1)).to.deep.equal(['1']);
    expect(await fixture.redis.llen(p.keys.input)).to.equal(0);
  });

  it('writes nothing for an empty call', async () => {
    const p = freshPartition(fixture.redis);
    const before = await snapshot(fixture.redis, p);
    expect(await p.enqueue([])).to.equal(0);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('refuses, writing nothing, a partition whose seqs the ingest assigns', async () => {
    const p = freshPartition(fixture.redis);
    const assigned = await submit(fixture.redis, p.keys, [{ payload: 'a' }], { ordering: 'strict', dedupTtlMs: 0 });
    expect(assigned).to.deep.include({ kind: 'submitted', seqs: [1] });
    const before = await snapshot(fixture.redis, p);
    let error: unknown;
    try {
      await p.enqueue([{ raw: envelopeRaw(1) }]);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(SeqSourceError);
    expect((error as Error).message).to.match(/ingest assigns its seqs/);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('makes the ingest refuse unnumbered submits once producers numbered their own', async () => {
    const p = freshPartition(fixture.redis);
    await p.enqueue([{ raw: envelopeRaw(1) }]);
    const result = await submit(fixture.redis, p.keys, [{ payload: 'b' }], { ordering: 'strict', dedupTtlMs: 0 });
    expect(result).to.deep.equal({ kind: 'seq-source-conflict', source: 'given' });
    expect(await fixture.redis.llen(p.keys.input)).to.equal(1);
  });
});
