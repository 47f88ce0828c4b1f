import { expect } from 'chai';
import { freshPartition, snapshot } from '../support/lua.js';
import { useRedis } from '@inorder/testkit';

describe('fence.lua', function () {
  const fixture = useRedis();

  it('takes epoch 1 on a new partition, stores the fence owner:epoch and sets next to the start', async () => {
    const p = freshPartition(fixture.redis);
    expect(await fixture.redis.inorderFence(p.keys.meta, 'seq-a', 3, 0)).to.deep.equal(['seq-a:1', '3']);
    expect(await snapshot(fixture.redis, p)).to.deep.equal({ [p.keys.meta]: { epoch: '1', fence: 'seq-a:1', next: '3' } });
  });

  it('increments the epoch on every acquisition, even by the same owner', async () => {
    const p = freshPartition(fixture.redis);
    expect((await p.fence('a')).fence).to.equal('a:1');
    expect((await p.fence('b')).fence).to.equal('b:2');
    expect((await p.fence('a')).fence).to.equal('a:3');
    expect(await fixture.redis.hmget(p.keys.meta, 'fence', 'epoch')).to.deep.equal(['a:3', '3']);
  });

  it('keeps next where the former leader left it', async () => {
    const p = freshPartition(fixture.redis, { seqStart: 1 });
    await p.fence('a');
    await fixture.redis.hset(p.keys.meta, 'next', '57');
    expect(await p.fence('b')).to.deep.equal({ fence: 'b:2', next: 57 });
    expect(await fixture.redis.hget(p.keys.meta, 'next')).to.equal('57');
  });

  it('raises accepted to the floor and never lowers it', async () => {
    const p = freshPartition(fixture.redis);
    await p.fence('a', 40);
    expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('40');
    await p.fence('b', 12);
    expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('40');
    await p.fence('c', 0);
    expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('40');
    await p.fence('d', 9_007_199_254_740_991);
    expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('9007199254740991');
  });

  it('writes no accepted for a floor of 0', async () => {
    const p = freshPartition(fixture.redis);
    await p.fence('a', 0);
    expect(await fixture.redis.hexists(p.keys.meta, 'accepted')).to.equal(0);
  });

  it("refuses the former leader's emits from the moment it is taken", async () => {
    const p = freshPartition(fixture.redis);
    const old = await p.fence('a');
    expect(await p.emit({ fence: old.fence, next: old.next, now: 1, skipTo: 2, run: [] })).to.deep.include({ kind: 'emitted', next: 2 });
    const current = await p.fence('b');
    expect(current.next).to.equal(2);
    expect(await p.emit({ fence: old.fence, next: 2, now: 2, skipTo: 3, run: [] })).to.deep.equal({ kind: 'fenced' });
    expect(await p.emit({ fence: current.fence, next: 2, now: 3, skipTo: 3, run: [] })).to.deep.include({ kind: 'emitted', next: 3 });
  });
});
