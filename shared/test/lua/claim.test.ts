import { expect } from 'chai';
import { PRIORITY_SHIFT, scriptKeys, type ClaimRequest, type Partition } from '@inorder/shared';
import { claimed, deadLetters, envelopeRaw, freshPartition, lapse, redisNow, snapshot } from '../support/lua.js';
import { waitFor, useRedis } from '@inorder/testkit';

const LEASE = 5000;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

describe('claim.lua', function () {
  const fixture = useRedis();

  async function push(p: Partition, ...raws: string[]): Promise<void> {
    await fixture.redis.rpush(p.keys.input, ...raws);
  }

  /** A claim of `count` entries under `token` (owner: the token's prefix). */
  function request(token: string, count = 100, window = 0): ClaimRequest {
    return { count, token, owner: token.slice(0, token.lastIndexOf(':')), leaseMs: LEASE, window };
  }

  /** The reply of a claim that took, dropped, parked and reaped nothing. */
  const nothing = (now: number) => ({ claimed: [], dropped: [], replayed: false, now, parked: 0, reaped: 0, dueInMs: undefined });

  describe('claiming', () => {
    it('claims from the head in order as C|token|attempts|raw, records the claim as remaining|seqs and leaves the rest', async () => {
      const p = freshPartition(fixture.redis);
      const raws = [1, 2, 3, 4, 5].map((s) => envelopeRaw(s));
      await push(p, ...raws);
      const result = await p.claim(request('p1:1', 3));
      expect(result).to.deep.equal({
        claimed: [1, 2, 3].map((seq) => ({ seq, attempts: 1, raw: raws[seq - 1] })),
        dropped: [],
        replayed: false,
        now: result.now,
        parked: 0,
        reaped: 0,
        dueInMs: undefined,
      });
      expect(await snapshot(fixture.redis, p)).to.deep.equal({
        [p.keys.input]: raws.slice(3),
        [p.keys.state]: { 1: `C|p1:1|1|${raws[0]}`, 2: `C|p1:1|1|${raws[1]}`, 3: `C|p1:1|1|${raws[2]}` },
        [p.keys.claims]: { 'p1:1': '3|1,2,3' },
        [p.keys.owners]: ['p1', String(result.now + LEASE)],
        [p.keys.meta]: { accepted: '3' },
      });
    });

    it("sets the owner's liveness deadline on Redis's clock: TIME + leaseMs", async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(1));
      const before = await redisNow(fixture.redis);
      const result = await p.claim(request('p1:1'));
      const after = await redisNow(fixture.redis);
      expect(result.now).to.be.within(before, after);
      expect(Number(await fixture.redis.zscore(p.keys.owners, 'p1'))).to.equal(result.now + LEASE);
    });

    it('raises accepted to the highest seq it claims and never lowers it', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.meta, 'accepted', '50');
      await push(p, envelopeRaw(3));
      await p.claim(request('t:1'));
      expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('50');
      await push(p, envelopeRaw(61), envelopeRaw(60));
      await p.claim(request('t:2'));
      expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('61');
    });

    it('claims everything when asked for more than the input holds', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(1), envelopeRaw(2));
      const result = await p.claim(request('t:1', 1000));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1, 2]);
      expect(await fixture.redis.exists(p.keys.input)).to.equal(0);
    });

    it('writes nothing when the input is empty', async () => {
      const p = freshPartition(fixture.redis);
      const result = await p.claim(request('t:1'));
      expect(result).to.deep.equal(nothing(result.now));
      expect(await snapshot(fixture.redis, p)).to.deep.equal({});
    });

    it('reads a seq that is not the first key by decoding the JSON', async () => {
      const p = freshPartition(fixture.redis);
      const raw = JSON.stringify({ payload: 'x', createdAt: 1, seq: 7 });
      await push(p, raw);
      expect((await p.claim(request('t:1'))).claimed).to.deep.equal([{ seq: 7, attempts: 1, raw }]);
      expect(await fixture.redis.hget(p.keys.state, '7')).to.equal(`C|t:1|1|${raw}`);
    });

    it('dead-letters an envelope naming seq twice, taking no seq: it and the processor would read different seqs', async () => {
      const p = freshPartition(fixture.redis);
      const raw = '{"seq":8,"seq":9,"payload":1}';
      await push(p, raw);
      const result = await p.claim(request('t:1'));
      expect(result.claimed).to.deep.equal([]);
      expect(result.dropped).to.deep.equal([
        { kind: 'malformed', seq: undefined, reason: 'unreadable entry: the seq key appears more than once (8, then 9)' },
      ]);
      expect(await fixture.redis.exists(p.keys.state)).to.equal(0);
    });

    it('claims the largest safe integer seq and keeps its digits exact', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(MAX_SEQ));
      const result = await p.claim(request('t:1'));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([MAX_SEQ]);
      expect(await fixture.redis.hkeys(p.keys.state)).to.deep.equal(['9007199254740991']);
      expect(await fixture.redis.hget(p.keys.claims, 't:1')).to.equal('1|9007199254740991');
      expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('9007199254740991');
    });

    it('re-claims a seq returned to the input (Q), counting the attempt', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '4', 'Q|2');
      await push(p, envelopeRaw(4));
      expect((await p.claim(request('t:9'))).claimed).to.deep.equal([{ seq: 4, attempts: 3, raw: envelopeRaw(4) }]);
      expect(await fixture.redis.hget(p.keys.state, '4')).to.equal(`C|t:9|3|${envelopeRaw(4)}`);
    });

    it('claims a seq given back with no attempt counted (Q|0) as attempt 1', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '4', 'Q|0');
      await push(p, envelopeRaw(4));
      expect((await p.claim(request('t:9'))).claimed[0]?.attempts).to.equal(1);
    });

    it('answers the raw reply as { claimed, dropped, replayed, now, parked, reaped, dueIn } with flat lists', async () => {
      const p = freshPartition(fixture.redis);
      const k = p.keys;
      await push(p, envelopeRaw(1), 'junk');
      const reply = await fixture.redis.inorderClaim(...scriptKeys('inorderClaim', k), 'strict', 10, 't:1', 't', LEASE, 0, 0);
      expect(reply).to.deep.equal([['1', 1, envelopeRaw(1)], ['malformed', '', 'unreadable entry: not JSON'], 0, reply[3], 0, 0, -2]);
      expect(reply[3]).to.be.a('number');
    });
  });

  describe('unreadable entries', () => {
    const unreadable: Array<[raw: string, why: string]> = [
      ['{"seq":1026,"payload":{"a":1}', 'not JSON'],
      ['not json', 'not JSON'],
      ['{"payload":1}', 'no seq field'],
      ['[1,2]', 'no seq field'],
      ['12', 'not a JSON object'],
      ['{"seq":0,"payload":1}', 'seq is not an integer from 1 to 2^53 - 1'],
      ['{"seq":-3,"payload":1}', 'seq is not an integer from 1 to 2^53 - 1'],
      ['{"seq":1.5,"payload":1}', 'seq is not an integer from 1 to 2^53 - 1'],
      ['{"seq":"2","payload":1}', 'seq is not an integer from 1 to 2^53 - 1'],
      ['{"seq":9007199254740992,"payload":1}', 'seq is not an integer from 1 to 2^53 - 1'],
    ];

    it('dead-letters unreadable entries as malformed, with the reason and the raw text, and claims on past them', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, ...unreadable.map(([raw]) => raw), envelopeRaw(1));
      const result = await p.claim(request('t:1'));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1]);
      expect(result.dropped).to.deep.equal(
        unreadable.map(([, why]) => ({ kind: 'malformed', seq: undefined, reason: `unreadable entry: ${why}` })),
      );
      expect(await deadLetters(fixture.redis, p)).to.deep.equal(
        unreadable.map(([raw, why]) => ({ reason: 'malformed', raw, lastError: `unreadable entry: ${why}`, deadAt: result.now })),
      );
      expect(await fixture.redis.hget(p.keys.meta, 'dead')).to.equal(String(unreadable.length));
      expect(await fixture.redis.hkeys(p.keys.state)).to.deep.equal(['1']);
      expect(await fixture.redis.hget(p.keys.claims, 't:1')).to.equal('1|1');
    });

    it('takes no seq for an unreadable entry: states, claims, owners and accepted stay as they were', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'other:1', [1026]);
      const before = await snapshot(fixture.redis, p);
      await push(p, '{"seq":1026,"payload":{"a":1}', '{"seq":2000,');
      const result = await p.claim(request('t:1'));
      expect(result.claimed).to.deep.equal([]);
      expect(result.dropped.map((d) => d.kind)).to.deep.equal(['malformed', 'malformed']);
      const after = await snapshot(fixture.redis, p);
      expect(after[p.keys.dead]).to.have.length(2);
      expect(after[p.keys.meta]).to.deep.equal({ ...(before[p.keys.meta] as object), dead: '2' });
      delete after[p.keys.dead];
      delete (after[p.keys.meta] as Record<string, string>).dead;
      expect(after).to.deep.equal(before);
    });

    it('dead-letters text that only looks like JSON (leading zeros, hex) as malformed', async () => {
      const p = freshPartition(fixture.redis);
      const raws = ['{"seq":01026,"payload":1}', '{"seq":0x10,"payload":1}'];
      await push(p, ...raws);
      const result = await p.claim(request('t:1'));
      expect(result.claimed).to.deep.equal([]);
      expect(result.dropped.map((d) => [d.kind, d.seq])).to.deep.equal([
        ['malformed', undefined],
        ['malformed', undefined],
      ]);
      expect((await deadLetters(fixture.redis, p)).map((d) => d.raw)).to.deep.equal(raws);
      expect(await fixture.redis.exists(p.keys.state, p.keys.claims)).to.equal(0);
    });

    it('writes no claim and no owner when every entry was unreadable', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, 'junk');
      await p.claim(request('t:1'));
      expect(await fixture.redis.exists(p.keys.owners, p.keys.claims, p.keys.state, p.keys.input)).to.equal(0);
    });
  });

  describe('window (strict pipelines)', () => {
    it('parks a seq far ahead by seq and keeps claiming the ones behind it: all of 1..1000 are claimable', async () => {
      const p = freshPartition(fixture.redis);
      const far = envelopeRaw(100_000);
      await push(p, far);
      await push(p, ...Array.from({ length: 1000 }, (_, i) => envelopeRaw(i + 1)));
      const first = await p.claim(request('t:1', 1000, 10_000));
      expect(first.parked).to.equal(1);
      expect(first.claimed.map((c) => c.seq)).to.deep.equal(Array.from({ length: 999 }, (_, i) => i + 1));
      const second = await p.claim(request('t:2', 1000, 10_000));
      expect(second.claimed.map((c) => c.seq)).to.deep.equal([1000]);
      expect(second.parked).to.equal(0);
      expect(await fixture.redis.zrange(p.keys.parked, 0, -1, 'WITHSCORES')).to.deep.equal([far, '100000']);
      expect(await fixture.redis.exists(p.keys.input)).to.equal(0);
      expect(await fixture.redis.hexists(p.keys.state, '100000')).to.equal(0);
      expect(await fixture.redis.hget(p.keys.meta, 'accepted')).to.equal('1000');
    });

    it('parks at exactly next + window and claims the seq just below it', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(5), envelopeRaw(4));
      const result = await p.claim(request('t:1', 10, 4));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([4]);
      expect(result.parked).to.equal(1);
      expect(await fixture.redis.zrange(p.keys.parked, 0, -1, 'WITHSCORES')).to.deep.equal([envelopeRaw(5), '5']);
    });

    it('measures the window from the stored next', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.meta, 'next', '100');
      await push(p, envelopeRaw(110), envelopeRaw(109));
      const result = await p.claim(request('t:1', 10, 10));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([109]);
      expect(await fixture.redis.zrange(p.keys.parked, 0, -1)).to.deep.equal([envelopeRaw(110)]);
    });

    it('writes only the parked entries when everything taken is past the window', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(7), envelopeRaw(6));
      const result = await p.claim(request('t:1', 10, 2));
      expect(result).to.deep.equal({ ...nothing(result.now), parked: 2 });
      expect(await snapshot(fixture.redis, p)).to.deep.equal({
        [p.keys.parked]: [envelopeRaw(6), '6', envelopeRaw(7), '7'],
      });
    });

    it('unparks the entries the window now admits, lowest first, before popping the input', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(7), envelopeRaw(5), envelopeRaw(6), envelopeRaw(9));
      expect((await p.claim(request('t:1', 10, 4))).parked).to.equal(4);
      await fixture.redis.hset(p.keys.meta, 'next', '4'); // as an emit of 1..3 leaves it: the window now ends before 8
      await push(p, envelopeRaw(4));
      const first = await p.claim(request('t:2', 2, 4));
      expect(first.claimed.map((c) => c.seq)).to.deep.equal([5, 6]);
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([envelopeRaw(4)]);
      const second = await p.claim(request('t:3', 10, 4));
      expect(second.claimed.map((c) => c.seq)).to.deep.equal([7, 4]);
      expect(second.parked).to.equal(0);
      expect(await fixture.redis.zrange(p.keys.parked, 0, -1, 'WITHSCORES')).to.deep.equal([envelopeRaw(9), '9']);
    });

    it('claims any seq when the window is 0 (no limit)', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(1_000_000));
      const result = await p.claim(request('t:1', 10, 0));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1_000_000]);
      expect(result.parked).to.equal(0);
      expect(await fixture.redis.exists(p.keys.parked)).to.equal(0);
    });

    it('claims entries parked earlier once the window is 0 (no limit)', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(5));
      expect((await p.claim(request('t:1', 10, 4))).parked).to.equal(1);
      const result = await p.claim(request('t:2', 10, 0));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([5]);
      expect(await fixture.redis.exists(p.keys.parked)).to.equal(0);
    });
  });

  describe('copies of a seq', () => {
    /** The states a seq goes through after its claim, each holding the message of seq N. */
    async function settledStates(p: Partition): Promise<Record<string, string>> {
      const states = {
        1: `C|other:1|1|${envelopeRaw(1)}`,
        2: `R|1|${envelopeRaw(2, { attempts: 1, lastError: 'boom', processingAt: 5 })}`,
        3: envelopeRaw(3, { result: 'r3', attempts: 1, processingAt: 5, processedAt: 6 }).slice(0, -1),
        4: 'T',
      };
      await fixture.redis.hset(p.keys.state, states);
      return states;
    }

    it('drops a copy of a claimed, retrying, done or dead seq carrying the same payload and id as a duplicate', async () => {
      const p = freshPartition(fixture.redis);
      const states = await settledStates(p);
      await push(p, ...[1, 2, 3, 4].map((s) => envelopeRaw(s, { createdAt: 2000 }))); // a resend, stamped anew
      const result = await p.claim(request('t:1'));
      expect(result.claimed).to.deep.equal([]);
      expect(result.dropped).to.deep.equal([
        { kind: 'duplicate', seq: 1, reason: 'seq 1 is claimed already' },
        { kind: 'duplicate', seq: 2, reason: 'seq 2 is waiting for a retry already' },
        { kind: 'duplicate', seq: 3, reason: 'seq 3 is done already' },
        { kind: 'duplicate', seq: 4, reason: 'seq 4 is dead-lettered already' },
      ]);
      expect(await snapshot(fixture.redis, p)).to.deep.equal({
        [p.keys.state]: states,
        [p.keys.meta]: { duplicates: '4' },
      });
    });

    it("dead-letters a copy carrying another payload or id as conflict once its seq's message is proven, naming the seq it read", async () => {
      const p = freshPartition(fixture.redis);
      const states = await settledStates(p);
      const copies = [envelopeRaw(2, { id: 'another-id' }), envelopeRaw(3, { payload: [3] })];
      await push(p, ...copies);
      const result = await p.claim(request('t:1'));
      const why = ['waiting for a retry', 'done'].map(
        (what, i) => `seq ${i + 2} is ${what} already, with another payload or id: this copy was not processed`,
      );
      expect(result.claimed).to.deep.equal([]);
      expect(result.dropped).to.deep.equal(why.map((reason, i) => ({ kind: 'conflict', seq: i + 2, reason })));
      expect(await deadLetters(fixture.redis, p)).to.deep.equal(
        copies.map((raw, i) => ({ reason: 'conflict', raw, lastError: why[i], readSeq: i + 2, deadAt: result.now })),
      );
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal(states);
      expect(await fixture.redis.hgetall(p.keys.meta)).to.deep.equal({ dead: '2' });
      expect(await fixture.redis.exists(p.keys.claims, p.keys.owners, p.keys.held)).to.equal(0);
    });

    it('holds a copy carrying another payload that meets a claim of its seq, until that claim is judged', async () => {
      const p = freshPartition(fixture.redis);
      const states = await settledStates(p);
      const other = envelopeRaw(1, { payload: { n: 'other' } });
      const another = envelopeRaw(1, { payload: { n: 'another' } });
      await push(p, other, another);
      const result = await p.claim(request('t:1'));
      expect(result.dropped).to.deep.equal([
        { kind: 'held', seq: 1, reason: 'seq 1 is claimed by another payload or id: this copy is held until that claim is judged' },
        { kind: 'conflict', seq: 1, reason: 'seq 1 is claimed already, with another payload or id: this copy was not processed' },
      ]);
      expect(await fixture.redis.hgetall(p.keys.held)).to.deep.equal({ 1: other });
      expect((await deadLetters(fixture.redis, p)).map((d) => d.raw)).to.deep.equal([another]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal(states);
    });

    it('drops any copy of a dead-lettered seq as a duplicate: its envelope is in the dead letters, not compared', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, '4', 'T');
      await push(p, envelopeRaw(4, { payload: 'other' }));
      const result = await p.claim(request('t:1'));
      expect(result.dropped.map((d) => [d.kind, d.seq, d.reason])).to.deep.equal([['duplicate', 4, 'seq 4 is dead-lettered already']]);
      expect(await fixture.redis.llen(p.keys.dead)).to.equal(0);
    });

    it('claims the first copy of a seq in a batch, drops the same message again and holds another one', async () => {
      const p = freshPartition(fixture.redis);
      const other = envelopeRaw(4, { id: 'again' });
      await push(p, envelopeRaw(3), envelopeRaw(4), envelopeRaw(3, { createdAt: 7 }), other);
      const result = await p.claim(request('t:1'));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([3, 4]);
      expect(result.dropped.map((d) => [d.kind, d.seq])).to.deep.equal([
        ['duplicate', 3],
        ['held', 4],
      ]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 3: `C|t:1|1|${envelopeRaw(3)}`, 4: `C|t:1|1|${envelopeRaw(4)}` });
      expect(await fixture.redis.hget(p.keys.claims, 't:1')).to.equal('2|3,4');
      expect(await fixture.redis.hgetall(p.keys.held)).to.deep.equal({ 4: other });
      expect(await deadLetters(fixture.redis, p)).to.deep.equal([]);
      expect(await fixture.redis.hmget(p.keys.meta, 'duplicates', 'dead')).to.deep.equal(['1', null]);
    });

    it('drops a seq below next (emitted already) as a duplicate, without a dead letter', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.meta, 'next', '10');
      await push(p, envelopeRaw(9, { payload: 'whatever' }), envelopeRaw(10));
      const result = await p.claim(request('t:1'));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([10]);
      expect(result.dropped).to.deep.equal([{ kind: 'duplicate', seq: 9, reason: 'seq 9 was emitted already' }]);
      expect(await fixture.redis.exists(p.keys.dead)).to.equal(0);
      expect(await fixture.redis.hmget(p.keys.meta, 'duplicates', 'dead')).to.deep.equal(['1', null]);
    });

    it('dead-letters a seq below next that lies in a skipped range as late, naming the range and the seq', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.meta, 'next', '20');
      await fixture.redis.zadd(p.keys.skipped, 3, '3-5', 7, '7-7', 12, '12-15');
      const raws = [2, 3, 5, 6, 7, 8, 15, 16].map((s) => envelopeRaw(s));
      await push(p, ...raws);
      const result = await p.claim(request('t:1'));
      expect(result.claimed).to.deep.equal([]);
      expect(result.dropped.map((d) => [d.kind, d.seq])).to.deep.equal([
        ['duplicate', 2],
        ['late', 3],
        ['late', 5],
        ['duplicate', 6],
        ['late', 7],
        ['duplicate', 8],
        ['late', 15],
        ['duplicate', 16],
      ]);
      const late = result.dropped.find((d) => d.seq === 15);
      expect(late?.reason).to.equal('seq 15 arrived after it was skipped as a gap (skipped 12-15)');
      expect(await deadLetters(fixture.redis, p)).to.deep.equal(
        [3, 5, 7, 15].map((seq) => ({
          reason: 'late',
          raw: envelopeRaw(seq),
          lastError: `seq ${seq} arrived after it was skipped as a gap (skipped ${seq <= 5 ? '3-5' : seq === 7 ? '7-7' : '12-15'})`,
          readSeq: seq,
          deadAt: result.now,
        })),
      );
      expect(await fixture.redis.hmget(p.keys.meta, 'duplicates', 'dead')).to.deep.equal(['4', '4']);
      expect(await fixture.redis.exists(p.keys.state, p.keys.claims, p.keys.owners)).to.equal(0);
    });

    it('names the exact readSeq in the dead letter of a copy of a large seq', async () => {
      const p = freshPartition(fixture.redis);
      await fixture.redis.hset(p.keys.state, String(MAX_SEQ), `R|1|${envelopeRaw(MAX_SEQ)}`);
      await push(p, envelopeRaw(MAX_SEQ, { payload: 'other' }));
      await p.claim(request('t:1'));
      expect((await deadLetters(fixture.redis, p)).map((d) => d.readSeq)).to.deep.equal([MAX_SEQ]);
    });
  });

  describe('token reuse', () => {
    it('answers replayed and claims nothing for a token already used (a resent call)', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(1), envelopeRaw(2));
      await p.claim(request('t:1', 1));
      const before = await snapshot(fixture.redis, p);
      const result = await p.claim(request('t:1', 10));
      expect(result).to.deep.equal({ ...nothing(result.now), replayed: true });
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });
  });

  describe('reaping dead owners', () => {
    it('returns the claims of owners whose liveness lapsed before claiming, counting the attempt', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'dead:1', [1, 2]);
      await claimed(fixture.redis, p, 'dead:2', [3]);
      await claimed(fixture.redis, p, 'live:1', [4]);
      await push(p, envelopeRaw(5));
      await lapse(fixture.redis, p, 'dead');
      const result = await p.claim(request('next:1'));
      expect(result.reaped).to.equal(3);
      expect(result.claimed.map((c) => [c.seq, c.attempts]).sort((a, b) => a[0]! - b[0]!)).to.deep.equal([
        [1, 2],
        [2, 2],
        [3, 2],
        [5, 1],
      ]);
      expect(result.claimed.map((c) => c.seq).at(-1), 'reaped seqs go to the head, ahead of the waiting input').to.equal(5);
      expect(await fixture.redis.hkeys(p.keys.claims)).to.have.members(['live:1', 'next:1']);
      expect(await fixture.redis.zrange(p.keys.owners, 0, -1)).to.have.members(['live', 'next']);
      expect(await fixture.redis.hget(p.keys.state, '4')).to.match(/^C\|live:1\|1\|/);
    });

    it('puts the reaped seqs back at the head in seq order', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'dead:1', [1, 2, 3]);
      await push(p, envelopeRaw(4));
      await lapse(fixture.redis, p, 'dead');
      const result = await p.claim(request('next:1', 10));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1, 2, 3, 4]);
    });

    it("leaves the seqs of a dead owner's claim that were settled since", async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'dead:1', [1, 2, 3, 4]);
      await p.complete([{ seq: 1, token: 'dead:1', body: '{"seq":1,"result":1}', createdAt: 1, processedAt: 2 }]);
      await p.fail([{ seq: 2, token: 'dead:1', action: 'retry', delayMs: 60_000, body: envelopeRaw(2) }]);
      await p.fail([{ seq: 3, token: 'dead:1', action: 'dead', body: '{"seq":3}' }]);
      await lapse(fixture.redis, p, 'dead');
      const result = await p.claim(request('next:1'));
      expect(result.reaped).to.equal(1);
      expect(result.claimed).to.deep.equal([{ seq: 4, attempts: 2, raw: envelopeRaw(4) }]);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({
        1: '{"seq":1,"result":1',
        2: `R|1|${envelopeRaw(2)}`,
        3: 'T',
        4: `C|next:1|2|${envelopeRaw(4)}`,
      });
      expect(await fixture.redis.hgetall(p.keys.claims)).to.deep.equal({ 'next:1': '1|4' });
    });

    it("reaps on Redis's clock: a lease of 1 ms lapses with no deadline written by hand", async () => {
      const p = freshPartition(fixture.redis);
      const first = await claimed(fixture.redis, p, 'quick:1', [1], { leaseMs: 1 });
      await waitFor(async () => (await redisNow(fixture.redis)) > first.now + 1, { timeoutMs: 2000 });
      const result = await p.claim(request('next:1'));
      expect(result.reaped).to.equal(1);
      expect(result.claimed).to.deep.equal([{ seq: 1, attempts: 2, raw: envelopeRaw(1) }]);
      expect(await fixture.redis.zscore(p.keys.owners, 'quick')).to.equal(null);
    });

    it('leaves an owner whose deadline has not passed', async () => {
      const p = freshPartition(fixture.redis);
      await claimed(fixture.redis, p, 'live:1', [1]);
      await push(p, envelopeRaw(2));
      const result = await p.claim(request('next:1'));
      expect(result.reaped).to.equal(0);
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([2]);
      expect(await fixture.redis.hget(p.keys.state, '1')).to.match(/^C\|live:1\|1\|/);
    });

    it('reaps at most 10 dead owners per call, the longest dead first', async () => {
      const p = freshPartition(fixture.redis);
      const now = await redisNow(fixture.redis);
      for (let i = 1; i <= 12; i++) await claimed(fixture.redis, p, `dead${i}:1`, [i]);
      for (let i = 1; i <= 12; i++) await fixture.redis.zadd(p.keys.owners, now - 10_000 + i, `dead${i}`);
      expect((await p.claim(request('next:1', 1))).reaped).to.equal(10);
      expect((await fixture.redis.zrange(p.keys.owners, 0, -1)).filter((o) => o.startsWith('dead'))).to.deep.equal(['dead11', 'dead12']);
      expect((await p.claim(request('next:2', 1))).reaped).to.equal(2);
    });
  });

  describe('retries', () => {
    const retryBody = (seq: number): string => envelopeRaw(seq, { attempts: 1, lastError: 'boom' });

    async function waiting(p: Partition, entries: Array<[seq: number, dueFromNow: number, attempts?: number]>): Promise<void> {
      const now = await redisNow(fixture.redis);
      for (const [seq, dueFromNow, attempts = 1] of entries) {
        await fixture.redis.hset(p.keys.state, String(seq), `R|${attempts}|${retryBody(seq)}`);
        await fixture.redis.zadd(p.keys.delayed, now + dueFromNow, String(seq));
      }
    }

    it('moves due retries to the head of the input as Q and claims them, earliest due first, counting the attempt', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(9));
      await waiting(p, [
        [3, -10, 2],
        [1, -30],
        [2, -20],
      ]);
      const result = await p.claim(request('t:1', 10));
      expect(result.claimed).to.deep.equal([
        { seq: 1, attempts: 2, raw: retryBody(1) },
        { seq: 2, attempts: 2, raw: retryBody(2) },
        { seq: 3, attempts: 3, raw: retryBody(3) },
        { seq: 9, attempts: 1, raw: envelopeRaw(9) },
      ]);
      expect(result.dueInMs).to.equal(undefined);
      expect(await fixture.redis.exists(p.keys.delayed, p.keys.input)).to.equal(0);
    });

    it('promotes no more than it claims, the earliest due first, and leaves the others due', async () => {
      const p = freshPartition(fixture.redis);
      await waiting(p, [
        [2, -10],
        [1, -30],
        [3, -20],
      ]);
      const result = await p.claim(request('t:1', 1));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([1]);
      expect(result.dueInMs, 'not looked up when the call claimed something').to.equal(undefined);
      expect(await fixture.redis.zrange(p.keys.delayed, 0, -1)).to.deep.equal(['3', '2']);
      expect(await fixture.redis.hmget(p.keys.state, '2', '3')).to.deep.equal([`R|1|${retryBody(2)}`, `R|1|${retryBody(3)}`]);
      expect(await fixture.redis.exists(p.keys.input)).to.equal(0);
    });

    it('leaves a promoted retry at the head of the input as Q when the claim is filled before it', async () => {
      const p = freshPartition(fixture.redis);
      await push(p, envelopeRaw(5));
      expect((await p.claim(request('t:1', 1, 4))).parked).to.equal(1);
      await fixture.redis.hset(p.keys.meta, 'next', '2'); // the window now admits 5
      await push(p, envelopeRaw(4));
      await waiting(p, [[3, -10, 2]]);
      const result = await p.claim(request('t:2', 1, 4));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([5]);
      expect(await fixture.redis.lrange(p.keys.input, 0, -1)).to.deep.equal([retryBody(3), envelopeRaw(4)]);
      expect(await fixture.redis.hget(p.keys.state, '3')).to.equal('Q|2');
      expect(await fixture.redis.exists(p.keys.delayed)).to.equal(0);
    });

    it('answers dueIn for the earliest retry still waiting and leaves it alone', async () => {
      const p = freshPartition(fixture.redis);
      await waiting(p, [
        [1, 60_000],
        [2, 5000],
      ]);
      const before = await snapshot(fixture.redis, p);
      const result = await p.claim(request('t:1'));
      expect(result.claimed).to.deep.equal([]);
      expect(result.dueInMs).to.be.within(4000, 5000);
      expect(await snapshot(fixture.redis, p)).to.deep.equal(before);
    });

    it('drops a schedule whose seq no longer waits for a retry, pushing nothing', async () => {
      const p = freshPartition(fixture.redis);
      const now = await redisNow(fixture.redis);
      await fixture.redis.hset(p.keys.state, '2', `C|o:1|2|${envelopeRaw(2)}`);
      await fixture.redis.hset(p.keys.claims, 'o:1', '1|2');
      await fixture.redis.zadd(p.keys.owners, now + 60_000, 'o');
      await fixture.redis.zadd(p.keys.delayed, now - 1, '1', now - 1, '2');
      const result = await p.claim(request('t:1'));
      expect(result.claimed).to.deep.equal([]);
      expect(await fixture.redis.exists(p.keys.input, p.keys.delayed)).to.equal(0);
      expect(await fixture.redis.hgetall(p.keys.state)).to.deep.equal({ 2: `C|o:1|2|${envelopeRaw(2)}` });
    });
  });

  describe('unordered pipelines (ordering none)', () => {
    it('claims the lowest scores first, with no window and no parking, whatever next is', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      const k = p.keys;
      await fixture.redis.hset(k.meta, 'next', '500');
      await fixture.redis.zadd(
        k.queue,
        5 * PRIORITY_SHIFT + 1,
        envelopeRaw(1),
        -2 * PRIORITY_SHIFT + 2,
        envelopeRaw(100_000),
        5 * PRIORITY_SHIFT + 3,
        envelopeRaw(3),
      );
      await fixture.redis.rpush(k.input, envelopeRaw(7)); // not this pipeline's input
      const reply = await fixture.redis.inorderClaim(...scriptKeys('inorderClaim', k), 'none', 2, 't:1', 't', LEASE, 1, 0);
      expect(reply[0]).to.deep.equal(['100000', 1, envelopeRaw(100_000), '1', 1, envelopeRaw(1)]);
      expect(reply[4]).to.equal(0);
      expect(await fixture.redis.zrange(k.queue, 0, -1)).to.deep.equal([envelopeRaw(3)]);
      expect(await fixture.redis.lrange(k.input, 0, -1)).to.deep.equal([envelopeRaw(7)]);
      expect(await fixture.redis.exists(k.parked)).to.equal(0);
      expect(await fixture.redis.hget(k.claims, 't:1')).to.equal('2|100000,1');
      expect(await fixture.redis.hget(k.meta, 'accepted')).to.equal(null);
    });

    it('dead-letters unreadable entries and drops duplicates as strict pipelines do', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      await fixture.redis.hset(p.keys.state, '2', `C|other:1|1|${envelopeRaw(2)}`);
      await fixture.redis.zadd(p.keys.queue, 1, 'junk', 2, envelopeRaw(2), 3, envelopeRaw(3));
      const result = await p.claim(request('t:1'));
      expect(result.claimed.map((c) => c.seq)).to.deep.equal([3]);
      expect(result.dropped.map((d) => [d.kind, d.seq])).to.deep.equal([
        ['malformed', undefined],
        ['duplicate', 2],
      ]);
      expect(await fixture.redis.llen(p.keys.dead)).to.equal(1);
    });

    it('puts reaped claims and due retries back at the head of their priority class', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      const urgent = envelopeRaw(1, { priority: -5 });
      await fixture.redis.zadd(p.keys.queue, -5 * PRIORITY_SHIFT, urgent);
      expect((await p.claim({ ...request('dead:1'), count: 1 })).claimed.map((c) => c.seq)).to.deep.equal([1]);
      await lapse(fixture.redis, p, 'dead');
      const now = await redisNow(fixture.redis);
      await fixture.redis.hset(p.keys.state, '2', `R|1|${envelopeRaw(2)}`);
      await fixture.redis.zadd(p.keys.delayed, now - 1, '2');
      await fixture.redis.zadd(p.keys.queue, 7, envelopeRaw(3), -5 * PRIORITY_SHIFT + 9, envelopeRaw(4, { priority: -5 }));
      const result = await p.claim(request('next:1', 10));
      expect(result.reaped).to.equal(1);
      expect(result.claimed.map((c) => [c.seq, c.attempts])).to.deep.equal([
        [1, 2],
        [4, 1],
        [2, 2],
        [3, 1],
      ]);
    });

    it('writes nothing when the queue is empty', async () => {
      const p = freshPartition(fixture.redis, { ordering: 'none' });
      const result = await p.claim(request('t:1'));
      expect(result).to.deep.equal(nothing(result.now));
      expect(await snapshot(fixture.redis, p)).to.deep.equal({});
    });
  });
});
