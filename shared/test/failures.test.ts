import { expect } from 'chai';
import { serializeEnvelope, type Handler } from '@inorder/shared';
import { usePipelines, range, waitFor } from '@inorder/testkit';
import { expectInOrder, expectSettledInOrder } from './support/order.js';

const ok: Handler = async (_p, { seq }) => ({ seq });

/** Fails (throws) for the given seqs, on every attempt or on the first `times` attempts. */
function failing(seqs: Set<number>, times = Infinity, attemptsSeen?: Map<number, number>): Handler {
  return async (_p, { seq, attempt }) => {
    attemptsSeen?.set(seq, attempt);
    if (seqs.has(seq) && attempt <= times) throw new Error(`boom ${seq}#${attempt}`);
    return { seq };
  };
}

describe('failure semantics', function () {
  this.timeout(60_000);
  const fixture = usePipelines();

  it('dead-letters after exactly maxRetries + 1 attempts and outputs the seqs after it in order', async () => {
    const pipeline = fixture.pipeline();
    const attempts = new Map<number, number>();
    await pipeline.processor(failing(new Set([5]), Infinity, attempts), { backoffBaseMs: 5, backoffMaxMs: 20 });
    await pipeline.sequencer();
    await pipeline.enqueue(20, 1, { maxRetries: 2 });
    await pipeline.settled(20);
    const dead = await pipeline.deadLetters();
    expect(dead).to.have.length(1);
    expect(dead[0]).to.include({ seq: 5, reason: 'max-retries', attempts: 3, lastError: 'boom 5#3' });
    expect(attempts.get(5)).to.equal(3);
    expectInOrder(
      await pipeline.output(),
      range(1, 20).filter((s) => s !== 5),
    );
  });

  it('dead-letters with reason max-age once a retrying message is older than maxAgeMs', async () => {
    const pipeline = fixture.pipeline();
    await pipeline.processor(failing(new Set([3])), { backoffBaseMs: 20, backoffMaxMs: 40, maxRetries: -1 });
    await pipeline.sequencer();
    await pipeline.enqueue(10, 1, { maxAgeMs: 300 });
    await pipeline.settled(10);
    const dead = await pipeline.deadLetters();
    expect(dead).to.have.length(1);
    expect(dead[0]).to.include({ seq: 3, reason: 'max-age' });
    expect(dead[0]!.attempts).to.be.above(1);
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal(range(1, 10).filter((s) => s !== 3));
  });

  it('keeps retrying without end when maxRetries and maxAgeMs are both -1', async () => {
    const pipeline = fixture.pipeline();
    const attempts = new Map<number, number>();
    await pipeline.processor(failing(new Set([2]), Infinity, attempts), { backoffBaseMs: 2, backoffMaxMs: 5 });
    await pipeline.sequencer();
    await pipeline.enqueue(3, 1, { maxRetries: -1, maxAgeMs: -1 });
    await waitFor(() => (attempts.get(2) ?? 0) >= 25, { timeoutMs: 20_000, message: 'seq 2 was not retried 25 times' });
    expect(await pipeline.deadLetters()).to.have.length(0);
    expect(
      (await pipeline.output()).map((e) => e.seq),
      'order holds behind the retrying seq',
    ).to.deep.equal([1]);
  });

  it('outputs 2,000 messages complete and in order when 30% fail their first try, each once', async () => {
    const pipeline = fixture.pipeline();
    const flaky = new Set(range(1, 2000).filter((s) => (s * 2654435761) % 100 < 30));
    for (let i = 0; i < 3; i++) await pipeline.processor(failing(flaky, 1), { concurrency: 64, backoffBaseMs: 5, backoffMaxMs: 50 });
    await pipeline.sequencer();
    await pipeline.enqueue(2000);
    const output = await expectSettledInOrder(pipeline, 2000);
    expect(flaky.size).to.be.above(400);
    for (const e of output) expect(e.attempts, `attempts of seq ${e.seq}`).to.equal(flaky.has(e.seq) ? 2 : 1);
  });

  it('times out a hanging handler, retries it, dead-letters it and moves the order on', async () => {
    const pipeline = fixture.pipeline();
    const hang: Handler = (_p, { seq, signal }) =>
      seq === 4 ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) : { seq };
    await pipeline.processor(hang, { handlerTimeoutMs: 150, backoffBaseMs: 5, backoffMaxMs: 10, maxRetries: 1 });
    await pipeline.sequencer();
    await pipeline.enqueue(8);
    await pipeline.settled(8);
    const dead = await pipeline.deadLetters();
    expect(dead).to.have.length(1);
    expect(dead[0]).to.include({ seq: 4, reason: 'max-retries', attempts: 2 });
    expect(dead[0]!.lastError).to.match(/timed out after 150 ms/);
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal([1, 2, 3, 5, 6, 7, 8]);
  });

  it('dead-letters malformed entries with their raw text and outputs every other message in order', async () => {
    const pipeline = fixture.pipeline();
    await pipeline.processor(ok);
    await pipeline.sequencer();
    const input = pipeline.partition.keys.input;
    const good = (seq: number): string => serializeEnvelope({ seq, payload: { seq }, createdAt: Date.now() });
    const garbage = ['not json at all', '{"seq":"x","payload":1}', '[1,2,3]'];
    const badSchema = '{"seq":7,"payload":1,"createdAt":"yesterday"}';
    const entries = range(1, 12).map((s) => (s === 7 ? badSchema : good(s)));
    entries.splice(3, 0, garbage[0]!);
    entries.splice(8, 0, garbage[1]!, garbage[2]!);
    await pipeline.redis.rpush(input, ...entries);
    await pipeline.settled(12 - 1 + 1 + garbage.length);
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal(range(1, 12).filter((s) => s !== 7));
    const dead = await pipeline.deadLetters();
    expect(dead.every((d) => d.reason === 'malformed')).to.equal(true);
    expect(dead.map((d) => d.raw).sort()).to.deep.equal([...garbage, badSchema].sort());
    expect(dead.find((d) => d.raw === badSchema)).to.include({ seq: 7 });
  });

  it('skips a seq that never arrives after GAP_TIMEOUT_MS, records it, and dead-letters it if it comes late', async () => {
    const pipeline = fixture.pipeline();
    await pipeline.processor(ok);
    await pipeline.sequencer({ gapTimeoutMs: 300 });
    await pipeline.enqueue(4);
    await pipeline.enqueue(5, 6);
    await pipeline.settled(9, 10_000);
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    const k = pipeline.partition.keys;
    expect(await pipeline.redis.zrange(k.skipped, 0, -1)).to.deep.equal(['5-5']);
    expect(await pipeline.redis.hget(k.meta, 'skipped')).to.equal('1');
    await pipeline.enqueue(1, 5);
    await waitFor(async () => (await pipeline.deadLetters()).length === 1, { timeoutMs: 10_000, message: 'late seq not dead-lettered' });
    expect((await pipeline.deadLetters())[0]).to.include({ readSeq: 5, reason: 'late' });
  });

  it('waits for a missing seq without end when GAP_TIMEOUT_MS is 0', async () => {
    const pipeline = fixture.pipeline();
    await pipeline.processor(ok);
    const sequencer = await pipeline.sequencer({ gapTimeoutMs: 0 });
    await pipeline.enqueue(2);
    await pipeline.enqueue(3, 4);
    await pipeline.settled(2);
    const done = async (): Promise<boolean> =>
      (await pipeline.redis.hmget(pipeline.partition.keys.state, '4', '5', '6')).every((v) => v?.startsWith('{'));
    await waitFor(done, { timeoutMs: 10_000, message: 'results of 4..6 not done' });
    // Longer than a gap timeout would have been, with the results of 4..6 buffered.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal([1, 2]);
    expect(sequencer.stats.skipped).to.equal(0);
    await pipeline.enqueue(1, 3);
    await pipeline.settled(6);
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal(range(1, 6));
  });

  it('keeps the results stream within WINDOW while one seq is stuck in retries', async () => {
    const pipeline = fixture.pipeline();
    const window = 100;
    await pipeline.processor(failing(new Set([1]), 20), { window, concurrency: 64, backoffBaseMs: 20, backoffMaxMs: 40, maxRetries: -1 });
    await pipeline.processor(failing(new Set([1]), 20), { window, concurrency: 64, backoffBaseMs: 20, backoffMaxMs: 40, maxRetries: -1 });
    await pipeline.sequencer();
    await pipeline.enqueue(1500);
    let maxStream = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      void pipeline.streamSeqs().then((n) => {
        maxStream = Math.max(maxStream, n);
        samples++;
      });
    }, 5);
    try {
      await waitFor(async () => (await pipeline.streamSeqs()) >= window - 1, {
        timeoutMs: 10_000,
        message: 'results never filled the window',
      });
      await pipeline.settled(1500, 30_000);
    } finally {
      clearInterval(sampler);
    }
    expect(samples).to.be.above(20);
    expect(maxStream).to.be.at.most(window);
    const output = await pipeline.output();
    expectInOrder(output, range(1, 1500));
    expect(output[0]!.attempts).to.equal(21);
  });
});
