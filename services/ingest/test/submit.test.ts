import { expect } from 'chai';
import { addressOf, connect, keysFor, wakeChannels, type RedisClient } from '@inorder/shared';
import { RedisServer, range, waitFor, capturingLogger } from '@inorder/testkit';
import { TestIngest, newPipeline, payloads } from './support/ingest.js';

describe('ingest HTTP API: seqs, ids and priorities', function () {
  let server: RedisServer;
  let redis: RedisClient;
  let ingests: TestIngest[];

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    // Two ingest instances on their own connections, as behind a load balancer.
    ingests = [await TestIngest.start(server), await TestIngest.start(server)];
  });
  after(async () => {
    for (const i of ingests) await i.close();
    redis.disconnect();
    await server.destroy();
  });

  const seqsOf = (raws: string[]): number[] => raws.map((r) => JSON.parse(r).seq as number);

  it('gives concurrent submissions from many clients contiguous seqs, no gaps, no duplicates, enqueued in seq order', async () => {
    const pipeline = await newPipeline(redis);
    const clients = 40;
    const requestsPerClient = 8;
    let total = 0;
    const jobs: Promise<number[]>[] = [];
    for (let c = 0; c < clients; c++) {
      jobs.push(
        (async () => {
          const got: number[] = [];
          for (let r = 0; r < requestsPerClient; r++) {
            const size = 1 + ((c * 7 + r * 3) % 5);
            const batch = Array.from({ length: size }, (_, i) => ({ payload: { c, r, i } }));
            const reply = await ingests[c % 2]!.post(`/v1/pipelines/${pipeline}/messages`, size === 1 ? batch[0] : batch);
            expect(reply.status, reply.text).to.equal(202);
            const seqs = reply.json.seqs as number[];
            expect(seqs).to.have.length(size);
            // A batch gets a contiguous run, in the order of its messages.
            expect(seqs).to.deep.equal(range(seqs[0]!, seqs[0]! + size - 1));
            got.push(...seqs);
          }
          return got;
        })(),
      );
      for (let r = 0; r < requestsPerClient; r++) total += 1 + ((c * 7 + r * 3) % 5);
    }
    const all = (await Promise.all(jobs)).flat().sort((a, b) => a - b);
    expect(all).to.deep.equal(range(1, total));
    // Assigning and pushing are one step, so the input list holds the seqs in order.
    expect(seqsOf(await redis.lrange(keysFor(pipeline, 0).input, 0, -1))).to.deep.equal(range(1, total));
    expect(await redis.hget(keysFor(pipeline, 0).meta, 'assigned')).to.equal(String(total));
  });

  it('enqueues a message once when the same id is submitted twice, answering the first seq', async () => {
    const pipeline = await newPipeline(redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    const first = await ingests[0]!.post(path, [{ payload: 'a' }, { payload: 'b', id: 'order-17' }]);
    expect(first.json).to.deep.equal({ partition: 0, seqs: [1, 2], duplicates: [false, false] });
    const again = await ingests[1]!.post(path, { payload: 'b (resent)', id: 'order-17' });
    expect(again.status).to.equal(202);
    expect(again.json).to.deep.equal({ partition: 0, seqs: [2], duplicates: [true] });
    const next = await ingests[0]!.post(path, [{ payload: 'c', id: 'order-17' }, { payload: 'd' }]);
    // The duplicate takes no seq: the next new message gets 3, so no seq is ever skipped.
    expect(next.json).to.deep.equal({ partition: 0, seqs: [2, 3], duplicates: [true, false] });
    const input = await redis.lrange(keysFor(pipeline, 0).input, 0, -1);
    expect(input.map((r) => JSON.parse(r).payload)).to.deep.equal(['a', 'b', 'd']);
  });

  it('answers the first seq for a known id when producers give seqs, even if the resend gives another seq', async () => {
    const pipeline = await newPipeline(redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    const first = await ingests[0]!.post(path, [
      { seq: 10, payload: 'a', id: 'invoice-9' },
      { seq: 11, payload: 'b' },
    ]);
    expect(first.json).to.deep.equal({ partition: 0, seqs: [10, 11], duplicates: [false, false] });
    const resent = await ingests[1]!.post(path, [
      { seq: 12, payload: 'a (resent)', id: 'invoice-9' },
      { seq: 13, payload: 'c' },
    ]);
    expect(resent.status).to.equal(202);
    expect(resent.json).to.deep.equal({ partition: 0, seqs: [10, 13], duplicates: [true, false] });
    const input = await redis.lrange(keysFor(pipeline, 0).input, 0, -1);
    expect(input.map((r) => [JSON.parse(r).seq, JSON.parse(r).payload])).to.deep.equal([
      [10, 'a'],
      [11, 'b'],
      [13, 'c'],
    ]);
  });

  it('enqueues once when many clients race with the same id', async () => {
    const pipeline = await newPipeline(redis);
    const replies = await Promise.all(
      range(1, 20).map((n) => ingests[n % 2]!.post(`/v1/pipelines/${pipeline}/messages`, { payload: n, id: 'same' })),
    );
    expect(replies.every((r) => r.status === 202)).to.equal(true);
    expect(new Set(replies.map((r) => r.json.seqs[0]))).to.deep.equal(new Set([1]));
    expect(replies.filter((r) => r.json.duplicates[0] === false)).to.have.length(1);
    expect(await redis.llen(keysFor(pipeline, 0).input)).to.equal(1);
  });

  it('treats a repeated id inside one batch as a duplicate of its first message', async () => {
    const pipeline = await newPipeline(redis);
    const reply = await ingests[0]!.post(`/v1/pipelines/${pipeline}/messages`, [
      { payload: 1, id: 'x' },
      { payload: 2 },
      { payload: 3, id: 'x' },
    ]);
    expect(reply.json).to.deep.equal({ partition: 0, seqs: [1, 2, 1], duplicates: [false, false, true] });
    expect(await redis.llen(keysFor(pipeline, 0).input)).to.equal(2);
  });

  it('forgets an id after DEDUP_TTL_MS: the same id is then a new message', async () => {
    const short = await TestIngest.start(server, { dedupTtlMs: 300 });
    try {
      const pipeline = await newPipeline(redis);
      const path = `/v1/pipelines/${pipeline}/messages`;
      const sentAt = Date.now();
      expect((await short.post(path, { payload: 1, id: 'k' })).json.seqs).to.deep.equal([1]);
      expect((await short.post(path, { payload: 1, id: 'k' })).json).to.deep.equal({ partition: 0, seqs: [1], duplicates: [true] });
      await waitFor(() => Date.now() > sentAt + 400, { timeoutMs: 2000 });
      expect((await short.post(path, { payload: 1, id: 'k' })).json).to.deep.equal({ partition: 0, seqs: [2], duplicates: [false] });
    } finally {
      await short.close();
    }
  });

  /** Collects the wake-ups published for processors while `work` runs. */
  async function wakeUps(work: () => Promise<void>): Promise<string[]> {
    const subscriber = connect(server.url);
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, tag: string) => heard.push(tag));
    try {
      await subscriber.subscribe(wakeChannels().input);
      await work();
      await redis.ping(); // a round trip after the last publish...
      await subscriber.ping(); // ...and one on the subscriber, so every message has arrived
      return heard;
    } finally {
      subscriber.disconnect();
    }
  }

  it('queues unordered submissions by priority, then by arrival, waking processors once', async () => {
    const pipeline = await newPipeline(redis, 'none');
    const path = `/v1/pipelines/${pipeline}/messages`;
    const k = keysFor(pipeline, 0);
    const heard = await wakeUps(async () => {
      await ingests[0]!.post(path, [{ payload: 'p5-a', priority: 5 }, { payload: 'p0-a' }, { payload: 'n3-a', priority: -3 }]);
      await ingests[1]!.post(path, { payload: 'p5-b', priority: 5 });
      await ingests[0]!.post(path, [
        { payload: 'n3-b', priority: -3 },
        { payload: 'p0-b', priority: 0 },
      ]);
    });
    const queued = await redis.zrange(k.queue, 0, -1);
    expect(queued.map((r) => JSON.parse(r).payload)).to.deep.equal(['n3-a', 'n3-b', 'p0-a', 'p0-b', 'p5-a', 'p5-b']);
    expect(queued.map((r) => JSON.parse(r).priority)).to.deep.equal([-3, -3, 0, 0, 5, 5]);
    expect(seqsOf(queued)).to.deep.equal([3, 5, 2, 6, 1, 4]);
    expect(heard, 'one wake-up: the queue was empty only before the first submit').to.deep.equal([addressOf(k).tag]);
    expect(await redis.llen(k.input)).to.equal(0);
  });

  it('wakes processors again once they have drained the input', async () => {
    const pipeline = await newPipeline(redis);
    const k = keysFor(pipeline, 0);
    const heard = await wakeUps(async () => {
      await ingests[0]!.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1 });
      await ingests[0]!.post(`/v1/pipelines/${pipeline}/messages`, { payload: 2 });
      await redis.del(k.input);
      await ingests[0]!.post(`/v1/pipelines/${pipeline}/messages`, { payload: 3 });
    });
    expect(heard).to.deep.equal([addressOf(k).tag, addressOf(k).tag]);
  });

  it("refuses a given seq MAX_SEQ_AHEAD or more past the partition's next seq with 400, naming the field, the seq, next and the limit", async () => {
    const pipeline = await newPipeline(redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    const far = await ingests[0]!.post(path, [
      { seq: 1, payload: 'a' },
      { seq: 9_007_199_254_740_991, payload: 'bug' },
    ]);
    expect(far.status).to.equal(400);
    expect(far.json.issues).to.deep.equal([
      {
        field: '[1].seq',
        reason:
          "is 9007199254740991, 10000000 or more past the partition's next seq 1 (MAX_SEQ_AHEAD 10000000): check the producer's numbering",
      },
    ]);
    expect(await redis.exists(keysFor(pipeline, 0).input, keysFor(pipeline, 0).meta)).to.equal(0);
    expect((await ingests[0]!.post(path, { seq: 10_000_001, payload: 'b' })).json.issues[0].field).to.equal('seq');
    expect((await ingests[0]!.post(path, { seq: 10_000_000, payload: 'c' })).status).to.equal(202);
    const unlimited = await TestIngest.start(server, { maxSeqAhead: 0 });
    try {
      expect((await unlimited.post(path, { seq: 9_007_199_254_740_991, payload: 'd' })).status).to.equal(202);
    } finally {
      await unlimited.close();
    }
  });

  it('never hands out an acknowledged seq again after Redis rolls back, and logs the rollback', async () => {
    const capture = capturingLogger();
    const ingest = await TestIngest.start(server, {}, capture.logger);
    try {
      const pipeline = await newPipeline(redis);
      const path = `/v1/pipelines/${pipeline}/messages`;
      expect((await ingest.post(path, payloads(1, 3))).json.seqs).to.deep.equal([1, 2, 3]);
      // Redis comes back from an older snapshot: seqs 2 and 3 were acknowledged, then lost.
      const k = keysFor(pipeline, 0);
      await redis.hset(k.meta, 'assigned', '1', 'accepted', '1');
      await redis.ltrim(k.input, 0, 0);
      expect((await ingest.post(path, { payload: 'after' })).json.seqs).to.deep.equal([4]);
      expect(await redis.hmget(k.meta, 'assigned', 'accepted')).to.deep.equal(['4', '4']);
      const line = capture.lines.find((l) => l.event === 'rollback-detected');
      expect(line).to.include({ level: 'error', pipeline, partition: 0, storedAssigned: 1, rememberedAssigned: 3 });
      // The event API's pipelines get the same protection.
      const events = await ingest.post('/api/event/v1', { user_id: 1, priority: 0, event_data: {}, event_type_id: 4242 });
      const ek = keysFor('events-4242', 0);
      await redis.hset(ek.meta, 'assigned', '0');
      expect((await ingest.post('/api/event/v1', { user_id: 1, priority: 0, event_data: {}, event_type_id: 4242 })).json.seq).to.equal(
        events.json.seq + 1,
      );
    } finally {
      await ingest.close();
    }
  });
});
