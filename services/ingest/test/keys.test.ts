import { expect } from 'chai';
import { keysFor, partitionForKey, registerPipeline, resizePipeline } from '@inorder/shared';
import { newPipeline, TestIngest, useIngest } from './support/ingest.js';

describe('ingest HTTP API: ordering keys', function () {
  const fixture = useIngest();

  const envelopes = async (pipeline: string, partition: number): Promise<Array<Record<string, unknown>>> =>
    (await fixture.redis.lrange(keysFor(pipeline, partition).input, 0, -1)).map((raw) => JSON.parse(raw) as Record<string, unknown>);

  /** `count` keys, at least one per partition, found by trying k0, k1, ... */
  function keysCovering(partitions: number, count: number): string[] {
    const keys: string[] = [];
    const seen = new Set<number>();
    for (let i = 0; keys.length < count || seen.size < partitions; i++) {
      keys.push(`k${i}`);
      seen.add(partitionForKey(`k${i}`, partitions));
    }
    return keys;
  }

  it('routes each keyed message to partition murmur2(key) mod partitions, keeping the key on the envelope', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'keyed', 4);
    const keys = keysCovering(4, 24);
    const expected = new Map<number, string[]>();
    for (const key of keys) {
      const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, { payload: { key }, key });
      expect(reply.status, reply.text).to.equal(202);
      const partition = partitionForKey(key, 4);
      expect(reply.json.partition).to.equal(partition);
      const list = expected.get(partition) ?? [];
      list.push(key);
      expected.set(partition, list);
      // Each partition numbers its own seqs from 1.
      expect(reply.json.seqs).to.deep.equal([list.length]);
    }
    for (let p = 0; p < 4; p++) {
      const got = await envelopes(pipeline, p);
      expect(
        got.map((e) => e.key),
        `partition ${p}`,
      ).to.deep.equal(expected.get(p) ?? []);
      expect(got.map((e) => e.seq)).to.deep.equal(got.map((_, i) => i + 1));
    }
  });

  it('refuses a batch whose keys route to different partitions, naming each stray key, and enqueues nothing', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'keyed', 4);
    const [a, b] = keysCovering(4, 0).reduce<string[]>((found, k) => {
      if (found.length === 0 || (found.length === 1 && partitionForKey(k, 4) !== partitionForKey(found[0]!, 4))) found.push(k);
      return found;
    }, []);
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [
      { payload: 1, key: a },
      { payload: 2, key: b },
      { payload: 3, key: a },
    ]);
    expect(reply.status).to.equal(400);
    expect(reply.json.issues).to.have.length(1);
    expect(reply.json.issues[0].field).to.equal('[1].key');
    expect(reply.json.issues[0].reason).to.contain(`routes to partition ${partitionForKey(b!, 4)}`);
    for (let p = 0; p < 4; p++) expect(await fixture.redis.llen(keysFor(pipeline, p).input)).to.equal(0);
  });

  it('takes a batch whose different keys share one partition, in one atomic step', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'keyed', 4);
    const keys = keysCovering(4, 40)
      .filter((k) => partitionForKey(k, 4) === 2)
      .slice(0, 3);
    expect(keys).to.have.length(3);
    const reply = await fixture.ingest.post(
      `/v1/pipelines/${pipeline}/messages`,
      keys.map((key, i) => ({ payload: i, key })),
    );
    expect(reply.status, reply.text).to.equal(202);
    expect(reply.json).to.deep.equal({ partition: 2, seqs: [1, 2, 3], duplicates: [false, false, false] });
    expect((await envelopes(pipeline, 2)).map((e) => e.key)).to.deep.equal(keys);
  });

  it('refuses a key on some messages of a batch only, and ?partition beside keys', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'keyed', 4);
    const partial = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [{ payload: 1, key: 'x' }, { payload: 2 }]);
    expect(partial.status).to.equal(400);
    expect(partial.json.issues).to.deep.equal([
      {
        field: '[1].key',
        reason: 'is missing while 1 other message(s) of the batch give one: give a key on every message of a batch or on none',
      },
    ]);
    const both = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages?partition=1`, { payload: 1, key: 'x' });
    expect(both.status).to.equal(400);
    expect(both.json.issues[0].field).to.equal('partition');
    const empty = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1, key: '' });
    expect(empty.status).to.equal(400);
    expect(empty.json.issues[0].field).to.equal('key');
    for (let p = 0; p < 4; p++) expect(await fixture.redis.llen(keysFor(pipeline, p).input)).to.equal(0);
  });

  it('routes the event API by user_id when the event pipeline has several partitions', async () => {
    const type = 900 + Math.floor(Math.random() * 90);
    await registerPipeline(fixture.redis, `events-${type}`, { ordering: 'none', partitions: 3 });
    const users = [1, 2, 3, 4, 5, 6, 7, 8, 42, -9];
    for (const user of users) {
      const reply = await fixture.ingest.post('/api/event/v1', { user_id: user, priority: 1, event_data: { user }, event_type_id: type });
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.json.partition).to.equal(partitionForKey(String(user), 3));
    }
    let total = 0;
    for (let p = 0; p < 3; p++) {
      const got = (await fixture.redis.zrange(keysFor(`events-${type}`, p).queue, 0, -1)).map(
        (raw) => JSON.parse(raw) as Record<string, unknown>,
      );
      for (const e of got) {
        expect(e.key).to.equal(String((e.payload as { user_id: number }).user_id));
        expect(partitionForKey(e.key as string, 3)).to.equal(p);
      }
      total += got.length;
    }
    expect(total).to.equal(users.length);
  });

  it('answers 503 with Retry-After while the pipeline is being resized, writing nothing', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'keyed', 2);
    await fixture.redis.hset(keysFor(pipeline, 1).meta, 'resizing', '4');
    const key = keysCovering(2, 0).find((k) => partitionForKey(k, 2) === 1)!;
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1, key });
    expect(reply.status).to.equal(503);
    expect(reply.headers.get('retry-after')).to.equal(String(fixture.ingest.config.retryAfterS));
    expect(reply.json.message).to.contain(`pipeline ${pipeline} is being resized to 4 partitions`);
    expect(await fixture.redis.llen(keysFor(pipeline, 1).input)).to.equal(0);
    // The other partition takes messages until the resize reaches it.
    const other = keysCovering(2, 0).find((k) => partitionForKey(k, 2) === 0)!;
    expect((await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1, key: other })).status).to.equal(202);
  });

  it('routes again by the new count when its cached registry entry predates a resize', async () => {
    const cached = await TestIngest.start(fixture.server, { registryCacheMs: 600_000 });
    try {
      const pipeline = await newPipeline(fixture.redis, 'strict', 'keyed', 2);
      // Warm the cache: this ingest now believes the pipeline has 2 partitions for ten minutes.
      expect((await cached.get(`/v1/pipelines/${pipeline}`)).json.partitions).to.have.length(2);
      await resizePipeline(fixture.redis, pipeline, 4);
      const key = keysCovering(4, 40).find((k) => partitionForKey(k, 2) !== partitionForKey(k, 4))!;
      const reply = await cached.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1, key });
      expect(reply.status, reply.text).to.equal(202);
      expect(reply.json.partition).to.equal(partitionForKey(key, 4));
      expect(await fixture.redis.llen(keysFor(pipeline, partitionForKey(key, 4)).input)).to.equal(1);
      expect(await fixture.redis.llen(keysFor(pipeline, partitionForKey(key, 2)).input)).to.equal(0);
    } finally {
      await cached.close();
    }
  });
});
