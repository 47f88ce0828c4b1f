import { expect } from 'chai';
import { wakeChannels } from '@inorder/shared';
import { claimed, envelopeRaw, freshPartition, lapse, snapshot, useListener } from '../support/lua.js';
import { useRedis } from '@inorder/testkit';

describe('probe.lua', function () {
  const fixture = useRedis();
  const listener = useListener(fixture, wakeChannels().input);

  const empty = {
    owner: undefined,
    ms: undefined,
    inputLength: 0,
    parkedCount: 0,
    parkedMin: undefined,
    delayedCount: 0,
    accepted: 0,
    stateSize: 0,
    next: undefined,
  };

  describe('the state of next', () => {
    it('answers unknown, with every count at zero, for a seq nothing knows', async () => {
      const p = freshPartition(fixture.redis);
      const probe = await p.probe(1);
      expect(probe).to.deep.equal({ ...empty, kind: 'unknown', now: probe.now });
      expect(await snapshot(fixture.redis, p)).to.deep.equal({});
    });

    it("answers claimed with the claim's owner and the ms to its liveness deadline on Redis's clock", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:east:1', [1], { leaseMs: 5000 });
      const before = await snapshot(fixture.redis, p);
      const probe = await p.probe(1);
      const deadline = Number(await fixture.redis.zscore(p.keys.owners, 'p:east'));
      expect(probe).to.deep.include({ kind: 'claimed', owner: 'p:east', ms: deadline - probe.now });
      expect(probe.ms).to.be.within(1, 5000);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it("answers a negative ms for a claim whose owner's liveness lapsed", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      await lapse(fixture.redis, p, 'p');
      const probe = await p.probe(1);
      expect(probe.kind).to.equal('claimed');
      expect(probe.ms).to.be.below(0);
    });

    it('answers no ms for a claim whose owner has no liveness entry', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      await fixture.redis.zrem(p.keys.owners, 'p');
      expect(await p.probe(1)).to.deep.include({ kind: 'claimed', owner: 'p', ms: undefined });
    });

    it('answers retry with the ms until it is due', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      const { dueAt } = await p.fail([{ seq: 1, token: 'p:1', action: 'retry', delayMs: 3000, body: envelopeRaw(1) }]);
      const probe = await p.probe(1);
      expect(probe).to.deep.include({ kind: 'retry', owner: undefined, ms: dueAt! - probe.now, delayedCount: 1 });
      expect(probe.ms).to.be.within(1, 3000);
    });

    it('answers queued for a seq returned to the input', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      await p.release(['p:1']);
      expect(await p.probe(1)).to.deep.include({ kind: 'queued', owner: undefined, ms: undefined, inputLength: 1 });
    });

    it('answers settled for a done seq and for a tombstone', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1, 2]);
      await p.complete([{ seq: 1, token: 'p:1', body: '{"seq":1}', createdAt: 1, processedAt: 2 }]);
      await p.fail([{ seq: 2, token: 'p:1', action: 'dead', body: '{"seq":2}' }]);
      expect(await p.probe(1)).to.deep.include({ kind: 'settled', owner: undefined, ms: undefined });
      expect(await p.probe(2)).to.deep.include({ kind: 'settled', owner: undefined, ms: undefined });
    });
  });

  describe('what waits elsewhere', () => {
    it('counts the input, the parked entries and the lowest parked seq, the retries, accepted and the state', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.rpush(p.keys.input, envelopeRaw(60), envelopeRaw(50), envelopeRaw(70));
      expect((await p.claim({ count: 3, token: 'p:1', owner: 'p', leaseMs: 60_000, window: 55 })).parked).to.equal(2);
      await claimed(fixture.redis, p, 'p:2', [2, 3], { window: 55 });
      await p.fail([{ seq: 2, token: 'p:2', action: 'retry', delayMs: 60_000, body: envelopeRaw(2) }]);
      await fixture.redis.rpush(p.keys.input, envelopeRaw(4), envelopeRaw(5));
      await fixture.redis.hset(p.keys.meta, 'accepted', '99');
      const probe = await p.probe(1);
      expect(probe).to.deep.equal({
        kind: 'unknown',
        owner: undefined,
        ms: undefined,
        inputLength: 2,
        parkedCount: 2,
        parkedMin: 60,
        delayedCount: 1,
        accepted: 99,
        stateSize: 3,
        now: probe.now,
        next: undefined,
      });
    });
  });

  describe('repair of an orphaned claim', () => {
    it('puts a next claimed under a token that holds no claim back at the head of the input as Q, answering returned', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '1', `C|gone:7|3|${envelopeRaw(1)}`);
      await fixture.redis.rpush(p.keys.input, envelopeRaw(2));
      await listener.wakes.published();
      const probe = await p.probe(1);
      expect(probe).to.deep.include({ kind: 'returned', owner: undefined, ms: undefined, inputLength: 2, stateSize: 1 });
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([envelopeRaw(1), envelopeRaw(2)]);
      expect(await fixture.redis.hget(p.keys.state, '1')).to.equal('Q|2');
      expect(await listener.wakes.published()).to.deep.equal([p.tag]);
      const again = await p.claim({ count: 1, token: 'p:1', owner: 'p', leaseMs: 60_000, window: 0 });
      expect(again.claimed).to.deep.equal([{ seq: 1, attempts: 3, raw: envelopeRaw(1) }]);
    });

    it('repairs once: a second probe finds it queued and pushes nothing', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '1', `C|gone:7|1|${envelopeRaw(1)}`);
      expect((await p.probe(1)).kind).to.equal('returned');
      const after = await snapshot(fixture.redis, p);
      await listener.wakes.published();
      expect((await p.probe(1)).kind).to.equal('queued');
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
      expect(await listener.wakes.published()).to.deep.equal([]);
    });

    it("leaves a claim whose token still holds its claim, whatever its owner's liveness", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'p:1', [1]);
      await lapse(fixture.redis, p, 'p');
      const before = await snapshot(fixture.redis, p);
      expect((await p.probe(1)).kind).to.equal('claimed');
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });
  });
});
