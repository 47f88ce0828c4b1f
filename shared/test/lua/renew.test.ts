import { expect } from 'chai';
import { freshPartition, snapshot, useRedis } from '../support/lua.js';

describe('renew.lua', function () {
  const fixture = useRedis();

  it('moves every held lease to the new deadline and answers 1 per token', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.zadd(p.keys.leases, 1000, 'a:1', 2000, 'a:2', 3000, 'b:1');
    const reply = await fixture.redis.inorderRenew(p.keys.leases, 9000, 'a:1', 'a:2');
    expect(reply).to.deep.equal([1, 1]);
    expect(await fixture.redis.zrange(p.keys.leases, 0, -1, 'WITHSCORES')).to.deep.equal(['b:1', '3000', 'a:1', '9000', 'a:2', '9000']);
  });

  it('answers 0 for a lease that is gone (reaped) and does not bring it back', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.zadd(p.keys.leases, 1000, 'a:1', 1000, 'a:3');
    const reply = await fixture.redis.inorderRenew(p.keys.leases, 5000, 'a:1', 'a:2', 'a:3');
    expect(reply).to.deep.equal([1, 0, 1]);
    expect(await fixture.redis.zscore(p.keys.leases, 'a:2')).to.equal(null);
  });

  it('creates nothing when every lease is gone', async () => {
    const p = freshPartition(fixture.redis);
    expect(await fixture.redis.inorderRenew(p.keys.leases, 5000, 'x:1')).to.deep.equal([0]);
    expect(await snapshot(fixture.redis, p)).to.deep.equal({});
  });

  it('renews a lease past its deadline that nobody has reaped yet (the claim is still ours)', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.zadd(p.keys.leases, 10, 'a:1');
    expect(await fixture.redis.inorderRenew(p.keys.leases, 99_999, 'a:1')).to.deep.equal([1]);
    expect(await fixture.redis.zscore(p.keys.leases, 'a:1')).to.equal('99999');
  });

  it('Partition.renew returns exactly the tokens whose lease is gone', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.zadd(p.keys.leases, 1000, 'a:1', 1000, 'a:3');
    expect(await p.renew(['a:1', 'a:2', 'a:3', 'a:4'], 5000)).to.deep.equal(['a:2', 'a:4']);
    expect(await p.renew([], 5000)).to.deep.equal([]);
  });
});
