import { expect } from 'chai';
import { getPipeline, keysFor, registerPipeline } from '@inorder/shared';
import { TestPipeline, capturingLogger } from '@inorder/testkit';
import { TestIngest, useIngest } from './support/ingest.js';

// Each test file has a Redis of its own: ids only need to differ inside this file (and stay <= EVENT_TYPE_ID_MAX).
let nextType = 1000;
const newEventType = (): number => nextType++;

describe('event API (POST /api/event/v1)', function () {
  const fixture = useIngest();

  const event = (type: number, priority: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    user_id: 42,
    priority,
    event_data: { clicked: 'buy' },
    event_type_id: type,
    ...extra,
  });

  it("answers 200 and queues the event on its type's unordered pipeline, created on first use", async () => {
    const type = newEventType();
    const reply = await fixture.ingest.post('/api/event/v1', event(type, 3));
    expect(reply.status).to.equal(200);
    expect(reply.json).to.deep.equal({ status: 'queued', pipeline: `events-${type}`, partition: 0, seq: 1 });
    expect(await getPipeline(fixture.redis, `events-${type}`)).to.include({ ordering: 'none', partitions: 1 });
    const [raw] = await fixture.redis.zrange(keysFor(`events-${type}`, 0).queue, 0, -1);
    expect(JSON.parse(raw!)).to.deep.include({
      seq: 1,
      priority: 3,
      payload: { user_id: 42, event_type_id: type, priority: 3, event_data: { clicked: 'buy' } },
    });
  });

  it('answers 400 with a plain-text reason naming each bad field', async () => {
    const type = newEventType();
    const cases: Array<[unknown, string]> = [
      [{ priority: 1, event_data: {}, event_type_id: type }, 'user_id: is required'],
      [event(type, 1, { user_id: 'u-1' }), 'user_id: must be a number'],
      [event(type, 1.5), 'priority: must be an integer'],
      [event(type, 2000), 'priority: must be at most 1000'],
      [event(-1, 0), 'event_type_id: must be at least 0'],
      [{ user_id: 1, priority: 1, event_type_id: type }, 'event_data: is required'],
      [[event(type, 1)], '(body): must be a JSON object with user_id, priority, event_data and event_type_id'],
    ];
    for (const [body, reason] of cases) {
      const reply = await fixture.ingest.post('/api/event/v1', body);
      expect([reply.status, reply.text], JSON.stringify(body)).to.deep.equal([400, reason]);
      expect(reply.headers.get('content-type')).to.match(/^text\/plain/);
    }
    const malformed = await fixture.ingest.post('/api/event/v1', '{"user_id": 1,,}');
    expect(malformed.status).to.equal(400);
    expect(malformed.text).to.match(/^\(body\): is not valid JSON \(.+\)$/);
    expect(await getPipeline(fixture.redis, `events-${type}`)).to.equal(undefined);
  });

  it('reads the body as JSON whatever its content type says, so a bad body is a 400, never a 415', async () => {
    const type = newEventType();
    const body = JSON.stringify(event(type, 0));
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      const reply = await fixture.ingest.request('POST', '/api/event/v1', body, { 'content-type': contentType });
      expect([reply.status, reply.json?.pipeline], contentType).to.deep.equal([200, `events-${type}`]);
    }
    // No content-type at all (a body from a Blob without a type).
    const bare = await fetch(`${fixture.ingest.url}/api/event/v1`, { method: 'POST', body: new Blob([body]) });
    expect(bare.status).to.equal(200);
    const bad = await fixture.ingest.request('POST', '/api/event/v1', 'user_id=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(bad.status).to.equal(400);
    expect(bad.text).to.match(/^\(body\): is not valid JSON \(.+\)$/);
    const empty = await fixture.ingest.request('POST', '/api/event/v1', '', { 'content-type': 'text/plain' });
    expect([empty.status, empty.text]).to.deep.equal([400, '(body): is empty: send a JSON object or array']);
    expect(await fixture.redis.zcard(keysFor(`events-${type}`, 0).queue)).to.equal(3);
  });

  it('answers 500 with a plain-text reason when the event cannot be queued', async () => {
    const type = newEventType();
    await registerPipeline(fixture.redis, `events-${type}`, { ordering: 'strict' });
    const reply = await fixture.ingest.post('/api/event/v1', event(type, 0));
    expect(reply.status).to.equal(500);
    expect(reply.text).to.equal(`cannot queue the event: pipeline events-${type} exists with ordering "strict", not "none"`);
    expect(await fixture.redis.llen(keysFor(`events-${type}`, 0).input)).to.equal(0);
  });

  it('queues lower priority numbers first and equal priorities first-in first-out', async () => {
    const type = newEventType();
    const priorities = [5, 1, 5, -3, 1, 0, -3, 5];
    for (const [i, p] of priorities.entries()) {
      const reply = await fixture.ingest.post('/api/event/v1', event(type, p, { event_data: { i } }));
      expect(reply.status).to.equal(200);
    }
    const queued = await fixture.redis.zrange(keysFor(`events-${type}`, 0).queue, 0, -1);
    const order = queued.map((r) => JSON.parse(r).payload.event_data.i as number);
    expect(order).to.deep.equal([3, 6, 5, 1, 4, 0, 2, 7]);
  });

  it('has a processor take the events of a type lower priority first, equal priorities in arrival order', async () => {
    const type = newEventType();
    const priorities = [5, 1, 5, -3, 1, 0, -3, 5, 1000, -1000];
    for (const [i, p] of priorities.entries()) {
      expect((await fixture.ingest.post('/api/event/v1', event(type, p, { event_data: { i } }))).status).to.equal(200);
    }
    const pipeline = new TestPipeline(fixture.server, { name: `events-${type}`, ordering: 'none' });
    try {
      const order: number[] = [];
      // One message at a time, so the order the handler sees is the order of the queue.
      await pipeline.processor(
        (payload) => {
          order.push((payload as { event_data: { i: number } }).event_data.i);
          return null;
        },
        { concurrency: 1, batchSize: 1 },
      );
      await pipeline.settled(priorities.length);
      const expected = priorities
        .map((p, i) => ({ p, i }))
        .sort((a, b) => a.p - b.p || a.i - b.i)
        .map((e) => e.i);
      expect(order).to.deep.equal(expected);
      expect(await pipeline.deadLetters()).to.deep.equal([]);
    } finally {
      await pipeline.close();
    }
  });

  it("logs the creation of an event type's pipeline with the id of the request that created it", async () => {
    const type = newEventType();
    const capture = capturingLogger('debug');
    const logged = await TestIngest.start(fixture.server, {}, capture.logger);
    try {
      const reply = await logged.post('/api/event/v1', event(type, 1), { 'x-request-id': 'first-event-1' });
      expect(reply.status).to.equal(200);
    } finally {
      await logged.close();
    }
    const created = capture.lines.filter((l) => l.message === 'pipeline created');
    expect(created.map((l) => [l.pipeline, l.requestId])).to.deep.equal([[`events-${type}`, 'first-event-1']]);
    expect(capture.lines.map((l) => l.requestId)).to.deep.equal(capture.lines.map(() => 'first-event-1'));
  });

  it('creates one pipeline when two ingest instances get the first events of a new type at once', async () => {
    const type = newEventType();
    const a = capturingLogger();
    const b = capturingLogger();
    const first = await TestIngest.start(fixture.server, {}, a.logger);
    const second = await TestIngest.start(fixture.server, {}, b.logger);
    try {
      const replies = await Promise.all([
        first.post('/api/event/v1', event(type, 1)),
        second.post('/api/event/v1', event(type, 1)),
        first.post('/api/event/v1', event(type, 1)),
        second.post('/api/event/v1', event(type, 1)),
      ]);
      expect(replies.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
      expect(replies.map((r) => r.json.seq).sort()).to.deep.equal([1, 2, 3, 4]);
      const created = [...a.lines, ...b.lines].filter((l) => l.message === 'pipeline created' && l.pipeline === `events-${type}`);
      expect(created).to.have.length(1);
      const registry = await fixture.redis.hgetall('inorder:pipelines');
      expect(Object.keys(registry).filter((name) => name === `events-${type}`)).to.have.length(1);
      expect(await fixture.redis.zcard(keysFor(`events-${type}`, 0).queue)).to.equal(4);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('refuses an event_type_id above EVENT_TYPE_ID_MAX with a plain-text 400, creating no pipeline', async () => {
    const reply = await fixture.ingest.post('/api/event/v1', event(10_000, 0));
    expect([reply.status, reply.text]).to.deep.equal([400, 'event_type_id: must be at most 9999 (EVENT_TYPE_ID_MAX)']);
    expect(reply.headers.get('content-type')).to.match(/^text\/plain/);
    expect(await getPipeline(fixture.redis, 'events-10000')).to.equal(undefined);
    expect((await fixture.ingest.post('/api/event/v1', event(9999, 0))).status).to.equal(200);
  });

  it('refuses to create a pipeline past MAX_PIPELINES with a plain-text 500, and still queues on existing ones', async () => {
    const held = await fixture.redis.hlen('inorder:pipelines');
    const capped = await TestIngest.start(fixture.server, { maxPipelines: held + 2 });
    try {
      const [a, b, c] = [newEventType(), newEventType(), newEventType()];
      expect((await capped.post('/api/event/v1', event(a, 0))).status).to.equal(200);
      expect((await capped.post('/api/event/v1', event(b, 0))).status).to.equal(200);
      const refused = await capped.post('/api/event/v1', event(c, 0));
      expect(refused.status).to.equal(500);
      expect(refused.headers.get('content-type')).to.match(/^text\/plain/);
      expect(refused.text).to.equal(
        `cannot queue the event: pipeline events-${c} would be a new pipeline and the registry holds ${held + 2}, ` +
          `the most MAX_PIPELINES (${held + 2}) allows: raise MAX_PIPELINES or delete pipelines no longer used`,
      );
      expect(await getPipeline(fixture.redis, `events-${c}`)).to.equal(undefined);
      expect((await capped.post('/api/event/v1', event(a, 1))).status).to.equal(200);
    } finally {
      await capped.close();
    }
  });

  it('never lets ingests side by side create more pipelines than MAX_PIPELINES together', async () => {
    const held = await fixture.redis.hlen('inorder:pipelines');
    const first = await TestIngest.start(fixture.server, { maxPipelines: held + 3 });
    const second = await TestIngest.start(fixture.server, { maxPipelines: held + 3 });
    try {
      const types = Array.from({ length: 12 }, () => newEventType());
      const replies = await Promise.all(types.map((type, i) => (i % 2 ? first : second).post('/api/event/v1', event(type, 0))));
      expect(replies.filter((r) => r.status === 200)).to.have.length(3);
      expect(replies.filter((r) => r.status === 500)).to.have.length(9);
      expect(await fixture.redis.hlen('inorder:pipelines')).to.equal(held + 3);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('refuses a body nested past MAX_DEPTH or giving a key twice with a plain-text 400', async () => {
    const type = newEventType();
    const deep = await fixture.ingest.post(
      '/api/event/v1',
      `{"user_id":1,"priority":0,"event_type_id":${type},"event_data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
    );
    expect([deep.status, deep.text]).to.deep.equal([400, '(body): nests arrays and objects deeper than MAX_DEPTH (32)']);
    const twice = await fixture.ingest.post(
      '/api/event/v1',
      `{"user_id":1,"priority":0,"priority":-1000,"event_data":{},"event_type_id":${type}}`,
    );
    expect([twice.status, twice.text]).to.deep.equal([400, 'priority: is given twice: the keys of a JSON object must be unique']);
    expect(await getPipeline(fixture.redis, `events-${type}`)).to.equal(undefined);
  });
});
