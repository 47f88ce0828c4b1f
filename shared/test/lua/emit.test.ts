import { expect } from 'chai';
import type { EmitItem, Partition } from '@inorder/shared';
import { envelopeRaw, freshPartition, snapshot, useRedis } from '../support/lua.js';

const NOW = 1_000_000;
const LEASE = 5000;

describe('emit.lua', function () {
  const fixture = useRedis();

  const out = (seq: number): string => JSON.stringify({ seq, result: `r${seq}`, sequencedAt: NOW });

  /**
   * Walks seqs through claim and complete (results) or fail (tombstones), as processors do,
   * and returns the results stream entry id of each seq (one entry per complete or fail call).
   */
  async function settled(p: Partition, results: number[], tombstones: number[] = []): Promise<Map<number, string>> {
    const seqs = [...results, ...tombstones];
    await fixture.redis.rpush(p.keys.input, ...seqs.map((s) => envelopeRaw(s)));
    const claim = await p.claim(seqs.length, `t:${seqs.join('-')}`, NOW, LEASE, 0);
    expect(claim.claimed).to.have.length(seqs.length);
    const token = `t:${seqs.join('-')}`;
    await p.complete(results.map((seq) => ({ seq, token, body: out(seq) })), []);
    await p.fail(tombstones.map((seq) => ({ seq, token, action: 'dead' as const, body: '{}' })), [token]);
    const ids = new Map<number, string>();
    for (const [id, f] of await fixture.redis.xrange(p.keys.results, '-', '+')) {
      for (let i = 0; i < f.length; i += 2) ids.set(Number(f[i]), id);
    }
    return ids;
  }

  const result = (seq: number): EmitItem => ({ kind: 'r', body: out(seq) });
  const tombstone: EmitItem = { kind: 't', body: '' };
  const skip: EmitItem = { kind: 's', body: '' };
  /** Every stream entry id, once. */
  const all = (ids: Map<number, string>): string[] => [...new Set(ids.values())];

  async function leader(p: Partition, owner = 'leader'): Promise<string> {
    return (await p.fence(owner)).fence;
  }

  describe('emitting', () => {
    it('appends a contiguous run of results in seq order, advances next and cleans up', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 2, 3]);
      const reply = await p.emit(fence, 1, [1, 2, 3].map((s) => result(s)), NOW, all(ids));
      expect(reply).to.deep.equal({ kind: 'emitted', next: 4 });
      expect(await fixture.redis.lrange(p.keys.output, 0, -1)).to.deep.equal([out(1), out(2), out(3)]);
      expect(await fixture.redis.hget(p.keys.meta, 'next')).to.equal('4');
      expect(await fixture.redis.hget(p.keys.meta, 'emitted')).to.equal('3');
      expect(await fixture.redis.xlen(p.keys.results)).to.equal(0);
      expect(await fixture.redis.exists(p.keys.state, p.keys.skipped)).to.equal(0);
      expect(await fixture.redis.hget(p.keys.meta, 'skipped')).to.equal(null);
    });

    it('leaves results past the run in the stream and in state', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 2, 3]);
      expect(await p.emit(fence, 1, [result(1)], NOW)).to.deep.equal({ kind: 'emitted', next: 2 });
      const left = await fixture.redis.xrange(p.keys.results, '-', '+');
      expect(left.map(([id]) => id), 'the entry still holds 2 and 3').to.deep.equal([ids.get(1)]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 2: 'D', 3: 'D' });
    });

    it('advances past a tombstone without output, deleting its stream entry and state', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 3], [2]);
      const reply = await p.emit(fence, 1, [result(1), tombstone, result(3)], NOW, all(ids));
      expect(reply).to.deep.equal({ kind: 'emitted', next: 4 });
      expect(await fixture.redis.lrange(p.keys.output, 0, -1)).to.deep.equal([out(1), out(3)]);
      expect(await fixture.redis.hget(p.keys.meta, 'emitted')).to.equal('2');
      expect(await fixture.redis.xlen(p.keys.results)).to.equal(0);
      expect(await fixture.redis.exists(p.keys.state)).to.equal(0);
    });

    it('deletes only the stream entries it is given', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1], [2]);
      expect(ids.get(1)).to.not.equal(ids.get(2));
      expect(await p.emit(fence, 1, [result(1), tombstone], NOW, [ids.get(2)!])).to.deep.equal({ kind: 'emitted', next: 3 });
      expect((await fixture.redis.xrange(p.keys.results, '-', '+')).map(([id]) => id)).to.deep.equal([ids.get(1)]);
    });

    it('records a skipped gap with its time and counts it', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 3]);
      const reply = await p.emit(fence, 1, [result(1), skip, result(3), skip], NOW + 7);
      expect(reply).to.deep.equal({ kind: 'emitted', next: 5 });
      expect(await fixture.redis.lrange(p.keys.output, 0, -1)).to.deep.equal([out(1), out(3)]);
      expect(await fixture.redis.zrange(p.keys.skipped, 0, -1, 'WITHSCORES')).to.deep.equal(['2', String(NOW + 7), '4', String(NOW + 7)]);
      expect(await fixture.redis.hget(p.keys.meta, 'skipped')).to.equal('2');
      expect(await fixture.redis.hget(p.keys.meta, 'emitted')).to.equal('2');
    });

    it('counts emitted and skipped across calls', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 3]);
      await p.emit(fence, 1, [result(1), skip], NOW);
      await p.emit(fence, 3, [result(3), skip], NOW);
      expect(await fixture.redis.hmget(p.keys.meta, 'next', 'emitted', 'skipped')).to.deep.equal(['5', '2', '2']);
    });

    it('starts at the partition\'s configured first seq', async () => {
      const p = freshPartition(fixture.redis, { seqStart: 100 });
      const fence = await leader(p);
      const ids = await settled(p, [100]);
      expect(await p.emit(fence, 100, [result(100)], NOW)).to.deep.equal({ kind: 'emitted', next: 101 });
    });

    it('writes nothing for an empty run', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const before = await snapshot(fixture.redis, p);
      expect(await p.emit(fence, 1, [], NOW)).to.deep.equal({ kind: 'emitted', next: 1 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });
  });

  describe('refusals', () => {
    it('refuses an emit carrying a stale fencing token', async () => {
      const p = freshPartition(fixture.redis);
      const old = await leader(p, 'a');
      const ids = await settled(p, [1, 2]);
      await leader(p, 'b');
      const before = await snapshot(fixture.redis, p);
      const reply = await fixture.redis.inorderEmit(
        p.keys.meta, p.keys.results, p.keys.output, p.keys.state, p.keys.skipped,
        old, 1, NOW, 1, ids.get(1)!, 'r', out(1), 's', '',
      );
      expect(reply).to.deep.equal([-1, '1']);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('compares the whole owner:epoch: a second leader holding the same epoch is refused', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p, 'a');
      expect(fence).to.equal('a:1');
      const ids = await settled(p, [1]);
      const before = await snapshot(fixture.redis, p);
      expect(await p.emit('b:1', 1, [result(1)], NOW, all(ids))).to.deep.equal({ kind: 'fenced', next: 1 });
      expect(await p.emit('a:2', 1, [result(1)], NOW, all(ids))).to.deep.equal({ kind: 'fenced', next: 1 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('refuses every emit before any leader has taken a fence', async () => {
      const p = freshPartition(fixture.redis);
      await p.init();
      const before = await snapshot(fixture.redis, p);
      expect(await p.emit('', 1, [skip], NOW)).to.deep.equal({ kind: 'fenced', next: 1 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('refuses a run that does not start at the stored next (-2) and writes nothing', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 2]);
      await p.emit(fence, 1, [result(1)], NOW);
      const before = await snapshot(fixture.redis, p);
      expect(await p.emit(fence, 1, [result(1), result(2)], NOW, all(ids))).to.deep.equal({ kind: 'stale-next', next: 2 });
      expect(await p.emit(fence, 3, [skip], NOW)).to.deep.equal({ kind: 'stale-next', next: 2 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('changes nothing when a run is replayed', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 2]);
      const run = [result(1), result(2)];
      expect(await p.emit(fence, 1, run, NOW)).to.deep.equal({ kind: 'emitted', next: 3 });
      const after = await snapshot(fixture.redis, p);
      expect(await p.emit(fence, 1, run, NOW)).to.deep.equal({ kind: 'stale-next', next: 3 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(after);
    });

    it('refuses to skip a seq that is known in state (-3), anywhere in the run, and writes nothing', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1]);
      await fixture.redis.rpush(p.keys.input, envelopeRaw(3));
      await p.claim(1, 't:late', NOW, LEASE, 0);
      const before = await snapshot(fixture.redis, p);
      expect(await p.emit(fence, 1, [result(1), skip, skip], NOW, all(ids))).to.deep.equal({ kind: 'not-a-gap', next: 1 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });
  });
});
