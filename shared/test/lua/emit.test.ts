import { expect } from 'chai';
import { scriptKeys, wakeChannels, type EmitRequest, type EmitResult, type Partition } from '@inorder/shared';
import { claimed, envelopeRaw, freshPartition, snapshot, useListener } from '../support/lua.js';
import { useRedis } from '@inorder/testkit';

const NOW = 1_700_000_000_000;
const READ = 1_699_999_999_000;

describe('emit.lua', function () {
  const fixture = useRedis();
  const listener = useListener(fixture, wakeChannels().input);

  /** The output envelope a processor completes seq with. */
  const out = (seq: number): string => JSON.stringify({ seq, payload: { n: seq }, result: `r${seq}`, attempts: 1 });
  /** What emit.lua appends for it: the two sequencer timestamps spliced in before the closing brace. */
  const emitted = (seq: number, sequencingAt = READ, sequencedAt = NOW): string =>
    `${out(seq).slice(0, -1)},"sequencingAt":${sequencingAt},"sequencedAt":${sequencedAt}}`;

  /**
   * Walks seqs through claim and complete (results) or fail (tombstones), as processors do, one
   * settle call per seq, and returns each seq's results stream entry id.
   */
  async function settled(p: Partition, results: number[], tombstones: number[] = []): Promise<Map<number, string>> {
    const seqs = [...results, ...tombstones].sort((a, b) => a - b);
    const token = `t:${seqs.join('-')}`;
    await claimed(fixture.redis, p, token, seqs);
    for (const seq of seqs) {
      if (results.includes(seq)) await p.complete([{ seq, token, body: out(seq), createdAt: 1, processedAt: 2 }]);
      else await p.fail([{ seq, token, action: 'dead', body: JSON.stringify({ seq, reason: 'max-retries' }) }]);
    }
    const ids = new Map<number, string>();
    for (const [id, f] of await fixture.redis.xrange(p.keys.results, '-', '+')) {
      for (const seq of (f[1] ?? '').split(',')) ids.set(Number(seq), id);
    }
    return ids;
  }

  const entryIds = (ids: Map<number, string>, ...seqs: number[]): string[] => seqs.map((s) => ids.get(s)!);

  async function leader(p: Partition, owner = 'leader'): Promise<string> {
    return (await p.fence(owner)).fence;
  }

  /** Sends each request in turn, expecting the refusal paired with it, and checks that together they wrote nothing. */
  async function expectRefused(p: Partition, ...calls: Array<[EmitRequest, EmitResult]>): Promise<void> {
    const before = await snapshot(fixture.redis, p);
    for (const [request, refusal] of calls) expect(await p.emit(request), JSON.stringify(request)).to.deep.equal(refusal);
    expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
  }

  describe('emitting a run', () => {
    it('appends the outputs of a run of done seqs from next, in order, each with sequencingAt and sequencedAt', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 2, 3]);
      const reply = await p.emit({ fence, next: 1, now: NOW, done: entryIds(ids, 1, 2, 3), run: [{ count: 3, sequencingAt: READ }] });
      expect(reply).to.deep.equal({ kind: 'emitted', next: 4, results: 3, tombstones: 0 });
      const after = await snapshot(fixture.redis, p);
      expect(after[p.keys.output]).to.deep.equal([emitted(1), emitted(2), emitted(3)]);
      expect(after[p.keys.meta]).to.deep.equal({ epoch: '1', fence, next: '4', accepted: '3', emitted: '3', movedAt: String(NOW) });
      expect(after[p.keys.results], 'the emitted stream entries are gone (an empty stream stays)').to.deep.equal([]);
      expect(Object.keys(after).sort(), 'the state of the emitted seqs is gone').to.deep.equal(
        [p.keys.meta, p.keys.output, p.keys.owners, p.keys.results].sort(),
      );
      expect(JSON.parse((after[p.keys.output] as string[])[0]!)).to.deep.include({ seq: 1, sequencingAt: READ, sequencedAt: NOW });
    });

    it('moves past tombstones without output and counts only the outputs as emitted', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 3], [2]);
      const reply = await p.emit({ fence, next: 1, now: NOW, done: entryIds(ids, 1, 2, 3), run: [{ count: 3, sequencingAt: READ }] });
      expect(reply).to.deep.equal({ kind: 'emitted', next: 4, results: 2, tombstones: 1 });
      expect(await fixture.redis.lrange(p.keys.output, 0, -1)).to.deep.equal([emitted(1), emitted(3)]);
      expect(await fixture.redis.hget(p.keys.meta, 'emitted')).to.equal('2');
      expect(await fixture.redis.exists(p.keys.state)).to.equal(0);
      expect(await fixture.redis.xlen(p.keys.results)).to.equal(0);
    });

    it('stamps each seq with the sequencingAt of its own stretch, tombstones counted in the stretches', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      await settled(p, [1, 3, 4, 5], [2]);
      const reply = await p.emit({
        fence,
        next: 1,
        now: NOW,
        run: [
          { count: 1, sequencingAt: 100 },
          { count: 2, sequencingAt: 200 },
          { count: 2, sequencingAt: 300 },
        ],
      });
      expect(reply).to.deep.equal({ kind: 'emitted', next: 6, results: 4, tombstones: 1 });
      expect(await fixture.redis.lrange(p.keys.output, 0, -1)).to.deep.equal([
        emitted(1, 100),
        emitted(3, 200),
        emitted(4, 300),
        emitted(5, 300),
      ]);
    });

    it('deletes the named stream entries only, and leaves the seqs past the run in state', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 2, 3]);
      const reply = await p.emit({ fence, next: 1, now: NOW, done: entryIds(ids, 2), run: [{ count: 2, sequencingAt: READ }] });
      expect(reply).to.deep.equal({ kind: 'emitted', next: 3, results: 2, tombstones: 0 });
      expect((await fixture.redis.xrange(p.keys.results, '-', '+')).map(([id]) => id)).to.deep.equal(entryIds(ids, 1, 3));
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 3: out(3).slice(0, -1) });
    });

    it('clears the stall report and sets movedAt', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      await settled(p, [1]);
      await p.noteStall({ reason: 'waiting for seq 1', seq: 1, at: 5 });
      await p.emit({ fence, next: 1, now: NOW, run: [{ count: 1, sequencingAt: READ }] });
      expect(await fixture.redis.hmget(p.keys.meta, 'stall', 'movedAt')).to.deep.equal([null, String(NOW)]);
    });

    it("counts emitted across calls and starts at the partition's configured first seq", async () => {
      const p = freshPartition(fixture.redis, { seqStart: 100 });
      const fence = await leader(p);
      await settled(p, [100, 101, 102]);
      expect(await p.emit({ fence, next: 100, now: NOW, run: [{ count: 1, sequencingAt: READ }] })).to.deep.include({
        kind: 'emitted',
        next: 101,
      });
      expect(await p.emit({ fence, next: 101, now: NOW, run: [{ count: 2, sequencingAt: READ }] })).to.deep.include({
        kind: 'emitted',
        next: 103,
      });
      expect(await fixture.redis.hmget(p.keys.meta, 'next', 'emitted')).to.deep.equal(['103', '3']);
    });
  });

  describe('skipping a gap', () => {
    it('records one skipped member "from-to" scored from, counts the seqs skipped, and emits the run after it', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [5, 6]);
      const reply = await p.emit({
        fence,
        next: 1,
        now: NOW,
        skipTo: 5,
        done: entryIds(ids, 5, 6),
        run: [{ count: 2, sequencingAt: READ }],
      });
      expect(reply).to.deep.equal({ kind: 'emitted', next: 7, results: 2, tombstones: 0 });
      expect(await fixture.redis.zrange(p.keys.skipped, 0, -1, 'WITHSCORES')).to.deep.equal(['1-4', '1']);
      expect(await fixture.redis.hmget(p.keys.meta, 'skipped', 'lost', 'emitted', 'next')).to.deep.equal(['4', null, '2', '7']);
      expect(await fixture.redis.lrange(p.keys.output, 0, -1)).to.deep.equal([emitted(5), emitted(6)]);
    });

    it('skips with no run and adds a member per skipped range', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      expect(await p.emit({ fence, next: 1, now: NOW, skipTo: 3, run: [] })).to.deep.equal({
        kind: 'emitted',
        next: 3,
        results: 0,
        tombstones: 0,
      });
      expect(await p.emit({ fence, next: 3, now: NOW, skipTo: 4, run: [] })).to.deep.equal({
        kind: 'emitted',
        next: 4,
        results: 0,
        tombstones: 0,
      });
      expect(await fixture.redis.zrange(p.keys.skipped, 0, -1, 'WITHSCORES')).to.deep.equal(['1-2', '1', '3-3', '3']);
      expect(await fixture.redis.hget(p.keys.meta, 'skipped')).to.equal('3');
      expect(await fixture.redis.exists(p.keys.output)).to.equal(0);
    });

    it('counts the skipped seqs up to lostUpTo as lost, the others as gaps only', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      await p.emit({ fence, next: 1, now: NOW, skipTo: 11, lostUpTo: 3, run: [] });
      expect(await fixture.redis.hmget(p.keys.meta, 'skipped', 'lost')).to.deep.equal(['10', '3']);
      await p.emit({ fence, next: 11, now: NOW, skipTo: 21, lostUpTo: 500, run: [] });
      expect(await fixture.redis.hmget(p.keys.meta, 'skipped', 'lost')).to.deep.equal(['20', '13']);
      await p.emit({ fence, next: 21, now: NOW, skipTo: 31, lostUpTo: 20, run: [] });
      expect(await fixture.redis.hmget(p.keys.meta, 'skipped', 'lost')).to.deep.equal(['30', '13']);
    });

    it('refuses (-3, naming the seq) to skip a seq known in state, and writes nothing', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      await claimed(fixture.redis, p, 'p:1', [2400]);
      await settled(p, [2501]);
      await expectRefused(p, [
        { fence, next: 1, now: NOW, skipTo: 2501, lostUpTo: 2600, run: [{ count: 1, sequencingAt: READ }] },
        { kind: 'gap-known', next: 1, seq: 2400 },
      ]);
      for (const st of ['Q|1', `R|1|${envelopeRaw(3)}`, '{"seq":3', 'T']) {
        await fixture.redis.hset(p.keys.state, '3', st);
        expect(await p.emit({ fence, next: 1, now: NOW, skipTo: 5, run: [] })).to.deep.equal({ kind: 'gap-known', next: 1, seq: 3 });
      }
    });

    it('answers the raw reply of a refused skip as { -3, next, 0, 0, seq }', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      await fixture.redis.hset(p.keys.state, '2', 'Q|1');
      const k = p.keys;
      expect(await fixture.redis.inorderEmit(...scriptKeys('inorderEmit', k), fence, 1, NOW, 4, 0, '', '', 0)).to.deep.equal([
        -3,
        '1',
        0,
        0,
        '2',
      ]);
    });
  });

  describe('refusals', () => {
    it('refuses (-1) an emit carrying a stale fencing token and writes nothing', async () => {
      const p = freshPartition(fixture.redis);
      const old = await leader(p, 'a');
      const ids = await settled(p, [1, 2]);
      await leader(p, 'b');
      const before = await snapshot(fixture.redis, p);
      const k = p.keys;
      const reply = await fixture.redis.inorderEmit(...scriptKeys('inorderEmit', k), old, 1, NOW, 0, 0, '', '', 1, ids.get(1)!, 2, READ);
      expect(reply).to.deep.equal([-1, '1', 0, 0, '']);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('compares the whole owner:epoch: another owner with the same epoch, or the same owner with another, is refused', async () => {
      const p = freshPartition(fixture.redis);
      expect(await leader(p, 'a')).to.equal('a:1');
      const ids = await settled(p, [1]);
      await expectRefused(
        p,
        ...['b:1', 'a:2', 'a:1 ', 'a', ':1', ''].map((fence): [EmitRequest, EmitResult] => [
          { fence, next: 1, now: NOW, done: entryIds(ids, 1), skipTo: 0, run: [{ count: 1, sequencingAt: READ }] },
          { kind: 'fenced' },
        ]),
      );
    });

    it('refuses every emit before any leader has taken a fence', async () => {
      const p = freshPartition(fixture.redis);
      await p.init();
      await settled(p, [1]);
      await expectRefused(
        p,
        [{ fence: '', next: 1, now: NOW, run: [{ count: 1, sequencingAt: READ }] }, { kind: 'fenced' }],
        [{ fence: 'a:1', next: 1, now: NOW, skipTo: 3, run: [] }, { kind: 'fenced' }],
      );
    });

    it('refuses (-2) a call whose next differs from the stored next, and writes nothing', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      await settled(p, [1, 2, 3]);
      await p.emit({ fence, next: 1, now: NOW, run: [{ count: 1, sequencingAt: READ }] });
      await expectRefused(
        p,
        [
          { fence, next: 1, now: NOW, run: [{ count: 2, sequencingAt: READ }] },
          { kind: 'stale-next', next: 2 },
        ],
        [
          { fence, next: 3, now: NOW, run: [{ count: 1, sequencingAt: READ }] },
          { kind: 'stale-next', next: 2 },
        ],
      );
    });

    it('refuses (-4, naming the seq) a run holding a seq that is not settled, and writes nothing, skip included', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 3]);
      await claimed(fixture.redis, p, 'p:1', [2]);
      const notSettled: EmitResult = { kind: 'not-settled', next: 1, seq: 2 };
      const twoFromNext: EmitRequest = { fence, next: 1, now: NOW, run: [{ count: 2, sequencingAt: READ }] };
      // seq 2 claimed
      await expectRefused(
        p,
        [{ fence, next: 1, now: NOW, done: entryIds(ids, 1, 3), run: [{ count: 3, sequencingAt: READ }] }, notSettled],
        [
          {
            fence,
            next: 1,
            now: NOW,
            run: [
              { count: 1, sequencingAt: READ },
              { count: 4, sequencingAt: READ },
            ],
          },
          notSettled,
        ],
      );
      // seq 2 queued, then unknown
      await fixture.redis.hset(p.keys.state, '2', 'Q|1');
      await expectRefused(p, [twoFromNext, notSettled]);
      await fixture.redis.hdel(p.keys.state, '2');
      await expectRefused(p, [twoFromNext, notSettled]);
    });

    it('records no skip when the run after the gap is refused (-4)', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      await settled(p, [5]);
      await expectRefused(p, [
        { fence, next: 1, now: NOW, skipTo: 5, lostUpTo: 9, run: [{ count: 2, sequencingAt: READ }] },
        { kind: 'not-settled', next: 1, seq: 6 },
      ]);
    });

    it('changes nothing when an emitted call is replayed (-2)', async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      const ids = await settled(p, [1, 2]);
      const request = { fence, next: 1, now: NOW, done: entryIds(ids, 1, 2), run: [{ count: 2, sequencingAt: READ }] };
      expect(await p.emit(request)).to.deep.equal({ kind: 'emitted', next: 3, results: 2, tombstones: 0 });
      await expectRefused(
        p,
        [request, { kind: 'stale-next', next: 3 }],
        [
          { ...request, skipTo: 2 },
          { kind: 'stale-next', next: 3 },
        ],
      );
    });
  });

  describe('wake-ups', () => {
    it("publishes the partition's tag on the processors' wake channel when parked entries may now be admitted", async () => {
      const p = freshPartition(fixture.redis);
      const fence = await leader(p);
      await settled(p, [1, 2]);
      await listener.wakes.published();
      await p.emit({ fence, next: 1, now: NOW, run: [{ count: 1, sequencingAt: READ }] });
      expect(await listener.wakes.published(), 'nothing parked, nobody to wake').to.deep.equal([]);
      await fixture.redis.zadd(p.keys.parked, 50, envelopeRaw(50));
      await p.emit({ fence, next: 2, now: NOW, run: [{ count: 1, sequencingAt: READ }] });
      expect(await listener.wakes.published()).to.deep.equal([p.tag]);
      await p.emit({ fence: 'other:9', next: 3, now: NOW, skipTo: 4, run: [] });
      expect(await listener.wakes.published(), 'a refused emit wakes nobody').to.deep.equal([]);
    });
  });
});
