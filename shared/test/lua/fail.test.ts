import { expect } from 'chai';
import type { Partition } from '@inorder/shared';
import { envelopeRaw, freshPartition, snapshot, useRedis } from '../support/lua.js';

const NOW = 1_000_000;
const LEASE = 5000;

describe('fail.lua', function () {
  const fixture = useRedis();

  async function claimed(p: Partition, token: string, ...seqs: number[]): Promise<void> {
    await fixture.redis.rpush(p.keys.input, ...seqs.map((s) => envelopeRaw(s)));
    const result = await p.claim(seqs.length, token, NOW, LEASE, 0);
    expect(result.claimed.map((c) => c.seq)).to.deep.equal(seqs);
  }

  const retryBody = (seq: number): string => envelopeRaw(seq, { attempts: 1, lastError: 'boom' });
  const deadBody = (seq: number): string => JSON.stringify({ seq, reason: 'max-retries', deadAt: NOW });

  describe('retry', () => {
    it('keeps the attempt count, stores the next attempt\'s envelope and schedules it', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1);
      const ok = await p.fail([{ seq: 1, token: 't:1', action: 'retry', dueAt: NOW + 200, body: retryBody(1) }], ['t:1']);
      expect(ok).to.deep.equal([true]);
      expect(await fixture.redis.hget(p.keys.state, '1')).to.equal(`R|1|${retryBody(1)}`);
      expect(await fixture.redis.zrange(p.keys.delayed, 0, -1, 'WITHSCORES')).to.deep.equal(['1', String(NOW + 200)]);
      expect(await fixture.redis.exists(p.keys.results, p.keys.dead, p.keys.leases, p.keys.batches)).to.equal(0);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal(null);
    });

    it('carries a re-claimed seq\'s attempts over (Q|2 claimed -> 3 -> R|3)', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '5', 'Q|2');
      await claimed(p, 't:1', 5);
      await p.fail([{ seq: 5, token: 't:1', action: 'retry', dueAt: NOW, body: retryBody(5) }], []);
      expect(await fixture.redis.hget(p.keys.state, '5')).to.equal(`R|3|${retryBody(5)}`);
    });
  });

  describe('dead letter', () => {
    it('ordered: appends the record, counts it, leaves a tombstone and marks the seq done', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1, 2);
      const ok = await p.fail([{ seq: 2, token: 't:1', action: 'dead', body: deadBody(2) }], []);
      expect(ok).to.deep.equal([true]);
      expect(await fixture.redis.lrange(p.keys.dead, 0, -1)).to.deep.equal([deadBody(2)]);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal('1');
      const entries = await fixture.redis.xrange(p.keys.results, '-', '+');
      expect(entries.map(([, f]) => f)).to.deep.equal([['2', 't']]);
      expect(await fixture.redis.hget(p.keys.state, '2')).to.equal('D');
      expect(await fixture.redis.exists(p.keys.delayed)).to.equal(0);
    });

    it('unordered: appends the record, counts it and forgets the seq, with no tombstone', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await fixture.redis.hset(p.keys.state, '1', `C|t:1|1|${envelopeRaw(1)}`);
      await fixture.redis.zadd(p.keys.leases, NOW + LEASE, 't:1');
      await fixture.redis.hset(p.keys.batches, 't:1', '1');
      const ok = await p.fail([{ seq: 1, token: 't:1', action: 'dead', body: deadBody(1) }], ['t:1']);
      expect(ok).to.deep.equal([true]);
      expect(await fixture.redis.lrange(p.keys.dead, 0, -1)).to.deep.equal([deadBody(1)]);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal('1');
      expect(await fixture.redis.exists(p.keys.state, p.keys.results, p.keys.delayed, p.keys.leases, p.keys.batches)).to.equal(0);
    });
  });

  describe('stale claims and replays', () => {
    it('refuses a stale claim token and writes nothing', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:2', 1, 2);
      const before = await snapshot(fixture.redis, p);
      const ok = await p.fail([
        { seq: 1, token: 't:1', action: 'retry', dueAt: NOW, body: retryBody(1) },
        { seq: 2, token: 't:1', action: 'dead', body: deadBody(2) },
      ], []);
      expect(ok).to.deep.equal([false, false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('refuses a seq that was reaped, is done or is not known', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '1', 'Q|1', '2', 'D');
      const before = await snapshot(fixture.redis, p);
      const ok = await p.fail([1, 2, 3].map((seq) => ({ seq, token: 't:1', action: 'dead' as const, body: deadBody(seq) })), []);
      expect(ok).to.deep.equal([false, false, false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('answers per item and removes finished tokens', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1, 2, 3);
      await claimed(p, 't:2', 4);
      await fixture.redis.hset(p.keys.state, '2', 'Q|1');
      const ok = await p.fail([
        { seq: 1, token: 't:1', action: 'retry', dueAt: NOW + 5, body: retryBody(1) },
        { seq: 2, token: 't:1', action: 'retry', dueAt: NOW + 5, body: retryBody(2) },
        { seq: 3, token: 't:1', action: 'dead', body: deadBody(3) },
      ], ['t:1']);
      expect(ok).to.deep.equal([true, false, true]);
      expect(await fixture.redis.zrange(p.keys.delayed, 0, -1)).to.deep.equal(['1']);
      expect(await fixture.redis.zrange(p.keys.leases, 0, -1)).to.deep.equal(['t:2']);
      expect(await fixture.redis.hkeys(p.keys.batches)).to.deep.equal(['t:2']);
    });

    it('changes nothing when replayed', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(p, 't:1', 1, 2);
      const items = [
        { seq: 1, token: 't:1', action: 'retry' as const, dueAt: NOW + 5, body: retryBody(1) },
        { seq: 2, token: 't:1', action: 'dead' as const, body: deadBody(2) },
      ];
      expect(await p.fail(items, ['t:1'])).to.deep.equal([true, true]);
      const after = await snapshot(fixture.redis, p);
      expect(await p.fail(items, ['t:1'])).to.deep.equal([false, false]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
    });
  });
});
