import { expect } from 'chai';
import { LAYOUT, LayoutError } from '@inorder/shared';
import { freshPartition, snapshot, useRedis } from '../support/lua.js';

describe('init.lua', function () {
  const fixture = useRedis();

  it('sets the layout and the first seq of a new partition and returns them', async () => {
    const p = freshPartition(fixture.redis);
    const reply = await fixture.redis.inorderInit(p.keys.meta, '1', 5);
    expect(reply).to.deep.equal(['1', '5']);
    expect(await fixture.redis.hgetall(p.keys.meta)).to.deep.equal({ layout: '1', next: '5' });
    expect(Object.keys(await snapshot(fixture.redis, p))).to.deep.equal([p.keys.meta]);
  });

  it('keeps what the first caller set: a later layout or start changes nothing', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.inorderInit(p.keys.meta, '1', 1);
    const before = await snapshot(fixture.redis, p);
    const reply = await fixture.redis.inorderInit(p.keys.meta, '2', 9);
    expect(reply).to.deep.equal(['1', '1']);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('returns the next seq the sequencer has reached, not the start', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.inorderInit(p.keys.meta, '1', 1);
    await fixture.redis.hset(p.keys.meta, 'next', '42', 'epoch', '3', 'emitted', '41');
    expect(await fixture.redis.inorderInit(p.keys.meta, '1', 1)).to.deep.equal(['1', '42']);
    expect(await fixture.redis.hgetall(p.keys.meta)).to.deep.equal({ layout: '1', next: '42', epoch: '3', emitted: '41' });
  });

  it('sets the layout of a partition whose meta exists without one', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.hset(p.keys.meta, 'next', '7');
    expect(await fixture.redis.inorderInit(p.keys.meta, '1', 1)).to.deep.equal(['1', '7']);
  });

  it('Partition.init writes this code\'s layout and the configured first seq', async () => {
    const p = freshPartition(fixture.redis, { seqStart: 100 });
    expect(await p.init()).to.deep.equal({ next: 100 });
    expect(await fixture.redis.hget(p.keys.meta, 'layout')).to.equal(LAYOUT);
  });

  it('Partition.init refuses a partition written by another layout', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.hset(p.keys.meta, 'layout', '99', 'next', '1');
    let error: unknown;
    try {
      await p.init();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(LayoutError);
    expect((error as LayoutError).found).to.equal('99');
    expect((error as LayoutError).expected).to.equal(LAYOUT);
    expect((error as Error).message).to.include(p.keys.meta);
    expect(await fixture.redis.hget(p.keys.meta, 'layout')).to.equal('99');
  });
});
