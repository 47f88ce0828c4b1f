import { expect } from 'chai';
import { PRIORITY_SHIFT, wakeChannels } from '@inorder/shared';
import {
  claimed,
  envelopeRaw,
  expectGivenBackToHeadOfClass,
  freshPartition,
  lapse,
  redisNow,
  snapshot,
  useListener,
} from '../support/lua.js';
import { waitFor, useRedis } from '@inorder/testkit';

const LEASE = 60_000;

describe('heartbeat.lua', function () {
  const fixture = useRedis();
  const listener = useListener(fixture, wakeChannels().input);

  describe('liveness', () => {
    it("renews the owner's liveness to Redis now + leaseMs and answers alive", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1], { leaseMs: 1000 });
      const before = await redisNow(fixture.redis);
      const beat = await p.heartbeat('p', LEASE, ['p:1']);
      const after = await redisNow(fixture.redis);
      expect(beat).to.deep.equal({ alive: true, gone: [], returned: 0, now: beat.now });
      expect(beat.now).to.be.within(before, after);
      expect(await fixture.redis.zrange(p.keys.owners, 0, -1, 'WITHSCORES')).to.deep.equal(['p', String(beat.now + LEASE)]);
    });

    it('renews an owner whose deadline passed but that nobody reaped yet: its claims are still its own', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1, 2]);
      await lapse(fixture.redis, p, 'p');
      const beat = await p.heartbeat('p', LEASE, ['p:1']);
      expect(beat).to.deep.equal({ alive: true, gone: [], returned: 0, now: beat.now });
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 'p:1': '2|1,2' });
      expect(await fixture.redis.zscore(p.keys.owners, 'p')).to.equal(String(beat.now + LEASE));
    });

    it('answers alive 0 for an owner that is not live here, and does not make it live', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'other:1', [1]);
      const before = await snapshot(fixture.redis, p);
      const beat = await p.heartbeat('p', LEASE, []);
      expect(beat).to.deep.equal({ alive: false, gone: [], returned: 0, now: beat.now });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('answers alive 0, and every token gone, for an owner that was reaped', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      await claimed(fixture.redis, p, 'p:2', [2]);
      await lapse(fixture.redis, p, 'p');
      expect((await p.claim({ count: 10, token: 'q:1', owner: 'q', leaseMs: LEASE, window: 0 })).reaped).to.equal(2);
      const beat = await p.heartbeat('p', LEASE, ['p:1', 'p:2']);
      expect(beat.alive).to.equal(false);
      expect(beat.gone.sort()).to.deep.equal(['p:1', 'p:2']);
      expect(await fixture.redis.zscore(p.keys.owners, 'p')).to.equal(null);
    });
  });

  describe('reaping', () => {
    it('returns the claims of owners whose liveness lapsed to the head of the input, counting the attempt', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'dead:1', [1, 2]);
      await claimed(fixture.redis, p, 'live:1', [3]);
      await claimed(fixture.redis, p, 'p:1', [4]);
      await fixture.redis.rpush(p.keys.input, envelopeRaw(5));
      await lapse(fixture.redis, p, 'dead');
      const beat = await p.heartbeat('p', LEASE, ['p:1']);
      expect(beat).to.deep.equal({ alive: true, gone: [], returned: 2, now: beat.now });
      const input = await fixture.redis.lrange(p.keys.input, 0, -1);
      expect(input.slice(0, 2)).to.have.members([envelopeRaw(1), envelopeRaw(2)]);
      expect(input.slice(2)).to.deep.equal([envelopeRaw(5)]);
      expect(await fixture.redis.hmget(p.keys.state, '1', '2')).to.deep.equal(['Q|1', 'Q|1']);
      expect(await fixture.redis.hkeys(p.keys.claims)).to.have.members(['live:1', 'p:1']);
      expect(await fixture.redis.zrange(p.keys.owners, 0, -1)).to.have.members(['live', 'p']);
    });

    it("changes nothing but the owner's deadline when it beats again after a reap", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'dead:1', [1, 2]);
      await claimed(fixture.redis, p, 'p:1', [3]);
      await lapse(fixture.redis, p, 'dead');
      expect((await p.heartbeat('p', LEASE, ['p:1'])).returned).to.equal(2);
      const after = await snapshot(fixture.redis, p);
      const beat = await p.heartbeat('p', LEASE, ['p:1']);
      expect(beat).to.deep.equal({ alive: true, gone: [], returned: 0, now: beat.now });
      expect(await snapshot(fixture.redis, p)).to.deep.equal({ ...after, [p.keys.owners]: ['p', String(beat.now + LEASE)] });
    });

    it("reaps on Redis's clock: a lease of 1 ms lapses with no deadline written by hand", async () => {
      const p = freshPartition(fixture.redis);
      const claim = await claimed(fixture.redis, p, 'quick:1', [1], { leaseMs: 1 });
      const beat = await waitFor(
        async () => {
          const b = await p.heartbeat('p', LEASE, []);
          return b.now > claim.now + 1 ? b : undefined;
        },
        { timeoutMs: 2000, message: "Redis's clock passing the 1 ms lease" },
      );
      expect(beat.returned).to.equal(1);
      expect(await fixture.redis.hget(p.keys.state, '1')).to.equal('Q|1');
    });
  });

  describe('reconciling the claims the owner holds', () => {
    it('reports the tokens the owner holds that Redis has no claim for (gone)', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      const beat = await p.heartbeat('p', LEASE, ['p:1', 'p:2', 'p:3']);
      expect(beat.alive).to.equal(true);
      expect(beat.gone.sort()).to.deep.equal(['p:2', 'p:3']);
      expect(await fixture.redis.hkeys(p.keys.claims)).to.deep.equal(['p:1']);
    });

    it('gives back, not counting the attempt, the claims of this owner that it does not list', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      await fixture.redis.hset(p.keys.state, '3', 'Q|2');
      await claimed(fixture.redis, p, 'p:2', [2, 3]);
      await p.complete([{ seq: 2, token: 'p:2', body: '{"seq":2}', createdAt: 1, processedAt: 2 }]);
      const beat = await p.heartbeat('p', LEASE, ['p:1']);
      expect(beat).to.deep.equal({ alive: true, gone: [], returned: 1, now: beat.now });
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([envelopeRaw(3)]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({
        1: `C|p:1|1|${envelopeRaw(1)}`,
        2: '{"seq":2',
        3: 'Q|2',
      });
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 'p:1': '1|1' });
      expect(await fixture.redis.zscore(p.keys.owners, 'p')).to.equal(String(beat.now + LEASE));
    });

    it('leaves the claims of other live owners alone', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'q:1', [1]);
      await claimed(fixture.redis, p, 'pp:1', [2]);
      await claimed(fixture.redis, p, 'p:1', [3]);
      const before = await snapshot(fixture.redis, p);
      const beat = await p.heartbeat('p', LEASE, ['p:1']);
      expect(beat.returned).to.equal(0);
      const after = await snapshot(fixture.redis, p);
      expect(await fixture.redis.zscore(p.keys.owners, 'p')).to.equal(String(beat.now + LEASE));
      delete after[p.keys.owners];
      delete before[p.keys.owners];
      expect(after).to.deep.equal(before);
      expect(await fixture.redis.zrange(p.keys.owners, 0, -1)).to.have.members(['p', 'pp', 'q']);
    });

    it("leaves the claims of an owner whose id extends this one's with a colon", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:east:1', [1]);
      await claimed(fixture.redis, p, 'p:1', [2]);
      const beat = await p.heartbeat('p', LEASE, ['p:1']);
      expect(beat.returned).to.equal(0);
      expect(await fixture.redis.hget(p.keys.state, '1')).to.match(/^C\|p:east:1\|1\|/);
    });

    it('gives nothing back for an owner that is not live here (its claims went with its reap)', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      await fixture.redis.zrem(p.keys.owners, 'p');
      const before = await snapshot(fixture.redis, p);
      const beat = await p.heartbeat('p', LEASE, []);
      expect(beat).to.deep.equal({ alive: false, gone: [], returned: 0, now: beat.now });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });
  });

  describe('wake-ups', () => {
    it("publishes the partition's tag on the processors' wake channel when something went back, and only then", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      await claimed(fixture.redis, p, 'dead:1', [2]);
      await listener.wakes.published();
      await p.heartbeat('p', LEASE, ['p:1']);
      expect(await listener.wakes.published()).to.deep.equal([]);
      await lapse(fixture.redis, p, 'dead');
      await p.heartbeat('p', LEASE, ['p:1']);
      expect(await listener.wakes.published()).to.deep.equal([p.tag]);
      await p.heartbeat('p', LEASE, []);
      expect(await listener.wakes.published()).to.deep.equal([p.tag]);
    });
  });

  describe('unordered pipelines (ordering none)', () => {
    it('gives claims back to the head of their priority class in the queue', async () => {
      await expectGivenBackToHeadOfClass(fixture.redis, async (p) => (await p.heartbeat('p', LEASE, [])).returned, {
        claimedFrom: [-5 * PRIORITY_SHIFT, 0],
        emptied: ['input', 'claims'],
      });
    });
  });
});
