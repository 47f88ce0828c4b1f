import { expect } from 'chai';
import { sequencersKey } from '@inorder/shared';
import { redisNow } from '../support/lua.js';
import { uniquePipeline, waitFor, useRedis } from '@inorder/testkit';

describe('members.lua', function () {
  const fixture = useRedis();

  /** A group key of its own per test (the members key of a fresh prefix). */
  const group = (): string => sequencersKey(uniquePipeline('members'));

  it('adds a member with its deadline at Redis now + leaseMs and answers the live members', async () => {
    const key = group();
    const before = await redisNow(fixture.redis);
    expect(await fixture.redis.inorderMembers(key, 'b', 5000)).to.deep.equal(['b']);
    const after = await redisNow(fixture.redis);
    expect(Number(await fixture.redis.zscore(key, 'b'))).to.be.within(before + 5000, after + 5000);
  });

  it("renews a member's deadline", async () => {
    const key = group();
    await fixture.redis.inorderMembers(key, 'a', 1000);
    const first = Number(await fixture.redis.zscore(key, 'a'));
    await fixture.redis.inorderMembers(key, 'a', 60_000);
    expect(Number(await fixture.redis.zscore(key, 'a'))).to.be.at.least(first + 59_000);
    expect(await fixture.redis.zcard(key)).to.equal(1);
  });

  it('answers the live members sorted by id, not by deadline', async () => {
    const key = group();
    await fixture.redis.inorderMembers(key, 'c', 1000);
    await fixture.redis.inorderMembers(key, 'a', 3000);
    expect(await fixture.redis.inorderMembers(key, 'b', 2000)).to.deep.equal(['a', 'b', 'c']);
  });

  it('forgets members whose liveness lapsed', async () => {
    const key = group();
    const now = await redisNow(fixture.redis);
    await fixture.redis.zadd(key, now - 1000, 'gone', now + 60_000, 'stays');
    expect(await fixture.redis.inorderMembers(key, 'me', 60_000)).to.deep.equal(['me', 'stays']);
    expect(await fixture.redis.zscore(key, 'gone')).to.equal(null);
  });

  it("lets a lease of 1 ms lapse on Redis's clock", async () => {
    const key = group();
    await fixture.redis.inorderMembers(key, 'quick', 1);
    const deadline = Number(await fixture.redis.zscore(key, 'quick'));
    await waitFor(async () => (await redisNow(fixture.redis)) > deadline, { timeoutMs: 2000 });
    expect(await fixture.redis.inorderMembers(key, 'me', 60_000)).to.deep.equal(['me']);
  });

  it('removes the member for a leaseMs of 0 (it is leaving) and leaves the others', async () => {
    const key = group();
    await fixture.redis.inorderMembers(key, 'a', 60_000);
    await fixture.redis.inorderMembers(key, 'b', 60_000);
    expect(await fixture.redis.inorderMembers(key, 'a', 0)).to.deep.equal(['b']);
    expect(await fixture.redis.zrange(key, 0, -1)).to.deep.equal(['b']);
    expect(await fixture.redis.inorderMembers(key, 'b', 0)).to.deep.equal([]);
    expect(await fixture.redis.exists(key)).to.equal(0);
  });
});
