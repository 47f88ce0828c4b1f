import { expect } from 'chai';
import { PRIORITY_SHIFT, type Partition } from '@inorder/shared';
import { envelopeRaw, freshPartition, snapshot, useRedis } from '../support/lua.js';

const NOW = 1_000_000;
const LEASE = 5000;

describe('claim.lua', function () {
  const fixture = useRedis();

  async function push(p: Partition, ...raws: string[]): Promise<void> {
    await fixture.redis.rpush(p.keys.input, ...raws);
  }

  async function deadLetters(p: Partition): Promise<Array<Record<string, unknown>>> {
    return (await fixture.redis.lrange(p.keys.dead, 0, -1)).map((r) => JSON.parse(r) as Record<string, unknown>);
  }

  describe('claiming', () => {
    it('claims from the head in order, records state, lease and batch, and leaves the rest', async () => {
      const p = freshPartition(fixture.redis);
      const raws = [1, 2, 3, 4, 5].map((s) => envelopeRaw(s));
      await push(p, ...raws);
      const result = await p.claim(3, 'p1:1', NOW, LEASE, 0);
      expect(result).to.deep.equal({
        claimed: [1, 2, 3].map((seq) => ({ seq, attempts: 1, raw: raws[seq - 1] })),
        dropped: [],
        blocked: false,
        replayed: false,
      });
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal(raws.slice(3));
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({
        1: `C|p1:1|1|${raws[0]}`,
        2: `C|p1:1|1|${raws[1]}`,
        3: `C|p1:1|1|${raws[2]}`,
      });
      expect(await fixture.redis.zrange(p.keys.leases, 0, -1, 'WITHSCORES')).to.deep.equal(['p1:1', String(NOW + LEASE)]);
      expect(await fixture.redis.hgetall(p.keys.batches)).to.deep.equal({ 'p1:1': '1,2,3' });
    });

    it('claims everything when asked for more than the input holds', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(1), envelopeRaw(2));
      const result = await p.claim(1000, 't:1', NOW, LEASE, 0);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1, 2]);
      expect(await fixture.redis.exists(p.keys.input)).to.equal(0);
    });

    it('writes nothing when the input is empty', async () => {
      const p = freshPartition(fixture.redis);
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result).to.deep.equal({ claimed: [], dropped: [], blocked: false, replayed: false });
      expect(await snapshot(fixture.redis, p)).to.deep.equal({});
    });

    it('reads a seq that is not the first field by decoding the JSON', async () => {
      const p = freshPartition(fixture.redis);
      const raw = JSON.stringify({ payload: 'x', createdAt: 1, seq: 7 });
      await push(p, raw);
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result.claimed).to.deep.equal([{ seq: 7, attempts: 1, raw }]);
    });

    it('claims the largest safe integer seq and keeps its digits exact', async () => {
      const p = freshPartition(fixture.redis);
      const raw = envelopeRaw(Number.MAX_SAFE_INTEGER);
      await push(p, raw);
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([Number.MAX_SAFE_INTEGER]);
      expect(await fixture.redis.hexists(p.keys.state, '9007199254740991')).to.equal(1);
      expect(await fixture.redis.hget(p.keys.batches, 't:1')).to.equal('9007199254740991');
    });

    it('re-claims a seq returned to the input (Q), counting the attempt', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '4', 'Q|2');
      await push(p, envelopeRaw(4));
      const result = await p.claim(10, 't:9', NOW, LEASE, 0);
      expect(result.claimed).to.deep.equal([{ seq: 4, attempts: 3, raw: envelopeRaw(4) }]);
      expect(await fixture.redis.hget(p.keys.state, '4')).to.equal(`C|t:9|3|${envelopeRaw(4)}`);
    });

    it('re-claims a seq released with no attempt counted (Q|0) as attempt 1', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '4', 'Q|0');
      await push(p, envelopeRaw(4));
      expect((await p.claim(10, 't:9', NOW, LEASE, 0)).claimed[0]?.attempts).to.equal(1);
    });
  });

  describe('dead letters', () => {
    it('dead-letters unreadable entries as malformed, raw text kept, and claims on past them', async () => {
      const p = freshPartition(fixture.redis);
      const bad = [
        'not json',
        '{"seq":0,"payload":1}',
        '{"seq":-3,"payload":1}',
        '{"seq":1.5,"payload":1}',
        '{"seq":"2","payload":1}',
        '{"payload":1}',
        '[1,2]',
        '12',
        '{"seq":9007199254740992,"payload":1}',
      ];
      await push(p, ...bad, envelopeRaw(1));
      const result = await p.claim(100, 't:1', NOW, LEASE, 0);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1]);
      expect(result.dropped).to.deep.equal(bad.map(() => ({ kind: 'malformed', seq: undefined, state: '' })));
      expect(await deadLetters(p)).to.deep.equal(bad.map((raw) => ({ reason: 'malformed', raw, deadAt: NOW })));
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal(String(bad.length));
      expect(await fixture.redis.hkeys(p.keys.state)).to.deep.equal(['1']);
      expect(await fixture.redis.hget(p.keys.batches, 't:1')).to.equal('1');
    });

    it('records no lease or batch when every entry was malformed', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, 'junk');
      await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(await fixture.redis.exists(p.keys.leases, p.keys.batches, p.keys.state)).to.equal(0);
    });

    it('dead-letters a seq below next that was skipped as a gap as late', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.meta, 'next', '10');
      await fixture.redis.zadd(p.keys.skipped, 500, '4');
      const raw = envelopeRaw(4);
      await push(p, raw);
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result.claimed).to.deep.equal([]);
      expect(result.dropped).to.deep.equal([{ kind: 'late', seq: 4, state: 'emitted' }]);
      expect(await deadLetters(p)).to.deep.equal([{ reason: 'late', seq: 4, raw, deadAt: NOW }]);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal('1');
      expect(await fixture.redis.exists(p.keys.input, p.keys.state, p.keys.leases)).to.equal(0);
    });
  });

  describe('duplicates', () => {
    it('drops a seq below next (already emitted) without a dead letter', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.meta, 'next', '10');
      await push(p, envelopeRaw(9), envelopeRaw(10));
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([10]);
      expect(result.dropped).to.deep.equal([{ kind: 'duplicate', seq: 9, state: 'emitted' }]);
      expect(await fixture.redis.exists(p.keys.dead)).to.equal(0);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal(null);
    });

    it('drops a seq that is claimed, waiting for a retry or done, leaving its state alone', async () => {
      const p = freshPartition(fixture.redis);
      const states = { 1: `C|other:1|1|${envelopeRaw(1)}`, 2: `R|2|${envelopeRaw(2)}`, 3: 'D' };
      await fixture.redis.hset(p.keys.state, states);
      await push(p, envelopeRaw(1), envelopeRaw(2), envelopeRaw(3));
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result.claimed).to.deep.equal([]);
      expect(result.dropped).to.deep.equal([
        { kind: 'duplicate', seq: 1, state: 'C' },
        { kind: 'duplicate', seq: 2, state: 'R' },
        { kind: 'duplicate', seq: 3, state: 'D' },
      ]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal(states);
      expect(await fixture.redis.exists(p.keys.input, p.keys.leases, p.keys.batches, p.keys.dead)).to.equal(0);
    });

    it('claims the first copy of a seq and drops the second in the same batch', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(3), envelopeRaw(3, { id: 'again' }));
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result.claimed).to.deep.equal([{ seq: 3, attempts: 1, raw: envelopeRaw(3) }]);
      expect(result.dropped).to.deep.equal([{ kind: 'duplicate', seq: 3, state: 'C' }]);
      expect(await fixture.redis.hget(p.keys.batches, 't:1')).to.equal('3');
    });
  });

  describe('back-pressure', () => {
    it('stops at the first seq a window or more ahead of next and pushes it back with everything after it, in order', async () => {
      const p = freshPartition(fixture.redis);
      const raws = [1, 2, 5, 3, 4].map((s) => envelopeRaw(s));
      await push(p, ...raws, envelopeRaw(6));
      const result = await p.claim(5, 't:1', NOW, LEASE, 4);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1, 2]);
      expect(result.blocked).to.equal(true);
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([...raws.slice(2), envelopeRaw(6)]);
      expect(await fixture.redis.hkeys(p.keys.state)).to.deep.equal(['1', '2']);
      expect(await fixture.redis.hget(p.keys.batches, 't:1')).to.equal('1,2');
    });

    it('measures the window from the stored next', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.meta, 'next', '100');
      await push(p, envelopeRaw(109), envelopeRaw(110));
      const result = await p.claim(10, 't:1', NOW, LEASE, 10);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([109]);
      expect(result.blocked).to.equal(true);
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([envelopeRaw(110)]);
    });

    it('writes nothing but the pushed-back input when the head is already past the window', async () => {
      const p = freshPartition(fixture.redis);
      const raws = [3, 1, 2].map((s) => envelopeRaw(s));
      await push(p, ...raws);
      const before = await snapshot(fixture.redis, p);
      const result = await p.claim(10, 't:1', NOW, LEASE, 2);
      expect(result).to.deep.equal({ claimed: [], dropped: [], blocked: true, replayed: false });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('claims any seq when the window is 0 (no limit)', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(1_000_000));
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1_000_000]);
      expect(result.blocked).to.equal(false);
    });
  });

  describe('token reuse', () => {
    it('claims nothing for a token already used (a resent call) and reports it replayed', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(1), envelopeRaw(2));
      await p.claim(1, 't:1', NOW, LEASE, 0);
      const before = await snapshot(fixture.redis, p);
      const result = await p.claim(10, 't:1', NOW + 1, LEASE, 0);
      expect(result).to.deep.equal({ claimed: [], dropped: [], blocked: false, replayed: true });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });
  });

  describe('queue mode (unordered pipelines)', () => {
    async function queued(p: Partition, entries: Array<[score: number, raw: string]>): Promise<void> {
      await fixture.redis.zadd(p.keys.queue, ...entries.flat());
      await fixture.redis.rpush(p.keys.signal, '1');
    }

    it('claims the lowest scores first and keeps the signal while the queue holds entries', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await queued(p, [[5 * PRIORITY_SHIFT + 1, envelopeRaw(1)], [-2 * PRIORITY_SHIFT + 2, envelopeRaw(2)], [5 * PRIORITY_SHIFT + 3, envelopeRaw(3)]]);
      const first = await p.claim(2, 't:1', NOW, LEASE, 0);
      expect(first.claimed.map((c) => c.seq)).to.deep.equal([2, 1]);
      expect(await fixture.redis.llen(p.keys.signal)).to.equal(1);
      expect(await fixture.redis.hget(p.keys.batches, 't:1')).to.equal('2,1');
      expect(await fixture.redis.exists(p.keys.input)).to.equal(0);
    });

    it('removes the signal when a claim empties the queue', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await queued(p, [[1, envelopeRaw(1)]]);
      expect((await p.claim(10, 't:1', NOW, LEASE, 0)).claimed.map((c) => c.seq)).to.deep.equal([1]);
      expect(await fixture.redis.exists(p.keys.queue, p.keys.signal)).to.equal(0);
    });

    it('applies no window: any seq is claimed whatever next is', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await queued(p, [[1, envelopeRaw(1_000)], [2, envelopeRaw(1)]]);
      const result = await p.claim(10, 't:1', NOW, LEASE, 1);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1_000, 1]);
      expect(result.blocked).to.equal(false);
    });

    it('dead-letters malformed entries and drops duplicates as in list mode', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await fixture.redis.hset(p.keys.state, '2', `C|other:1|1|${envelopeRaw(2)}`);
      await queued(p, [[1, 'junk'], [2, envelopeRaw(2)], [3, envelopeRaw(3)]]);
      const result = await p.claim(10, 't:1', NOW, LEASE, 0);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([3]);
      expect(result.dropped).to.deep.equal([
        { kind: 'malformed', seq: undefined, state: '' },
        { kind: 'duplicate', seq: 2, state: 'C' },
      ]);
      expect(await fixture.redis.lrange(p.keys.dead, 0, -1)).to.have.length(1);
    });

    it('writes nothing when the queue is empty', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      expect(await p.claim(10, 't:1', NOW, LEASE, 0)).to.deep.equal({ claimed: [], dropped: [], blocked: false, replayed: false });
      expect(await snapshot(fixture.redis, p)).to.deep.equal({});
    });
  });
});
