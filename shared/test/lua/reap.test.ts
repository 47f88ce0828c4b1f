import { expect } from 'chai';
import { PRIORITY_SHIFT, type Partition } from '@inorder/shared';
import { envelopeRaw, freshPartition, snapshot, useRedis } from '../support/lua.js';

const NOW = 1_000_000;
const LEASE = 5000;

describe('reap.lua', function () {
  const fixture = useRedis();

  async function claimed(p: Partition, token: string, seqs: number[], now = NOW): Promise<void> {
    await fixture.redis.rpush(p.keys.input, ...seqs.map((s) => envelopeRaw(s)));
    const result = await p.claim(seqs.length, token, now, LEASE, 0);
    expect(result.claimed.map((c) => c.seq)).to.deep.equal(seqs);
  }

  async function input(p: Partition): Promise<string[]> {
    return fixture.redis.lrange(p.keys.input, 0, -1);
  }

  describe('reap', () => {
    it('returns an expired claim to the head of the input, ahead of waiting entries, counting the attempt', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', [1, 2, 3]);
      await fixture.redis.rpush(p.keys.input, envelopeRaw(4));
      const result = await p.reap(NOW + LEASE + 1, 100);
      expect(result).to.deep.equal({ tokens: ['t:1'], seqs: 3 });
      const entries = await input(p);
      expect(entries.slice(0, 3)).to.have.members([1, 2, 3].map((s) => envelopeRaw(s)));
      expect(entries.slice(3)).to.deep.equal([envelopeRaw(4)]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 1: 'Q|1', 2: 'Q|1', 3: 'Q|1' });
      expect(await fixture.redis.exists(p.keys.leases, p.keys.batches)).to.equal(0);
      const again = await p.claim(10, 't:2', NOW + LEASE + 2, LEASE, 0);
      const attempts = new Map(again.claimed.map((c) => [c.seq, c.attempts]));
      expect([...attempts].sort((a, b) => a[0] - b[0])).to.deep.equal([[1, 2], [2, 2], [3, 2], [4, 1]]);
    });

    it('returns every expired claim at once, with the raw envelopes unchanged', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', [1, 2], NOW);
      await claimed(p, 't:2', [3, 4], NOW + 10);
      const result = await p.reap(NOW + LEASE + 11, 100);
      expect(result).to.deep.equal({ tokens: ['t:1', 't:2'], seqs: 4 });
      expect(await input(p)).to.have.members([1, 2, 3, 4].map((s) => envelopeRaw(s)));
    });

    it('leaves a lease whose deadline is not before now', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', [1]);
      const before = await snapshot(fixture.redis, p);
      expect(await p.reap(NOW + LEASE, 100)).to.deep.equal({ tokens: [], seqs: 0 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
      expect((await p.reap(NOW + LEASE + 1, 100)).tokens).to.deep.equal(['t:1']);
    });

    it('reaps at most limit claims, earliest deadline first', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:c', [3], NOW + 2);
      await claimed(p, 't:a', [1], NOW);
      await claimed(p, 't:b', [2], NOW + 1);
      expect(await p.reap(NOW + LEASE + 100, 2)).to.deep.equal({ tokens: ['t:a', 't:b'], seqs: 2 });
      expect(await fixture.redis.zrange(p.keys.leases, 0, -1)).to.deep.equal(['t:c']);
      expect(await fixture.redis.hget(p.keys.state, '3')).to.match(/^C\|t:c\|1\|/);
    });

    it('leaves seqs of the claim that were settled or claimed by another token since', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', [1, 2, 3, 4]);
      await p.complete([{ seq: 1, token: 't:1', body: '{"seq":1}' }], []);
      await p.fail([{ seq: 2, token: 't:1', action: 'retry', dueAt: NOW, body: envelopeRaw(2) }], []);
      await fixture.redis.hset(p.keys.state, '3', `C|t:9|2|${envelopeRaw(3)}`);
      const result = await p.reap(NOW + LEASE + 1, 100);
      expect(result).to.deep.equal({ tokens: ['t:1'], seqs: 1 });
      expect(await input(p)).to.deep.equal([envelopeRaw(4)]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({
        1: 'D',
        2: `R|1|${envelopeRaw(2)}`,
        3: `C|t:9|2|${envelopeRaw(3)}`,
        4: 'Q|1',
      });
    });

    it('changes nothing when run again', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', [1, 2]);
      await p.reap(NOW + LEASE + 1, 100);
      const after = await snapshot(fixture.redis, p);
      expect(await p.reap(NOW + LEASE + 1, 100)).to.deep.equal({ tokens: [], seqs: 0 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
    });
  });

  describe('release', () => {
    it('returns the given claims to the head of the input without counting the attempt', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '3', 'Q|1');
      await claimed(p, 't:1', [1, 2, 3]);
      await claimed(p, 't:2', [4]);
      await fixture.redis.rpush(p.keys.input, envelopeRaw(5));
      expect(await p.release(['t:1'])).to.equal(3);
      const entries = await input(p);
      expect(entries.slice(0, 3)).to.have.members([1, 2, 3].map((s) => envelopeRaw(s)));
      expect(entries.slice(3)).to.deep.equal([envelopeRaw(5)]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.include({ 1: 'Q|0', 2: 'Q|0', 3: 'Q|1' });
      expect(await fixture.redis.zrange(p.keys.leases, 0, -1)).to.deep.equal(['t:2']);
      expect(await fixture.redis.hkeys(p.keys.batches)).to.deep.equal(['t:2']);
      const again = await p.claim(3, 't:3', NOW, LEASE, 0);
      const attempts = new Map(again.claimed.map((c) => [c.seq, c.attempts]));
      expect([...attempts].sort((a, b) => a[0] - b[0])).to.deep.equal([[1, 1], [2, 1], [3, 2]]);
    });

    it('releases a claim whose lease has not expired yet', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', [1]);
      expect(await p.release(['t:1'])).to.equal(1);
      expect(await input(p)).to.deep.equal([envelopeRaw(1)]);
      expect(await fixture.redis.exists(p.keys.leases, p.keys.batches)).to.equal(0);
    });

    it('writes nothing for a token that holds no claim', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', [1]);
      const before = await snapshot(fixture.redis, p);
      expect(await p.release(['t:unknown'])).to.equal(0);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });
  });

  describe('queue mode (unordered pipelines)', () => {
    /** Claims `raws` from an unordered partition's queue under `token`. */
    async function claimedFromQueue(p: Partition, token: string, raws: string[]): Promise<void> {
      await fixture.redis.zadd(p.keys.queue, ...raws.flatMap((raw, i) => [i + 1, raw]));
      const result = await p.claim(raws.length, token, NOW, LEASE, 0);
      expect(result.claimed).to.have.length(raws.length);
    }

    it('returns reaped claims to the head of their priority class and sets the signal', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      const urgent = envelopeRaw(1, { priority: -5 });
      const plain = envelopeRaw(2);
      await claimedFromQueue(p, 't:1', [urgent, plain]);
      expect(await fixture.redis.exists(p.keys.queue, p.keys.signal)).to.equal(0);
      await fixture.redis.zadd(p.keys.queue, 0 * PRIORITY_SHIFT + 7, envelopeRaw(3));
      expect(await p.reap(NOW + LEASE + 1, 100)).to.deep.equal({ tokens: ['t:1'], seqs: 2 });
      expect(await fixture.redis.zrange(p.keys.queue, 0, -1, 'WITHSCORES')).to.deep.equal([
        urgent, String(-5 * PRIORITY_SHIFT), plain, '0', envelopeRaw(3), '7',
      ]);
      expect(await fixture.redis.lrange(p.keys.signal, 0, -1)).to.deep.equal(['1']);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 1: 'Q|1', 2: 'Q|1' });
      expect(await fixture.redis.exists(p.keys.input, p.keys.leases, p.keys.batches)).to.equal(0);
    });

    it('releases to the queue without counting the attempt, and keeps one signal entry', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await claimedFromQueue(p, 't:1', [envelopeRaw(1)]);
      await fixture.redis.zadd(p.keys.queue, 9, envelopeRaw(2));
      await fixture.redis.rpush(p.keys.signal, '1');
      expect(await p.release(['t:1'])).to.equal(1);
      expect(await fixture.redis.zrange(p.keys.queue, 0, -1)).to.deep.equal([envelopeRaw(1), envelopeRaw(2)]);
      expect(await fixture.redis.llen(p.keys.signal)).to.equal(1);
      expect(await fixture.redis.hget(p.keys.state, '1')).to.equal('Q|0');
    });
  });
});
