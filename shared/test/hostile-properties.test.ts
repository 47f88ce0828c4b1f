import { expect } from 'chai';
import fc from 'fast-check';
import { serializeEnvelope } from '@inorder/shared';
import { RedisServer, TestPipeline, checkOrder, range, waitFor } from '@inorder/testkit';

/**
 * Random and hostile entries thrown into a running partition among good ones: no process ends,
 * every good seq ends in the output (with its own payload) or is accounted for, in order, and
 * no hostile entry takes a seq that a good message needs.
 */
describe('hostile input, property-based (in process)', function () {
  this.timeout(180_000);
  let server: RedisServer;

  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await server.destroy();
  });

  const GOOD = 30;
  const now = Date.now();

  /** Entries that must never take a seq of 1..GOOD, whatever seq they name. */
  const inRangeSeq = fc.integer({ min: 1, max: GOOD });
  const hostile: fc.Arbitrary<string> = fc.oneof(
    // not JSON, or JSON of the wrong shape
    fc.string({ maxLength: 40 }),
    fc.json({ maxDepth: 4 }).filter((j) => !/"seq"/.test(j)),
    inRangeSeq.map((s) => `{"seq":${s},"payload":`),
    inRangeSeq.map((s) => `{"seq":${s},garbage}`),
    inRangeSeq.map((s) => `{"seq":0${s},"payload":1,"createdAt":${now}}`),
    inRangeSeq.map((s) => `{"seq":${s},"seq":${s + 1},"payload":"evil","createdAt":${now}}`),
    inRangeSeq.map((s) => `{"seq":${s},"s\\u0065q":${s + 1000},"payload":"evil","createdAt":${now}}`),
    inRangeSeq.map((s) => `{"payload":"evil","seq":0x${s.toString(16)},"createdAt":${now}}`),
    fc.constantFrom(
      '{"seq":-1}',
      '{"seq":1.5}',
      '{"seq":"3"}',
      '{"seq":9007199254740993}',
      '{"seq":null}',
      '[]',
      'null',
      '{}',
      '"{\\"seq\\":1}"',
    ),
    // valid envelopes of seqs far outside the run: parked or claimed, never a good seq
    fc
      .integer({ min: GOOD + 50_000, max: Number.MAX_SAFE_INTEGER })
      .map((s) => serializeEnvelope({ seq: s, payload: 'far', createdAt: now })),
    // deep nesting and unicode, on a seq outside the run
    fc.integer({ min: 1, max: 20_000 }).map((d) => `{"seq":${GOOD + 100},"payload":${'['.repeat(d)}${']'.repeat(d)},"createdAt":${now}}`),
    fc.string({ unit: 'binary', maxLength: 30 }).map((t) => JSON.stringify({ seq: GOOD + 200, payload: t, createdAt: now })),
  );

  it('never ends a process, never lets hostile entries take a good seq, and outputs every good one in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 25 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (bad, seed) => {
        const pipeline = new TestPipeline(server);
        try {
          await pipeline.processor(async (payload, { seq }) => ({ seq, payload }), { window: 10_000 });
          await pipeline.sequencer({ gapTimeoutMs: 0 });
          // Good seqs 1..GOOD in order with the hostile entries shuffled among them.
          const entries = range(1, GOOD).map((s) => serializeEnvelope({ seq: s, payload: { good: s }, createdAt: now }));
          let r = seed;
          for (const entry of bad) {
            r = (r * 1103515245 + 12345) % 2 ** 31;
            entries.splice(r % (entries.length + 1), 0, entry);
          }
          await pipeline.redis.rpush(pipeline.partition.keys.input, ...entries);
          await waitFor(async () => (await pipeline.output()).filter((e) => e.seq <= GOOD).length === GOOD, {
            timeoutMs: 20_000,
            message: 'good seqs missing from the output',
          });
          const output = (await pipeline.output()).filter((e) => e.seq <= GOOD);
          expect(
            checkOrder(
              output.map((e) => e.seq),
              range(1, GOOD),
            ),
          ).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
          for (const e of output) expect(e.result).to.deep.equal({ seq: e.seq, payload: { good: e.seq } });
          const dead = await pipeline.deadLetters();
          expect(
            dead.filter((d) => typeof d.seq === 'number' && d.seq <= GOOD),
            'a dead letter accounting for a good seq',
          ).to.deep.equal([]);
          expect(pipeline.processors.every((p) => p.running) && pipeline.sequencers.every((s) => s.isLeader)).to.equal(true);
        } finally {
          await pipeline.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
