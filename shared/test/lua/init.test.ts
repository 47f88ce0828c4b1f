import { expect } from 'chai';
import { LAYOUT, LayoutError } from '@inorder/shared';
import { freshPartition, snapshot } from '../support/lua.js';
import { useRedis } from '@inorder/testkit';

describe('init.lua', function () {
  const fixture = useRedis();

  it('sets the layout and the first seq of a new partition and returns them', async () => {
    const p = freshPartition(fixture.redis);
    expect(await fixture.redis.inorderInit(p.keys.meta, '2', 5)).to.deep.equal(['2', '5']);
    expect(await snapshot(fixture.redis, p)).to.deep.equal({ [p.keys.meta]: { layout: '2', next: '5' } });
  });

  it('keeps what the first caller set: a later layout or start changes nothing', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.inorderInit(p.keys.meta, '1', 1);
    const before = await snapshot(fixture.redis, p);
    expect(await fixture.redis.inorderInit(p.keys.meta, '2', 9)).to.deep.equal(['1', '1']);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('returns the next seq the sequencer has reached, not the start, and leaves the rest of meta alone', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.inorderInit(p.keys.meta, '2', 1);
    await fixture.redis.hset(p.keys.meta, 'next', '42', 'epoch', '3', 'emitted', '41');
    expect(await fixture.redis.inorderInit(p.keys.meta, '2', 1)).to.deep.equal(['2', '42']);
    expect(await fixture.redis.hgetall(p.keys.meta)).to.deep.equal({ layout: '2', next: '42', epoch: '3', emitted: '41' });
  });

  it('sets the layout of a partition whose meta exists without one', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.hset(p.keys.meta, 'next', '7');
    expect(await fixture.redis.inorderInit(p.keys.meta, '2', 1)).to.deep.equal(['2', '7']);
  });

  it("Partition.init writes this code's layout (2) and the configured first seq", async () => {
    const p = freshPartition(fixture.redis, { seqStart: 100 });
    expect(LAYOUT).to.equal('2');
    expect(await p.init()).to.deep.equal({ next: 100 });
    expect(await fixture.redis.hgetall(p.keys.meta)).to.deep.equal({ layout: LAYOUT, next: '100' });
  });

  it('Partition.init refuses a partition written by another layout, naming both, and changes nothing', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.hset(p.keys.meta, 'layout', '1', 'next', '1');
    let error: unknown;
    try {
      await p.init();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(LayoutError);
    expect((error as LayoutError).found).to.equal('1');
    expect((error as LayoutError).expected).to.equal(LAYOUT);
    expect((error as Error).message).to.include(p.keys.meta);
    expect(await fixture.redis.hgetall(p.keys.meta)).to.deep.equal({ layout: '1', next: '1' });
  });
});
