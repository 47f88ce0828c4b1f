import { expect } from 'chai';
import { freshPartition, snapshot, useRedis } from '../support/lua.js';

describe('fence.lua', function () {
  const fixture = useRedis();

  it('takes epoch 1 on a new partition, stores owner:epoch and sets next to the start', async () => {
    const p = freshPartition(fixture.redis);
    const reply = await fixture.redis.inorderFence(p.keys.meta, 'seq-a', 3);
    expect(reply).to.deep.equal(['seq-a:1', '3']);
    expect(await fixture.redis.hgetall(p.keys.meta)).to.deep.equal({ epoch: '1', fence: 'seq-a:1', next: '3' });
    expect(Object.keys(await snapshot(fixture.redis, p))).to.deep.equal([p.keys.meta]);
  });

  it('increments the epoch on every acquisition, even by the same owner', async () => {
    const p = freshPartition(fixture.redis);
    expect((await p.fence('a')).fence).to.equal('a:1');
    expect((await p.fence('b')).fence).to.equal('b:2');
    expect((await p.fence('a')).fence).to.equal('a:3');
    expect(await fixture.redis.hget(p.keys.meta, 'fence')).to.equal('a:3');
    expect(await fixture.redis.hget(p.keys.meta, 'epoch')).to.equal('3');
  });

  it('keeps next where the former leader left it', async () => {
    const p = freshPartition(fixture.redis);
    await p.fence('a');
    await fixture.redis.hset(p.keys.meta, 'next', '57');
    expect(await p.fence('b')).to.deep.equal({ fence: 'b:2', next: 57 });
    expect(await fixture.redis.hget(p.keys.meta, 'next')).to.equal('57');
  });

  it('refuses the former leader\'s emits from the moment it is taken', async () => {
    const p = freshPartition(fixture.redis);
    const old = await p.fence('a');
    expect(await p.emit(old.fence, old.next, [{ kind: 's', body: '' }], 1)).to.deep.equal({ kind: 'emitted', next: 2 });
    const current = await p.fence('b');
    expect(await p.emit(old.fence, 2, [{ kind: 's', body: '' }], 2)).to.deep.equal({ kind: 'fenced', next: 2 });
    expect(await p.emit(current.fence, 2, [{ kind: 's', body: '' }], 3)).to.deep.equal({ kind: 'emitted', next: 3 });
  });
});
