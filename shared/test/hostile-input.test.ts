import { expect } from 'chai';
import { serializeEnvelope } from '@inorder/shared';
import { usePipelines, type TestPipeline, checkOrder, range, waitFor } from '@inorder/testkit';

/** Entries real producers, bugs and attackers put on an input list, and what becomes of them. */
describe('hostile input (in process)', function () {
  this.timeout(60_000);
  const fixture = usePipelines();

  const good = (seq: number, payload: unknown = { n: seq }): string => serializeEnvelope({ seq, payload, createdAt: Date.now() });

  async function started(settings: { window?: number } = {}): Promise<TestPipeline> {
    const pipeline = fixture.pipeline();
    await pipeline.processor(async (payload, { seq }) => ({ seq, payload }), settings);
    await pipeline.sequencer();
    return pipeline;
  }

  async function outputSeqs(pipeline: TestPipeline): Promise<number[]> {
    return (await pipeline.output()).map((e) => e.seq);
  }

  it('drains 1,000 seqs queued behind one far ahead of the window, and parks the far one', async () => {
    const pipeline = await started({ window: 10_000 });
    const k = pipeline.partition.keys;
    const far = good(100_000);
    await pipeline.redis.rpush(k.input, far, ...range(1, 1000).map((s) => good(s)));
    await pipeline.settled(1000);
    expect(checkOrder(await outputSeqs(pipeline), range(1, 1000))).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
    expect(await pipeline.redis.zrange(k.parked, 0, -1, 'WITHSCORES')).to.deep.equal([far, '100000']);
    expect((await pipeline.partition.status()).parked).to.equal(1);
  });

  it('never lets the largest safe seq hide the ones inside the window', async () => {
    const pipeline = await started({ window: 100 });
    const k = pipeline.partition.keys;
    await pipeline.redis.rpush(k.input, good(Number.MAX_SAFE_INTEGER), ...range(1, 300).map((s) => good(s)));
    await pipeline.settled(300);
    expect(checkOrder(await outputSeqs(pipeline), range(1, 300))).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
    expect(await pipeline.redis.zcard(k.parked)).to.equal(1);
  });

  it('dead-letters an envelope whose seq key appears twice, taking no seq, and outputs the real ones once', async () => {
    const pipeline = await started();
    const k = pipeline.partition.keys;
    const twoSeqs = `{"seq":8,"seq":9,"payload":"evil","createdAt":${Date.now()}}`;
    // An escaped key is the same key to JSON.parse; only the processor's reading can see it.
    const escaped = `{"seq":10,"s\\u0065q":11,"payload":"evil","createdAt":${Date.now()}}`;
    await pipeline.redis.rpush(k.input, ...range(1, 7).map((s) => good(s)), twoSeqs, escaped, ...range(8, 12).map((s) => good(s)));
    await pipeline.settled(14);
    expect(checkOrder(await outputSeqs(pipeline), range(1, 12))).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
    const dead = await pipeline.deadLetters();
    expect(dead.map((d) => [d.reason, d.raw, d.seq, d.lastError])).to.deep.equal([
      ['malformed', twoSeqs, undefined, 'unreadable entry: the seq key appears more than once (8, then 9)'],
      ['malformed', escaped, undefined, 'invalid envelope: its seq reads as 11 but it was claimed as 10 (duplicate keys?)'],
    ]);
  });

  it('lets no unparseable entry take a seq: the real message of that seq, arriving later, is processed', async () => {
    const pipeline = await started();
    const k = pipeline.partition.keys;
    const truncated = good(5).slice(0, -3);
    const leadingZero = `{"seq":06,"payload":1,"createdAt":${Date.now()}}`;
    const fakeObject = '{"seq":7,this is not json}';
    await pipeline.redis.rpush(k.input, ...range(1, 4).map((s) => good(s)), truncated, leadingZero, fakeObject);
    await waitFor(async () => (await pipeline.deadLetters()).length === 3, {
      timeoutMs: 10_000,
      message: 'the three bad entries were not dead-lettered',
    });
    await pipeline.redis.rpush(k.input, good(5), good(6), good(7), good(8));
    await pipeline.settled(11);
    expect(checkOrder(await outputSeqs(pipeline), range(1, 8))).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
    const dead = await pipeline.deadLetters();
    expect(dead.map((d) => d.raw).sort()).to.deep.equal([truncated, leadingZero, fakeObject].sort());
    expect(dead.every((d) => d.reason === 'malformed' && d.seq === undefined && typeof d.lastError === 'string')).to.equal(true);
  });

  it('holds the real message behind an entry that only looks like its seq, and processes it once that entry is refused', async () => {
    const pipeline = await started();
    const k = pipeline.partition.keys;
    // One claim takes both: the impostor first, so the real 3 meets its claim.
    await pipeline.redis.rpush(k.input, good(1), good(2), '{"seq":3,"payload":1 not json}', good(3), good(4));
    await pipeline.settled(5);
    expect(await outputSeqs(pipeline)).to.deep.equal([1, 2, 3, 4]);
    expect((await pipeline.output())[2]?.result).to.deep.equal({ seq: 3, payload: { n: 3 } });
    const [dead] = await pipeline.deadLetters();
    expect(dead).to.include({ reason: 'malformed', readSeq: 3 });
    expect(await pipeline.redis.exists(k.held)).to.equal(0);
  });

  it('survives an envelope nested 10,000 levels: dead-lettered with its text, the order moves on', async () => {
    const pipeline = await started();
    const k = pipeline.partition.keys;
    const deep = `{"seq":3,"payload":${'['.repeat(10_000)}${']'.repeat(10_000)},"createdAt":${Date.now()}}`;
    await pipeline.redis.rpush(k.input, good(1), good(2), deep, good(4), good(5));
    await pipeline.settled(5);
    expect(await outputSeqs(pipeline)).to.deep.equal([1, 2, 4, 5]);
    const [dead] = await pipeline.deadLetters();
    expect(dead).to.include({ seq: 3, reason: 'malformed' });
    expect(dead?.raw).to.equal(deep);
    expect(String(dead?.lastError)).to.match(/nested 10001 levels deep/);
    expect(pipeline.processors[0]!.running).to.equal(true);
  });

  it('drops an identical copy of a seq as a duplicate and dead-letters a different one as a conflict', async () => {
    const pipeline = fixture.pipeline();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    await pipeline.processor(async (payload, { seq }) => {
      if (seq === 2) await gate;
      return { payload };
    });
    await pipeline.sequencer();
    const k = pipeline.partition.keys;
    await pipeline.redis.rpush(k.input, good(1, 'a'), good(2, 'b'));
    await waitFor(async () => (await pipeline.redis.hget(k.state, '2'))?.startsWith('C|'), {
      timeoutMs: 5000,
      message: 'seq 2 not claimed',
    });
    // While 2 runs and after 1 is out: copies of both, the same message and another one.
    await waitFor(async () => (await pipeline.output()).length === 1, { timeoutMs: 5000 });
    await pipeline.redis.rpush(k.input, good(2, 'b'), good(2, 'forged'), good(1, 'a'), good(1, 'forged'));
    await waitFor(async () => (await pipeline.redis.llen(k.input)) === 0, { timeoutMs: 5000, message: 'copies not taken' });
    release();
    await pipeline.settled(3);
    expect((await pipeline.output()).map((e) => [e.seq, (e.result as { payload: unknown }).payload])).to.deep.equal([
      [1, 'a'],
      [2, 'b'],
    ]);
    const dead = await pipeline.deadLetters();
    expect(dead).to.have.length(1);
    expect(dead[0]).to.include({ reason: 'conflict', readSeq: 2 });
    expect(String(dead[0]?.lastError)).to.match(/seq 2 belongs to another message/);
    // Below next a copy cannot be compared any more: both are dropped as duplicates.
    expect(pipeline.processors[0]!.stats.duplicates).to.equal(3);
    expect(await pipeline.redis.hget(k.meta, 'duplicates')).to.equal('3');
  });

  it('says why it dead-letters at claim time: which entry, which rule', async () => {
    const pipeline = fixture.pipeline();
    await pipeline.processor(async () => ({}));
    await pipeline.sequencer({ gapTimeoutMs: 200 });
    const k = pipeline.partition.keys;
    await pipeline.redis.rpush(k.input, good(1), '[1,2]', '{"payload":1}', '{"seq":0,"payload":1}', good(3));
    await pipeline.settled(4, 10_000);
    await waitFor(async () => (await pipeline.redis.hget(k.meta, 'skipped')) === '1', { timeoutMs: 10_000, message: 'seq 2 not skipped' });
    await pipeline.redis.rpush(k.input, good(2));
    await waitFor(async () => (await pipeline.deadLetters()).length === 4, { timeoutMs: 10_000, message: 'late copy not dead-lettered' });
    const reasons = (await pipeline.deadLetters()).map((d) => [d.reason, d.lastError]);
    expect(reasons).to.deep.equal([
      ['malformed', 'unreadable entry: no seq field'],
      ['malformed', 'unreadable entry: no seq field'],
      ['malformed', 'unreadable entry: seq is not an integer from 1 to 2^53 - 1'],
      ['late', 'seq 2 arrived after it was skipped as a gap (skipped 2-2)'],
    ]);
  });
});
