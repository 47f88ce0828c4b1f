import { expect } from 'chai';
import { PRIORITY_SHIFT, type Partition } from '@inorder/shared';
import { envelopeRaw, freshPartition, snapshot, useRedis } from '../support/lua.js';

const NOW = 1_000_000;

describe('promote.lua', function () {
  const fixture = useRedis();

  const retryBody = (seq: number): string => envelopeRaw(seq, { attempts: 1, lastError: 'boom' });

  /** Puts seqs in the state a fail.lua retry leaves them: R|attempts|body, scheduled at `due`. */
  async function waiting(p: Partition, entries: Array<[seq: number, due: number, attempts?: number]>): Promise<void> {
    for (const [seq, due, attempts = 1] of entries) {
      await fixture.redis.hset(p.keys.state, String(seq), `R|${attempts}|${retryBody(seq)}`);
      await fixture.redis.zadd(p.keys.delayed, due, String(seq));
    }
  }

  async function input(p: Partition): Promise<string[]> {
    return fixture.redis.lrange(p.keys.input, 0, -1);
  }

  it('pushes due retries to the head of the input, earliest due first, and marks them Q', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.rpush(p.keys.input, envelopeRaw(9));
    await waiting(p, [[3, NOW - 10, 2], [1, NOW - 30], [2, NOW - 20]]);
    const result = await p.promote(NOW, 100);
    expect(result).to.deep.equal({ promoted: 3, nextDue: undefined });
    expect(await input(p)).to.deep.equal([retryBody(1), retryBody(2), retryBody(3), envelopeRaw(9)]);
    expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 1: 'Q|1', 2: 'Q|1', 3: 'Q|2' });
    expect(await fixture.redis.exists(p.keys.delayed)).to.equal(0);
  });

  it('promotes a retry due exactly now and leaves later ones, reporting the earliest still waiting', async () => {
    const p = freshPartition(fixture.redis);
    await waiting(p, [[1, NOW], [2, NOW + 500], [3, NOW + 200]]);
    const result = await p.promote(NOW, 100);
    expect(result).to.deep.equal({ promoted: 1, nextDue: NOW + 200 });
    expect(await input(p)).to.deep.equal([retryBody(1)]);
    expect(await fixture.redis.zrange(p.keys.delayed, 0, -1, 'WITHSCORES')).to.deep.equal(['3', String(NOW + 200), '2', String(NOW + 500)]);
    expect(await fixture.redis.hget(p.keys.state, '2')).to.equal(`R|1|${retryBody(2)}`);
  });

  it('promotes at most limit retries, earliest first, and reports the rest as due', async () => {
    const p = freshPartition(fixture.redis);
    await waiting(p, [[1, NOW - 5], [2, NOW - 4], [3, NOW - 3], [4, NOW - 2]]);
    expect(await p.promote(NOW, 2)).to.deep.equal({ promoted: 2, nextDue: NOW - 3 });
    expect(await input(p)).to.deep.equal([retryBody(1), retryBody(2)]);
    expect(await p.promote(NOW, 2)).to.deep.equal({ promoted: 2, nextDue: undefined });
    expect(await input(p)).to.deep.equal([1, 2, 3, 4].map(retryBody).slice(2).concat([retryBody(1), retryBody(2)]));
  });

  it('writes nothing when no retry is due', async () => {
    const p = freshPartition(fixture.redis);
    await waiting(p, [[1, NOW + 1]]);
    const before = await snapshot(fixture.redis, p);
    expect(await p.promote(NOW, 100)).to.deep.equal({ promoted: 0, nextDue: NOW + 1 });
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  });

  it('drops a schedule whose seq no longer waits for a retry, without pushing anything', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.hset(p.keys.state, '2', `C|t:1|2|${envelopeRaw(2)}`);
    await fixture.redis.zadd(p.keys.delayed, NOW - 1, '1', NOW - 1, '2');
    expect(await p.promote(NOW, 100)).to.deep.equal({ promoted: 0, nextDue: undefined });
    expect(await fixture.redis.exists(p.keys.input, p.keys.delayed)).to.equal(0);
    expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 2: `C|t:1|2|${envelopeRaw(2)}` });
  });

  it('hands a promoted retry to the next claim before newer input, with the attempt counted', async () => {
    const p = freshPartition(fixture.redis);
    await fixture.redis.rpush(p.keys.input, envelopeRaw(2));
    await waiting(p, [[1, NOW - 1, 1]]);
    await p.promote(NOW, 100);
    const result = await p.claim(1, 't:2', NOW, 5000, 0);
    expect(result.claimed).to.deep.equal([{ seq: 1, attempts: 2, raw: retryBody(1) }]);
  });

  describe('queue mode (unordered pipelines)', () => {
    it('puts due retries at the head of their priority class in the queue and sets the signal', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      const urgent = envelopeRaw(1, { priority: -3, attempts: 1 });
      await fixture.redis.hset(p.keys.state, '1', `R|1|${urgent}`, '2', `R|2|${retryBody(2)}`);
      await fixture.redis.zadd(p.keys.delayed, NOW - 1, '1', NOW - 1, '2');
      await fixture.redis.zadd(p.keys.queue, 4, envelopeRaw(3));
      expect(await p.promote(NOW, 100)).to.deep.equal({ promoted: 2, nextDue: undefined });
      expect(await fixture.redis.zrange(p.keys.queue, 0, -1, 'WITHSCORES')).to.deep.equal([
        urgent, String(-3 * PRIORITY_SHIFT), retryBody(2), '0', envelopeRaw(3), '4',
      ]);
      expect(await fixture.redis.lrange(p.keys.signal, 0, -1)).to.deep.equal(['1']);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 1: 'Q|1', 2: 'Q|2' });
      expect(await fixture.redis.exists(p.keys.input, p.keys.delayed)).to.equal(0);
    });
  });
});
