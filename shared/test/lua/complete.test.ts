import { expect } from 'chai';
import { wakeChannels, type CompleteItem, type Partition } from '@inorder/shared';
import { claimed, envelopeRaw, fields, freshPartition, snapshot, useListener } from '../support/lua.js';
import { useRedis } from '@inorder/testkit';

describe('complete.lua', function () {
  const fixture = useRedis();

  const body = (seq: number): string => JSON.stringify({ seq, payload: { n: seq }, result: `r${seq}`, attempts: 1 });
  const items = (token: string, ...seqs: number[]): CompleteItem[] =>
    seqs.map((seq) => ({ seq, token, body: body(seq), createdAt: 1, processedAt: 2 }));

  /** The results stream's entries, each as its fields. */
  async function stream(p: Partition): Promise<Array<Record<string, string>>> {
    return (await fixture.redis.xrange(p.keys.results, '-', '+')).map(([, f]) => fields(f));
  }

  describe('strict pipelines', () => {
    const listener = useListener(fixture, wakeChannels().results);

    it('marks each seq done with its output (without its closing brace) and names them in ONE results stream entry', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2, 3]);
      expect(await p.complete(items('t:1', 3, 1, 2))).to.deep.equal([true, true, true]);
      expect(await stream(p)).to.deep.equal([{ s: '3,1,2', c: '1,1,1', p: '2,2,2' }]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({
        1: body(1).slice(0, -1),
        2: body(2).slice(0, -1),
        3: body(3).slice(0, -1),
      });
      expect(await fixture.redis.exists(p.keys.claims, p.keys.output)).to.equal(0);
    });

    it("counts the claim's remaining seqs down and removes the claim when the last one settles", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2, 3]);
      await p.complete(items('t:1', 2));
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 't:1': '2|1,2,3' });
      expect(await fixture.redis.hget(p.keys.state, '1')).to.match(/^C\|t:1\|1\|/);
      await p.complete(items('t:1', 1, 3));
      expect(await fixture.redis.exists(p.keys.claims)).to.equal(0);
      expect(await stream(p)).to.deep.equal([
        { s: '2', c: '1', p: '2' },
        { s: '1,3', c: '1,1', p: '2,2' },
      ]);
    });

    it('settles each claim of a call by its own count', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2]);
      await claimed(fixture.redis, p, 't:2', [3]);
      expect(await p.complete([...items('t:2', 3), ...items('t:1', 1)])).to.deep.equal([true, true]);
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 't:1': '1|1,2' });
      expect(await stream(p)).to.deep.equal([{ s: '3,1', c: '1,1', p: '2,2' }]);
    });

    it("publishes the partition's tag on the sequencers' wake channel", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2]);
      await listener.wakes.published();
      await p.complete(items('t:1', 1, 2));
      expect(await listener.wakes.published()).to.deep.equal([p.tag]);
    });

    it('refuses, per item, a stale token, a reaped (Q), retrying (R), done or unknown seq, and writes nothing for them', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'other:1', [1]);
      await fixture.redis.hset(p.keys.state, '2', 'Q|1', '3', `R|1|${envelopeRaw(3)}`, '4', body(4).slice(0, -1), '5', 'T');
      await listener.wakes.published();
      const before = await snapshot(fixture.redis, p);
      expect(await p.complete(items('t:1', 1, 2, 3, 4, 5, 6))).to.deep.equal([false, false, false, false, false, false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
      expect(await listener.wakes.published(), 'nothing settled, nobody woken').to.deep.equal([]);
    });

    it("refuses a token that is a prefix of the claim's token", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:11', [1]);
      const before = await snapshot(fixture.redis, p);
      expect(await p.complete(items('t:1', 1))).to.deep.equal([false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('completes the items still ours and refuses the rest in one call', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:2', [1, 2, 3]);
      await fixture.redis.hset(p.keys.state, '2', 'Q|0'); // given back since
      expect(await p.complete([...items('t:2', 1), ...items('t:1', 3), ...items('t:2', 2, 3)])).to.deep.equal([true, false, false, true]);
      expect(await stream(p)).to.deep.equal([{ s: '1,3', c: '1,1', p: '2,2' }]);
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 't:2': '1|1,2,3' });
    });

    it('completes a seq given twice in one call once', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2]);
      expect(
        await p.complete([...items('t:1', 1), { seq: 1, token: 't:1', body: '{"seq":1,"second":true}', createdAt: 1, processedAt: 2 }]),
      ).to.deep.equal([true, false]);
      expect(await stream(p)).to.deep.equal([{ s: '1', c: '1', p: '2' }]);
      expect(await fixture.redis.hget(p.keys.state, '1')).to.equal(body(1).slice(0, -1));
      expect(await fixture.redis.hget(p.keys.claims, 't:1')).to.equal('1|1,2');
    });

    it('changes nothing when replayed', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2]);
      expect(await p.complete(items('t:1', 1, 2))).to.deep.equal([true, true]);
      const after = await snapshot(fixture.redis, p);
      await listener.wakes.published();
      expect(await p.complete(items('t:1', 1, 2))).to.deep.equal([false, false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
      expect(await listener.wakes.published()).to.deep.equal([]);
    });

    it('changes nothing when replayed after some of the claim settled (the claim is still open)', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2]);
      await p.complete(items('t:1', 1));
      const after = await snapshot(fixture.redis, p);
      expect(await p.complete(items('t:1', 1))).to.deep.equal([false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
    });

    it('writes nothing for an empty call', async () => {
      const p = freshPartition(fixture.redis);
      expect(await p.complete([])).to.deep.equal([]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal({});
    });

    it("dead-letters the copies held behind the completed claims as conflicts: the seq was their message's", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2]);
      const other = envelopeRaw(2, { payload: 'other' });
      await fixture.redis.hset(p.keys.held, '2', other, '7', envelopeRaw(7));
      await p.complete(items('t:1', 1, 2));
      const [record] = (await fixture.redis.lrange(p.keys.dead, 0, -1)).map((r) => JSON.parse(r) as Record<string, unknown>);
      expect(record).to.include({ reason: 'conflict', readSeq: 2, raw: other });
      expect(String(record?.lastError)).to.match(/seq 2 belongs to another message/);
      expect(await fixture.redis.hgetall(p.keys.held), 'copies of other seqs wait on').to.deep.equal({ 7: envelopeRaw(7) });
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal('1');
    });
  });

  describe('unordered pipelines (ordering none)', () => {
    /** Claims `seqs` from an unordered partition's queue under `token`. */
    async function claimedFromQueue(p: Partition, token: string, ...seqs: number[]): Promise<void> {
      await fixture.redis.zadd(p.keys.queue, ...seqs.flatMap((seq, i) => [i, envelopeRaw(seq)]));
      const result = await p.claim({ count: seqs.length, token, owner: token.split(':')[0]!, leaseMs: 60_000, window: 0 });
      expect(result.claimed.map((c) => c.seq)).to.deep.equal(seqs);
    }

    it('appends the outputs to the output list in call order and forgets the seqs, with no results stream', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await claimedFromQueue(p, 't:1', 1, 2, 3);
      expect(await p.complete(items('t:1', 2, 1))).to.deep.equal([true, true]);
      expect(await fixture.redis.lrange(p.keys.output, 0, -1)).to.deep.equal([body(2), body(1)]);
      expect(await fixture.redis.hkeys(p.keys.state)).to.deep.equal(['3']);
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 't:1': '1|1,2,3' });
      expect(await fixture.redis.exists(p.keys.results)).to.equal(0);
    });

    it('refuses a stale token and changes nothing when replayed', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await claimedFromQueue(p, 't:1', 1);
      const before = await snapshot(fixture.redis, p);
      expect(await p.complete(items('t:0', 1))).to.deep.equal([false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
      expect(await p.complete(items('t:1', 1))).to.deep.equal([true]);
      const after = await snapshot(fixture.redis, p);
      expect(after[p.keys.state]).to.equal(undefined);
      expect(after[p.keys.claims]).to.equal(undefined);
      expect(await p.complete(items('t:1', 1))).to.deep.equal([false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
    });
  });
});
