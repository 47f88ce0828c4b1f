import { expect } from 'chai';
import { LAYOUT, submit, type Partition, type SubmitMessage, type SubmitOptions, type SubmitResult } from '@inorder/shared';
import { freshPartition, snapshot } from '../support/lua.js';
import { waitFor, useRedis } from '@inorder/testkit';

describe('submit.lua', function () {
  const fixture = useRedis();
  const strict: SubmitOptions = { ordering: 'strict', dedupTtlMs: 0 };
  /** Submits `messages` to p's keys with the `strict` options, overridden by `options`. */
  const submitTo = (p: Partition, messages: readonly SubmitMessage[], options: Partial<SubmitOptions> = {}): Promise<SubmitResult> =>
    submit(fixture.redis, p.keys, messages, { ...strict, ...options });
  const seqsOf = (raws: string[]): number[] => raws.map((r) => (JSON.parse(r) as { seq: number }).seq);

  describe('given seqs', () => {
    it('appends the envelopes to the input in the order given, seq first, and records the seq source', async () => {
      const p = freshPartition(fixture.redis);
      const result = await submitTo(
        p,
        [3, 1, 2].map((seq) => ({ seq, payload: { n: seq } })),
        { now: 1000 },
      );
      expect(result).to.deep.include({ kind: 'submitted', seqs: [3, 1, 2], duplicates: [false, false, false] });
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal(
        [3, 1, 2].map((seq) => JSON.stringify({ seq, payload: { n: seq }, createdAt: 1000 })),
      );
      expect(await fixture.redis.hget(p.keys.meta, 'seqSource')).to.equal('given');
      expect(await fixture.redis.exists(p.keys.queue)).to.equal(0);
    });

    it('unordered: scores by priority, then arrival', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      const none: Partial<SubmitOptions> = { ordering: 'none' };
      await submitTo(
        p,
        [
          { seq: 1, payload: 1, priority: 5 },
          { seq: 2, payload: 2, priority: -3 },
          { seq: 3, payload: 3, priority: 5 },
        ],
        none,
      );
      await submitTo(p, [{ seq: 4, payload: 4, priority: -3 }], none);
      expect(seqsOf(await fixture.redis.zrange(p.keys.queue, 0, -1))).to.deep.equal([2, 4, 1, 3]);
      expect(await fixture.redis.llen(p.keys.input)).to.equal(0);
    });

    it('refuses, writing nothing, a partition whose seqs the ingest assigns, and the other way round', async () => {
      const p = freshPartition(fixture.redis);
      expect(await submitTo(p, [{ payload: 'a' }])).to.deep.include({ kind: 'submitted', seqs: [1] });
      const before = await snapshot(fixture.redis, p);
      expect(await submitTo(p, [{ seq: 1, payload: 'b' }])).to.deep.equal({
        kind: 'seq-source-conflict',
        source: 'assigned',
      });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);

      const q = freshPartition(fixture.redis);
      await submitTo(q, [{ seq: 1, payload: 'a' }]);
      expect(await submitTo(q, [{ payload: 'b' }])).to.deep.equal({
        kind: 'seq-source-conflict',
        source: 'given',
      });
      expect(await fixture.redis.llen(q.keys.input)).to.equal(1);
    });
  });

  describe('seqs far ahead (maxAhead)', () => {
    const far = (seq: number): SubmitMessage => ({ seq, payload: seq });

    it('refuses, writing nothing, a batch giving a seq at or past the start + maxAhead on a new partition', async () => {
      const p = freshPartition(fixture.redis);
      const before = await snapshot(fixture.redis, p);
      const result = await submitTo(p, [far(1), far(9_007_199_254_740_991), far(2)], { maxAhead: 1000 });
      expect(result).to.deep.equal({ kind: 'seq-too-far-ahead', seq: 9_007_199_254_740_991, next: 1, maxAhead: 1000 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
      // The start seq stands in for "next" while the partition has none; the limit is exclusive.
      expect(await submitTo(p, [far(1100)], { seqStart: 100, maxAhead: 1000 })).to.deep.equal({
        kind: 'seq-too-far-ahead',
        seq: 1100,
        next: 100,
        maxAhead: 1000,
      });
      expect(await submitTo(p, [far(1099)], { seqStart: 100, maxAhead: 1000 })).to.deep.include({
        kind: 'submitted',
      });
    });

    it("measures from the sequencer's next seq once there is one", async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.meta, 'layout', LAYOUT, 'next', '5000');
      expect(await submitTo(p, [far(5999)], { maxAhead: 1000 })).to.deep.include({
        kind: 'submitted',
        seqs: [5999],
      });
      expect(await submitTo(p, [far(6000)], { maxAhead: 1000 })).to.deep.equal({
        kind: 'seq-too-far-ahead',
        seq: 6000,
        next: 5000,
        maxAhead: 1000,
      });
    });

    it('takes any seq with maxAhead 0, and on unordered pipelines (they hold no order)', async () => {
      const p = freshPartition(fixture.redis);
      expect(await submitTo(p, [far(9_007_199_254_740_991)], { maxAhead: 0 })).to.deep.include({
        kind: 'submitted',
        seqs: [9_007_199_254_740_991],
      });
      const q = freshPartition(fixture.redis, { ordering: 'none' });
      expect(await submitTo(q, [far(50_000)], { ordering: 'none', maxAhead: 10 })).to.deep.include({
        kind: 'submitted',
        seqs: [50_000],
      });
    });
  });

  describe('high-water mark (meta "accepted")', () => {
    it('records the highest seq ever accepted, given or assigned, and never lowers it', async () => {
      const p = freshPartition(fixture.redis);
      await submitTo(p, [
        { seq: 5, payload: 5 },
        { seq: 3, payload: 3 },
      ]);
      expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('5');
      await submitTo(p, [{ seq: 2, payload: 2 }]);
      expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('5');
      await submitTo(p, [{ seq: 9_007_199_254_740_991, payload: 9 }]);
      expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('9007199254740991');

      const q = freshPartition(fixture.redis);
      await submitTo(q, [{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
      expect(await fixture.redis.hmget(q.keys.meta, 'assigned', 'accepted')).to.deep.equal(['3', '3']);
    });

    it('is not raised by duplicates, which enqueue nothing', async () => {
      const p = freshPartition(fixture.redis);
      const ids: Partial<SubmitOptions> = { dedupTtlMs: 60_000 };
      await submitTo(p, [{ seq: 4, payload: 4, id: 'x' }], ids);
      const again = await submitTo(p, [{ seq: 40, payload: 4, id: 'x' }], ids);
      expect(again).to.deep.include({ kind: 'submitted', seqs: [4], duplicates: [true] });
      expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('4');
    });
  });

  describe('after a Redis rollback (floor)', () => {
    it('raises "assigned" and "accepted" to the caller\'s floor before assigning, and reports what it found', async () => {
      const p = freshPartition(fixture.redis);
      await submitTo(
        p,
        [1, 2, 3, 4, 5].map((n) => ({ payload: n })),
      );
      // An older snapshot: two of the five acknowledged seqs are gone.
      await fixture.redis.hset(p.keys.meta, 'assigned', '3', 'accepted', '3');
      await fixture.redis.rpop(p.keys.input, 2);
      const result = await submitTo(p, [{ payload: 'after' }], { floor: 5 });
      expect(result).to.deep.include({ kind: 'submitted', seqs: [6], rollback: { stored: 3, floor: 5 } });
      expect(await fixture.redis.hmget(p.keys.meta, 'assigned', 'accepted')).to.deep.equal(['6', '6']);
    });

    it('raises a partition whose meta was lost altogether', async () => {
      const p = freshPartition(fixture.redis);
      await submitTo(p, [{ payload: 1 }, { payload: 2 }]);
      await fixture.redis.del(p.keys.meta, p.keys.input);
      const result = await submitTo(p, [{ payload: 3 }], { floor: 2 });
      expect(result).to.deep.include({ kind: 'submitted', seqs: [3], rollback: { stored: 0, floor: 2 } });
    });

    it('changes nothing when "assigned" is at or above the floor', async () => {
      const p = freshPartition(fixture.redis);
      await submitTo(p, [{ payload: 1 }, { payload: 2 }]);
      const result = await submitTo(p, [{ payload: 3 }], { floor: 2 });
      expect(result).to.deep.equal({ kind: 'submitted', seqs: [3], duplicates: [false] });
    });

    it('ignores the floor for given seqs', async () => {
      const p = freshPartition(fixture.redis);
      const result = await submitTo(p, [{ seq: 1, payload: 1 }], { floor: 50 });
      expect(result).to.deep.equal({ kind: 'submitted', seqs: [1], duplicates: [false] });
      expect(await fixture.redis.hexists(p.keys.meta, 'assigned')).to.equal(0);
    });
  });

  it('with ttl 0 leaves the ids others remember alone', async () => {
    const p = freshPartition(fixture.redis);
    await submitTo(p, [{ seq: 1, payload: 1, id: 'kept' }], { dedupTtlMs: 60_000 });
    const at = Date.now();
    await waitFor(() => Date.now() > at + 5, { timeoutMs: 1000 });
    await submitTo(p, [{ seq: 2, payload: 2 }], { dedupTtlMs: 0 });
    expect(await fixture.redis.hget(p.keys.dedupe, 'kept')).to.equal('1');
    const again = await submitTo(p, [{ seq: 3, payload: 1, id: 'kept' }], { dedupTtlMs: 60_000 });
    expect(again).to.deep.include({ seqs: [1], duplicates: [true] });
  });
});
