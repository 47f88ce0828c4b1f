import { expect } from 'chai';
import { wakeChannels, type FailItem, type Partition } from '@inorder/shared';
import { claimed, envelopeRaw, fields, freshPartition, listen, redisNow, snapshot, useListener } from '../support/lua.js';
import { useRedis } from '@inorder/testkit';

describe('fail.lua', function () {
  const fixture = useRedis();
  const listener = useListener(fixture, wakeChannels().results);

  const retryBody = (seq: number): string => envelopeRaw(seq, { attempts: 1, lastError: 'boom' });
  const deadBody = (seq: number, reason = 'max-retries'): string => JSON.stringify({ seq, reason, attempts: 3, deadAt: 1 });
  const retry = (token: string, seq: number, delayMs = 60_000): FailItem => ({
    seq,
    token,
    action: 'retry',
    delayMs,
    body: retryBody(seq),
  });
  const dead = (token: string, seq: number): FailItem => ({ seq, token, action: 'dead', body: deadBody(seq) });
  const malformed = (token: string, seq: number): FailItem => ({ seq, token, action: 'malformed', body: deadBody(seq, 'malformed') });

  async function stream(p: Partition): Promise<Array<Record<string, string>>> {
    return (await fixture.redis.xrange(p.keys.results, '-', '+')).map(([, f]) => fields(f));
  }

  describe('retry', () => {
    it("keeps the attempt count and the next attempt's envelope (R|attempts|body) and schedules it at Redis now + delay", async () => {
      const p = freshPartition(fixture.redis);
      const claim = await claimed(fixture.redis, p, 't:1', [1]);
      const before = await redisNow(fixture.redis);
      const result = await p.fail([retry('t:1', 1, 200)]);
      const after = await redisNow(fixture.redis);
      expect(result.settled).to.deep.equal([true]);
      expect(result.dueAt).to.be.within(before + 200, after + 200);
      expect(await snapshot(fixture.redis, p)).to.deep.equal({
        [p.keys.state]: { 1: `R|1|${retryBody(1)}` },
        [p.keys.delayed]: ['1', String(result.dueAt)],
        [p.keys.owners]: ['t', String(claim.now + 60_000)],
        [p.keys.meta]: { accepted: '1' },
      });
    });

    it('answers the earliest due time the call scheduled', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2, 3]);
      const result = await p.fail([retry('t:1', 1, 5000), retry('t:1', 2, 100), retry('t:1', 3, 3000)]);
      const due = await fixture.redis.zrange(p.keys.delayed, 0, -1, 'WITHSCORES');
      expect(due.filter((_, i) => i % 2 === 0)).to.deep.equal(['2', '3', '1']);
      expect(result.dueAt).to.equal(Number(due[1]));
      expect(Number(due[5]) - Number(due[1])).to.equal(4900);
    });

    it('carries the attempts of a re-claimed seq over (Q|2 claimed as 3 -> R|3)', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '5', 'Q|2');
      await claimed(fixture.redis, p, 't:1', [5]);
      await p.fail([retry('t:1', 5)]);
      expect(await fixture.redis.hget(p.keys.state, '5')).to.equal(`R|3|${retryBody(5)}`);
    });

    it('answers no due time when it scheduled nothing', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1]);
      expect(await p.fail([dead('t:1', 1)])).to.deep.equal({ settled: [true], dueAt: undefined });
      expect(await p.fail([retry('t:1', 1)])).to.deep.equal({ settled: [false], dueAt: undefined });
    });
  });

  describe('dead letter', () => {
    it('strict: appends the records, counts them, leaves tombstones (T) named in ONE results stream entry', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2, 3]);
      expect((await p.fail([dead('t:1', 3), dead('t:1', 2)])).settled).to.deep.equal([true, true]);
      expect(await fixture.redis.lrange(p.keys.dead, 0, -1)).to.deep.equal([deadBody(3), deadBody(2)]);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal('2');
      expect(await stream(p)).to.deep.equal([{ s: '3,2' }]);
      expect(await fixture.redis.hmget(p.keys.state, '1', '2', '3')).to.deep.equal([`C|t:1|1|${envelopeRaw(1)}`, 'T', 'T']);
      expect(await fixture.redis.exists(p.keys.delayed, p.keys.output)).to.equal(0);
    });

    it("strict: publishes the partition's tag on the sequencers' wake channel for tombstones only", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2, 3]);
      await listener.wakes.published();
      await p.fail([retry('t:1', 1), malformed('t:1', 2)]);
      expect(await listener.wakes.published(), 'a retry or a malformed copy moves no order').to.deep.equal([]);
      await p.fail([dead('t:1', 3)]);
      expect(await listener.wakes.published()).to.deep.equal([p.tag]);
    });

    it('unordered: appends the record, counts it and forgets the seq, with no tombstone', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await fixture.redis.zadd(p.keys.queue, 1, envelopeRaw(1));
      await p.claim({ count: 1, token: 't:1', owner: 't', leaseMs: 60_000, window: 0 });
      await listener.wakes.published();
      expect(await p.fail([dead('t:1', 1)])).to.deep.equal({ settled: [true], dueAt: undefined });
      expect(await fixture.redis.lrange(p.keys.dead, 0, -1)).to.deep.equal([deadBody(1)]);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal('1');
      expect(await fixture.redis.exists(p.keys.state, p.keys.results, p.keys.delayed, p.keys.claims)).to.equal(0);
      expect(await listener.wakes.published()).to.deep.equal([]);
    });
  });

  describe('malformed (the entry was not the message its seq claimed to be)', () => {
    it('appends the record and forgets a seq claimed for the first time, with no tombstone', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2]);
      expect((await p.fail([malformed('t:1', 1)])).settled).to.deep.equal([true]);
      expect(await fixture.redis.lrange(p.keys.dead, 0, -1)).to.deep.equal([deadBody(1, 'malformed')]);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal('1');
      expect(await fixture.redis.hkeys(p.keys.state)).to.deep.equal(['2']);
      expect(await fixture.redis.exists(p.keys.results)).to.equal(0);
      expect(await fixture.redis.hget(p.keys.claims, 't:1')).to.equal('1|1,2');
    });

    it('restores a seq claimed again to the state before the claim (Q|attempts-1)', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '4', 'Q|2');
      await claimed(fixture.redis, p, 't:1', [4]);
      await p.fail([malformed('t:1', 4)]);
      expect(await fixture.redis.hget(p.keys.state, '4')).to.equal('Q|2');
      expect(await fixture.redis.exists(p.keys.results, p.keys.claims)).to.equal(0);
    });

    it('lets the real message take the seq afterwards', async () => {
      const p = freshPartition(fixture.redis);
      // Written seq first and balanced, so the claim reads it without decoding; the processor finds it is not JSON.
      const impostor = '{"seq":8,payload}';
      await fixture.redis.rpush(p.keys.input, impostor);
      expect((await p.claim({ count: 1, token: 't:1', owner: 't', leaseMs: 60_000, window: 0 })).claimed.map((c) => c.seq)).to.deep.equal([
        8,
      ]);
      await p.fail([malformed('t:1', 8)]);
      const real = await claimed(fixture.redis, p, 't:2', [8]);
      expect(real.claimed).to.deep.equal([{ seq: 8, attempts: 1, raw: envelopeRaw(8) }]);
      expect(real.dropped).to.deep.equal([]);
    });

    it('gives a copy held behind the disproved claim back to the head of the input, which the next claim takes', async () => {
      const p = freshPartition(fixture.redis);
      const impostor = '{"seq":8,payload}';
      await fixture.redis.rpush(p.keys.input, impostor, envelopeRaw(8), envelopeRaw(9));
      const first = await p.claim({ count: 2, token: 't:1', owner: 't', leaseMs: 60_000, window: 0 });
      expect(first.claimed.map((c) => c.raw)).to.deep.equal([impostor]);
      expect(first.dropped.map((d) => d.kind)).to.deep.equal(['held']);
      const inputWakes = await listen(fixture.server, wakeChannels().input);
      try {
        await p.fail([malformed('t:1', 8)]);
        expect(await inputWakes.published()).to.deep.equal([p.tag]);
      } finally {
        inputWakes.close();
      }
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([envelopeRaw(8), envelopeRaw(9)]);
      expect(await fixture.redis.exists(p.keys.held)).to.equal(0);
      const real = await p.claim({ count: 1, token: 't:2', owner: 't', leaseMs: 60_000, window: 0 });
      expect(real.claimed).to.deep.equal([{ seq: 8, attempts: 1, raw: envelopeRaw(8) }]);
    });

    it('dead-letters a held copy as conflict once a retry or a dead letter proves the claim', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [5, 6]);
      await fixture.redis.hset(p.keys.held, '5', envelopeRaw(5, { payload: 'other' }), '6', envelopeRaw(6, { payload: 'other' }));
      await p.fail([retry('t:1', 5), dead('t:1', 6)]);
      const records = (await fixture.redis.lrange(p.keys.dead, 0, -1)).map((r) => JSON.parse(r) as Record<string, unknown>);
      expect(records.filter((r) => r.reason === 'conflict').map((r) => [r.readSeq, r.raw])).to.deep.equal([
        [5, envelopeRaw(5, { payload: 'other' })],
        [6, envelopeRaw(6, { payload: 'other' })],
      ]);
      expect(await fixture.redis.exists(p.keys.held)).to.equal(0);
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal('3');
    });
  });

  describe('stale claims and replays', () => {
    it('refuses a stale token, a reaped (Q), retrying (R), done, dead or unknown seq, and writes nothing', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'other:1', [1]);
      await fixture.redis.hset(p.keys.state, '2', 'Q|1', '3', `R|1|${retryBody(3)}`, '4', '{"seq":4', '5', 'T');
      await listener.wakes.published();
      const before = await snapshot(fixture.redis, p);
      const result = await p.fail([1, 2, 3, 4, 5, 6].flatMap((seq) => [retry('t:1', seq), dead('t:1', seq), malformed('t:1', seq)]));
      expect(result).to.deep.equal({ settled: Array(18).fill(false), dueAt: undefined });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
      expect(await listener.wakes.published()).to.deep.equal([]);
    });

    it("answers per item and counts the claim's remaining seqs down, removing it at 0", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2, 3, 4]);
      await claimed(fixture.redis, p, 't:2', [5]);
      await fixture.redis.hset(p.keys.state, '2', 'Q|0');
      const result = await p.fail([retry('t:1', 1), retry('t:1', 2), dead('t:1', 3), dead('t:2', 5)]);
      expect(result.settled).to.deep.equal([true, false, true, true]);
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 't:1': '2|1,2,3,4' });
      expect(await p.complete([{ seq: 4, token: 't:1', body: '{"seq":4}', createdAt: 1, processedAt: 2 }])).to.deep.equal([true]);
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 't:1': '1|1,2,3,4' });
    });

    it('settles a seq given twice in one call once', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2]);
      const result = await p.fail([dead('t:1', 1), retry('t:1', 1), malformed('t:1', 1)]);
      expect(result).to.deep.equal({ settled: [true, false, false], dueAt: undefined });
      expect(await fixture.redis.llen(p.keys.dead)).to.equal(1);
      expect(await fixture.redis.hget(p.keys.claims, 't:1')).to.equal('1|1,2');
    });

    it('changes nothing when replayed', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 't:1', [1, 2, 3]);
      const items = [retry('t:1', 1), dead('t:1', 2), malformed('t:1', 3)];
      expect((await p.fail(items)).settled).to.deep.equal([true, true, true]);
      const after = await snapshot(fixture.redis, p);
      await listener.wakes.published();
      expect(await p.fail(items)).to.deep.equal({ settled: [false, false, false], dueAt: undefined });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
      expect(await listener.wakes.published()).to.deep.equal([]);
    });

    it('writes nothing for an empty call', async () => {
      const p = freshPartition(fixture.redis);
      expect(await p.fail([])).to.deep.equal({ settled: [], dueAt: undefined });
      expect(await snapshot(fixture.redis, p)).to.deep.equal({});
    });
  });
});
