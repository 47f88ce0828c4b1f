import { expect } from 'chai';
import { PRIORITY_SHIFT, wakeChannels } from '@inorder/shared';
import { claimed, envelopeRaw, expectGivenBackToHeadOfClass, freshPartition, snapshot, useListener } from '../support/lua.js';
import { useRedis } from '@inorder/testkit';

const LEASE = 60_000;

const seqsOf = (raws: string[]): number[] => raws.map((r) => (JSON.parse(r) as { seq: number }).seq);

describe('release.lua', function () {
  const fixture = useRedis();
  const listener = useListener(fixture, wakeChannels().input);

  it('gives the seqs still claimed under the given tokens back to the head of the input as Q, not counting the attempt', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.hset(p.keys.state, '3', 'Q|1');
    await claimed(fixture.redis, p, 'p:1', [1, 2, 3]);
    await claimed(fixture.redis, p, 'p:2', [4]);
    await fixture.redis.rpush(p.keys.input, envelopeRaw(5));
    expect(await p.release(['p:1'])).to.equal(3);
    const input = await fixture.redis.lrange(p.keys.input, 0, -1);
    expect(input.slice(0, 3)).to.have.members([1, 2, 3].map((s) => envelopeRaw(s)));
    expect(input.slice(3)).to.deep.equal([envelopeRaw(5)]);
    expect(await fixture.redis.hmget(p.keys.state, '1', '2', '3')).to.deep.equal(['Q|0', 'Q|0', 'Q|1']);
    expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 'p:2': '1|4' });
    const again = await p.claim({ count: 3, token: 'q:1', owner: 'q', leaseMs: LEASE, window: 0 });
    expect(again.claimed.map((c) => [c.seq, c.attempts]).sort((a, b) => a[0]! - b[0]!)).to.deep.equal([
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
  });

  it('gives the seqs back at the head in seq order', async () => {
    const p = freshPartition(fixture.redis);
    await claimed(fixture.redis, p, 'p:1', [1, 2, 3]);
    await p.release(['p:1']);
    expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([1, 2, 3].map((s) => envelopeRaw(s)));
  });

  it('leaves the seqs of the claim that were settled since', async () => {
    const p = freshPartition(fixture.redis);
    await claimed(fixture.redis, p, 'p:1', [1, 2, 3, 4]);
    await p.complete([{ seq: 1, token: 'p:1', body: '{"seq":1}', createdAt: 1, processedAt: 2 }]);
    await p.fail([
      { seq: 2, token: 'p:1', action: 'retry', delayMs: LEASE, body: envelopeRaw(2) },
      { seq: 3, token: 'p:1', action: 'dead', body: '{"seq":3}' },
    ]);
    expect(await p.release(['p:1'])).to.equal(1);
    expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([envelopeRaw(4)]);
    expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 1: '{"seq":1', 2: `R|1|${envelopeRaw(2)}`, 3: 'T', 4: 'Q|0' });
    expect(await fixture.redis.exists(p.keys.claims)).to.equal(0);
  });

  it('leaves a seq of the claim that another token claims now', async () => {
    const p = freshPartition(fixture.redis);
    await claimed(fixture.redis, p, 'p:1', [1, 2]);
    await fixture.redis.hset(p.keys.state, '2', `C|q:1|2|${envelopeRaw(2)}`);
    expect(await p.release(['p:1'])).to.equal(1);
    expect(await fixture.redis.hget(p.keys.state, '2')).to.equal(`C|q:1|2|${envelopeRaw(2)}`);
    expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([envelopeRaw(1)]);
  });

  it('removes the owner when given, and keeps it otherwise', async () => {
    const p = freshPartition(fixture.redis);
    await claimed(fixture.redis, p, 'p:1', [1]);
    await claimed(fixture.redis, p, 'p:2', [2]);
    await claimed(fixture.redis, p, 'q:1', [3]);
    expect(await p.release(['p:1'])).to.equal(1);
    expect(await fixture.redis.zrange(p.keys.owners, 0, -1)).to.have.members(['p', 'q']);
    expect(await p.release(['p:2'], 'p')).to.equal(1);
    expect(await fixture.redis.zrange(p.keys.owners, 0, -1)).to.deep.equal(['q']);
    expect(await fixture.redis.hkeys(p.keys.claims)).to.deep.equal(['q:1']);
  });

  it('removes the owner when given with no token', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.zadd(p.keys.owners, 1, 'p');
    expect(await p.release([], 'p')).to.equal(0);
    expect(await snapshot(fixture.redis, p)).to.deep.equal({});
  });

  it('gives back every claim of a leaving owner, the ones it forgot too: nothing else would reap them', async () => {
    const p = freshPartition(fixture.redis);
    await claimed(fixture.redis, p, 'p:1', [1]);
    await claimed(fixture.redis, p, 'p:2', [2]);
    await claimed(fixture.redis, p, 'other:1', [3]);
    expect(await p.release(['p:1'], 'p')).to.equal(2);
    expect(seqsOf(await fixture.redis.lrange(p.keys.input, 0, -1))).to.deep.equal([1, 2]);
    expect(await fixture.redis.hkeys(p.keys.claims)).to.deep.equal(['other:1']);
    expect(await fixture.redis.zrange(p.keys.owners, 0, -1)).to.deep.equal(['other']);
  });

  it('writes nothing for a token that holds no claim', async () => {
    const p = freshPartition(fixture.redis);
    await claimed(fixture.redis, p, 'p:1', [1]);
    await listener.wakes.published();
    const before = await snapshot(fixture.redis, p);
    expect(await p.release(['p:9', 'q:1'])).to.equal(0);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    expect(await listener.wakes.published()).to.deep.equal([]);
  });

  it('changes nothing when replayed', async () => {
    const p = freshPartition(fixture.redis);
    await claimed(fixture.redis, p, 'p:1', [1, 2]);
    expect(await p.release(['p:1'], 'p')).to.equal(2);
    const after = await snapshot(fixture.redis, p);
    expect(await p.release(['p:1'], 'p')).to.equal(0);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
  });

  it("publishes the partition's tag on the processors' wake channel when something went back", async () => {
    const p = freshPartition(fixture.redis);
    await claimed(fixture.redis, p, 'p:1', [1]);
    await listener.wakes.published();
    await p.release(['p:1']);
    expect(await listener.wakes.published()).to.deep.equal([p.tag]);
  });

  it('unordered: gives claims back to the head of their priority class in the queue', async () => {
    await expectGivenBackToHeadOfClass(fixture.redis, (p) => p.release(['p:1'], 'p'), {
      claimedFrom: [-5 * PRIORITY_SHIFT + 1, 2],
      emptied: ['input', 'claims', 'owners'],
    });
  });
});
