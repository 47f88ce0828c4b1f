import { expect } from 'chai';
import { uniquePipeline, useRedis } from '@inorder/testkit';

describe('register.lua', function () {
  const fixture = useRedis();
  const registry = (): string => `${uniquePipeline('reg')}:pipelines`;

  it('creates a pipeline below the limit and answers 1 with the settings stored', async () => {
    const key = registry();
    expect(await fixture.redis.inorderRegister(key, 'a', '{"x":1}', 2)).to.deep.equal([1, '{"x":1}']);
    expect(await fixture.redis.hgetall(key)).to.deep.equal({ a: '{"x":1}' });
  });

  it('answers 0 with the stored settings for an existing pipeline, unchanged, even when the registry is full', async () => {
    const key = registry();
    await fixture.redis.inorderRegister(key, 'a', '{"x":1}', 1);
    expect(await fixture.redis.inorderRegister(key, 'a', '{"x":2}', 1)).to.deep.equal([0, '{"x":1}']);
    expect(await fixture.redis.hgetall(key)).to.deep.equal({ a: '{"x":1}' });
  });

  it('answers -1 with the count, writing nothing, when the registry holds the limit', async () => {
    const key = registry();
    await fixture.redis.hset(key, 'a', '1', 'b', '2');
    expect(await fixture.redis.inorderRegister(key, 'c', '3', 2)).to.deep.equal([-1, 2]);
    expect(await fixture.redis.hlen(key)).to.equal(2);
  });

  it('takes no limit with max 0', async () => {
    const key = registry();
    await fixture.redis.hset(key, 'a', '1', 'b', '2');
    expect(await fixture.redis.inorderRegister(key, 'c', '3', 0)).to.deep.equal([1, '3']);
  });
});
