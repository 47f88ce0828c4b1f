import { expect } from 'chai';
import type { Partition } from '@inorder/shared';
import { envelopeRaw, freshPartition, snapshot, useRedis } from '../support/lua.js';

const NOW = 1_000_000;
const LEASE = 5000;

describe('complete.lua', function () {
  const fixture = useRedis();

  /** Puts seqs on the input and claims them under `token`. */
  async function claimed(p: Partition, token: string, ...seqs: number[]): Promise<void> {
    await fixture.redis.rpush(p.keys.input, ...seqs.map((s) => envelopeRaw(s)));
    const result = await p.claim(seqs.length, token, NOW, LEASE, 0);
    expect(result.claimed.map((c) => c.seq)).to.deep.equal(seqs);
  }

  const body = (seq: number): string => JSON.stringify({ seq, result: `r${seq}` });

  /** The results stream's entries, each as its flat field list (seq, body, seq, body, ...). */
  async function stream(p: Partition): Promise<string[][]> {
    return (await fixture.redis.xrange(p.keys.results, '-', '+')).map(([, f]) => f);
  }

  describe('ordered', () => {
    it('appends the call\'s results as one stream entry, in call order, and marks the seqs done', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1, 2, 3);
      const ok = await p.complete([3, 1, 2].map((seq) => ({ seq, token: 't:1', body: body(seq) })), ['t:1']);
      expect(ok).to.deep.equal([true, true, true]);
      expect(await stream(p)).to.deep.equal([[3, 1, 2].flatMap((seq) => [String(seq), body(seq)])]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 1: 'D', 2: 'D', 3: 'D' });
      expect(await fixture.redis.exists(p.keys.leases, p.keys.batches, p.keys.output)).to.equal(0);
    });

    it('completes a seq given twice in one call once', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1);
      const ok = await p.complete([1, 1].map((seq) => ({ seq, token: 't:1', body: body(seq) })), ['t:1']);
      expect(ok).to.deep.equal([true, false]);
      expect(await stream(p)).to.have.length(1);
      expect(await fixture.redis.hget(p.keys.state, '1')).to.equal('D');
    });

    it('keeps the lease and batch of a claim whose token is not given as finished', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1, 2);
      expect(await p.complete([{ seq: 1, token: 't:1', body: body(1) }], [])).to.deep.equal([true]);
      expect(await fixture.redis.zscore(p.keys.leases, 't:1')).to.equal(String(NOW + LEASE));
      expect(await fixture.redis.hget(p.keys.batches, 't:1')).to.equal('1,2');
      expect(await fixture.redis.hget(p.keys.state, '2')).to.match(/^C\|t:1\|1\|/);
    });

    it('removes finished tokens even in a call with no results', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1);
      await claimed(p, 't:2', 2);
      expect(await p.complete([], ['t:1'])).to.deep.equal([]);
      expect(await fixture.redis.zrange(p.keys.leases, 0, -1)).to.deep.equal(['t:2']);
      expect(await fixture.redis.hkeys(p.keys.batches)).to.deep.equal(['t:2']);
    });

    it('refuses a stale claim token: another owner\'s claim is left alone', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:2', 1);
      const before = await snapshot(fixture.redis, p);
      expect(await p.complete([{ seq: 1, token: 't:1', body: body(1) }], [])).to.deep.equal([false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('refuses a token that is a prefix of the owner\'s token', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:11', 1);
      expect(await p.complete([{ seq: 1, token: 't:1', body: body(1) }], [])).to.deep.equal([false]);
      expect(await fixture.redis.exists(p.keys.results)).to.equal(0);
    });

    it('refuses a seq that was reaped (Q), waits for a retry (R) or is not known', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '1', 'Q|1', '2', `R|1|${envelopeRaw(2)}`);
      const before = await snapshot(fixture.redis, p);
      const ok = await p.complete([1, 2, 3].map((seq) => ({ seq, token: 't:1', body: body(seq) })), []);
      expect(ok).to.deep.equal([false, false, false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('answers per item: settles the ones still ours and refuses the rest', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1, 2);
      await fixture.redis.hset(p.keys.state, '2', 'Q|1');
      const ok = await p.complete([1, 2].map((seq) => ({ seq, token: 't:1', body: body(seq) })), ['t:1']);
      expect(ok).to.deep.equal([true, false]);
      expect(await stream(p)).to.deep.equal([['1', body(1)]]);
    });

    it('changes nothing when replayed', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1, 2);
      const items = [1, 2].map((seq) => ({ seq, token: 't:1', body: body(seq) }));
      expect(await p.complete(items, ['t:1'])).to.deep.equal([true, true]);
      const after = await snapshot(fixture.redis, p);
      expect(await p.complete(items, ['t:1'])).to.deep.equal([false, false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
    });
  });

  describe('unordered', () => {
    /** An unordered pipeline's claim, written directly: its input is not the list. */
    async function held(p: Partition, token: string, ...seqs: number[]): Promise<void> {
      for (const seq of seqs) await fixture.redis.hset(p.keys.state, String(seq), `C|${token}|1|${envelopeRaw(seq)}`);
      await fixture.redis.zadd(p.keys.leases, NOW + LEASE, token);
      await fixture.redis.hset(p.keys.batches, token, seqs.join(','));
    }

    it('appends the body to the output list and forgets the seq, with no results stream', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await held(p, 't:1', 1, 2);
      const ok = await p.complete([2, 1].map((seq) => ({ seq, token: 't:1', body: body(seq) })), ['t:1']);
      expect(ok).to.deep.equal([true, true]);
      expect(await fixture.redis.lrange(p.keys.output, 0, -1)).to.deep.equal([body(2), body(1)]);
      expect(await fixture.redis.exists(p.keys.state, p.keys.results, p.keys.leases, p.keys.batches)).to.equal(0);
    });

    it('refuses a stale claim token and changes nothing when replayed', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await held(p, 't:1', 1);
      expect(await p.complete([{ seq: 1, token: 't:0', body: body(1) }], [])).to.deep.equal([false]);
      expect(await fixture.redis.exists(p.keys.output)).to.equal(0);
      const items = [{ seq: 1, token: 't:1', body: body(1) }];
      expect(await p.complete(items, ['t:1'])).to.deep.equal([true]);
      const after = await snapshot(fixture.redis, p);
      expect(await p.complete(items, ['t:1'])).to.deep.equal([false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
    });
  });
});
