import { expect } from 'chai';
import type { Redis } from 'ioredis';
import winston from 'winston';
import { Writable } from 'node:stream';
import { getPipeline, keysFor, registerPipeline, type Logger } from '@inorder/shared';
import { RedisServer } from '../../../shared/test/support/redis-server.js';
import { TestIngest } from './support/ingest.js';

/** A logger that keeps its lines, to count what the services did. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}

let nextType = 1000 + Math.floor(Math.random() * 1_000_000);
const newEventType = (): number => nextType++;

describe('event API (POST /api/event/v1)', function () {
  let server: RedisServer;
  let redis: Redis;
  let ingest: TestIngest;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    ingest = await TestIngest.start(server);
  });
  after(async () => {
    await ingest.close();
    redis.disconnect();
    await server.destroy();
  });

  const event = (type: number, priority: number, extra: Record<string, unknown> = {}): Record<string, unknown> => (
    { user_id: 42, priority, event_data: { clicked: 'buy' }, event_type_id: type, ...extra });

  it('answers 200 and queues the event on its type\'s unordered pipeline, created on first use', async () => {
    const type = newEventType();
    const reply = await ingest.post('/api/event/v1', event(type, 3));
    expect(reply.status).to.equal(200);
    expect(reply.json).to.deep.equal({ status: 'queued', pipeline: `events-${type}`, seq: 1 });
    expect(await getPipeline(redis, `events-${type}`)).to.include({ ordering: 'none', partitions: 1 });
    const [raw] = await redis.zrange(keysFor(`events-${type}`, 0).queue, 0, -1);
    expect(JSON.parse(raw!)).to.deep.include({
      seq: 1, priority: 3, payload: { user_id: 42, event_type_id: type, priority: 3, event_data: { clicked: 'buy' } },
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
      const reply = await ingest.post('/api/event/v1', body);
      expect([reply.status, reply.text], JSON.stringify(body)).to.deep.equal([400, reason]);
      expect(reply.headers.get('content-type')).to.match(/^text\/plain/);
    }
    const malformed = await ingest.post('/api/event/v1', '{"user_id": 1,,}');
    expect(malformed.status).to.equal(400);
    expect(malformed.text).to.match(/^\(body\): is not valid JSON \(.+\)$/);
    expect(await getPipeline(redis, `events-${type}`)).to.equal(undefined);
  });

  it('answers 500 with a plain-text reason when the event cannot be queued', async () => {
    const type = newEventType();
    await registerPipeline(redis, `events-${type}`, { ordering: 'strict' });
    const reply = await ingest.post('/api/event/v1', event(type, 0));
    expect(reply.status).to.equal(500);
    expect(reply.text).to.equal(`cannot queue the event: pipeline events-${type} exists with ordering "strict", not "none"`);
    expect(await redis.llen(keysFor(`events-${type}`, 0).input)).to.equal(0);
  });

  it('queues lower priority numbers first and equal priorities first-in first-out', async () => {
    const type = newEventType();
    const priorities = [5, 1, 5, -3, 1, 0, -3, 5];
    for (const [i, p] of priorities.entries()) {
      const reply = await ingest.post('/api/event/v1', event(type, p, { event_data: { i } }));
      expect(reply.status).to.equal(200);
    }
    const queued = await redis.zrange(keysFor(`events-${type}`, 0).queue, 0, -1);
    const order = queued.map((r) => JSON.parse(r).payload.event_data.i as number);
    expect(order).to.deep.equal([3, 6, 5, 1, 4, 0, 2, 7]);
  });

  it('creates one pipeline when two ingest instances get the first events of a new type at once', async () => {
    const type = newEventType();
    const a = capturingLogger();
    const b = capturingLogger();
    const first = await TestIngest.start(server, {}, a.logger);
    const second = await TestIngest.start(server, {}, b.logger);
    try {
      const replies = await Promise.all([
        first.post('/api/event/v1', event(type, 1)), second.post('/api/event/v1', event(type, 1)),
        first.post('/api/event/v1', event(type, 1)), second.post('/api/event/v1', event(type, 1)),
      ]);
      expect(replies.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
      expect(replies.map((r) => r.json.seq).sort()).to.deep.equal([1, 2, 3, 4]);
      const created = [...a.lines, ...b.lines].filter((l) => l.message === 'pipeline created' && l.pipeline === `events-${type}`);
      expect(created).to.have.length(1);
      const registry = await redis.hgetall('inorder:pipelines');
      expect(Object.keys(registry).filter((name) => name === `events-${type}`)).to.have.length(1);
      expect(await redis.zcard(keysFor(`events-${type}`, 0).queue)).to.equal(4);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
