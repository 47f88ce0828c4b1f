import { expect } from 'chai';
import sinon from 'sinon';
import { keysFor, type RedisClient } from '@inorder/shared';
import { RedisServer, waitFor } from '@inorder/testkit';
import { TestIngest, newPipeline, payloads } from './support/ingest.js';

/** The input list's seqs, read on a fresh connection once Redis answers again. */
async function inputSeqs(server: RedisServer, pipeline: string): Promise<number[]> {
  const redis = server.client();
  try {
    return (await redis.lrange(keysFor(pipeline, 0).input, 0, -1)).map((r) => JSON.parse(r).seq as number);
  } finally {
    redis.disconnect();
  }
}

describe('ingest HTTP API when Redis fails', function () {
  let server: RedisServer;
  let redis: RedisClient;
  let ingest: TestIngest | undefined;

  beforeEach(async () => {
    server = await RedisServer.start({ appendonly: true });
    redis = server.client();
  });
  afterEach(async () => {
    sinon.restore();
    await ingest?.close();
    ingest = undefined;
    redis.disconnect();
    server.resume();
    await server.destroy();
  });

  async function readyAgain(): Promise<void> {
    await waitFor(async () => (await ingest!.get('/readyz')).status === 200, {
      timeoutMs: 10_000,
      message: 'ingest not ready after restart',
    });
  }

  it('answers 503 with Retry-After at once while Redis is down, enqueues nothing, and recovers without a gap', async () => {
    ingest = await TestIngest.start(server, { redisTimeoutMs: 5000, retryAfterS: 2 });
    const pipeline = await newPipeline(redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    expect((await ingest.post(path, [{ payload: 1 }, { payload: 2 }])).json.seqs).to.deep.equal([1, 2]);
    await server.stop();

    const started = Date.now();
    const reply = await ingest.post(path, [{ payload: 3 }, { payload: 4 }]);
    expect(reply.status).to.equal(503);
    expect(Date.now() - started, 'fail-fast, not a timeout').to.be.below(2000);
    expect(reply.headers.get('retry-after')).to.equal('2');
    expect(reply.json.message).to.match(/^Redis is unreachable .*nothing was enqueued, retry later$/);
    expect((await ingest.get('/readyz')).status).to.equal(503);
    expect((await ingest.get(`/v1/pipelines/${pipeline}`)).status).to.equal(503);
    expect((await ingest.get('/healthz')).status).to.equal(200);

    await server.restart();
    await readyAgain();
    expect(await inputSeqs(server, pipeline)).to.deep.equal([1, 2]);
    expect((await ingest.post(path, [{ payload: 3 }, { payload: 4 }])).json.seqs).to.deep.equal([3, 4]);
  });

  it('answers 503 when Redis is killed mid-request, with nothing of the batch enqueued and no seq skipped', async () => {
    ingest = await TestIngest.start(server, { redisTimeoutMs: 10_000 });
    const pipeline = await newPipeline(redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    expect((await ingest.post(path, payloads(1, 3))).json.seqs).to.deep.equal([1, 2, 3]);

    // Redis stops reading: the submit is written to its socket and waits there.
    server.pause();
    const submitted = sinon.spy(ingest.redis, 'inorderSubmit');
    const pending = ingest.post(path, payloads(4, 503));
    await waitFor(() => submitted.called, { timeoutMs: 5000, message: 'the submit never reached Redis' });
    process.kill(server.pid!, 'SIGKILL');
    await server.stop();

    const reply = await pending;
    expect(reply.status).to.equal(503);
    expect(reply.headers.get('retry-after')).to.equal('1');

    await server.restart();
    await readyAgain();
    expect(await inputSeqs(server, pipeline)).to.deep.equal([1, 2, 3]);
    expect((await ingest.post(path, { payload: 'after' })).json.seqs).to.deep.equal([4]);
  });

  it('answers 503 when Redis does not answer in time, and the submit it finally runs writes nothing', async () => {
    ingest = await TestIngest.start(server, { redisTimeoutMs: 300 });
    const pipeline = await newPipeline(redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    expect((await ingest.post(path, { payload: 1 })).json.seqs).to.deep.equal([1]);

    server.pause();
    const reply = await ingest.post(path, [{ payload: 2, id: 'late' }, { payload: 3 }]);
    expect(reply.status).to.equal(503);
    expect(reply.json.message).to.match(/did not answer within \d+ ms \(submit\)/);
    // Let the deadline pass by Redis's clock too (same host), then let Redis run what waits on the socket.
    const answeredAt = Date.now();
    await waitFor(() => Date.now() > answeredAt + 50, { timeoutMs: 1000 });
    server.resume();
    await ingest.redis.ping(); // answered after the late submit: the connection keeps order

    expect(await inputSeqs(server, pipeline)).to.deep.equal([1]);
    const k = keysFor(pipeline, 0);
    expect(await redis.hget(k.meta, 'assigned')).to.equal('1');
    expect(await redis.hexists(k.dedupe, 'late')).to.equal(0);
    expect((await ingest.post(path, { payload: 2, id: 'late' })).json).to.deep.equal({ partition: 0, seqs: [2], duplicates: [false] });
  });

  it('answers 500 with a plain-text reason on the event API while Redis is down', async () => {
    ingest = await TestIngest.start(server);
    await server.stop();
    const reply = await ingest.post('/api/event/v1', { user_id: 1, priority: 0, event_data: {}, event_type_id: 99 });
    expect(reply.status).to.equal(500);
    expect(reply.headers.get('content-type')).to.match(/^text\/plain/);
    expect(reply.text).to.match(/^Redis is unreachable \(pipeline registration\)/);
  });

  it('answers 503 with Retry-After to reads and redrives while Redis is down (plain text on the event API)', async () => {
    ingest = await TestIngest.start(server, { retryAfterS: 3 });
    const pipeline = await newPipeline(redis);
    expect((await ingest.post('/api/event/v1', { user_id: 1, priority: 0, event_data: {}, event_type_id: 5 })).status).to.equal(200);
    expect((await ingest.get(`/v1/pipelines/${pipeline}/output`)).status).to.equal(200);
    await server.stop();
    for (const path of [`/v1/pipelines/${pipeline}/output`, `/v1/pipelines/${pipeline}/dead?limit=5`]) {
      const reply = await ingest.get(path);
      expect([reply.status, reply.headers.get('retry-after')], path).to.deep.equal([503, '3']);
      expect(reply.json.message, path).to.match(/^Redis is unreachable \((output|dead) read\): .*; retry later$/);
    }
    const redrive = await ingest.request('POST', `/v1/pipelines/${pipeline}/dead/1/redrive`, undefined);
    expect(redrive.status).to.equal(503);
    expect(redrive.json.message).to.match(/the redrive may have been applied; asking again is safe/);
    const event = await ingest.get('/api/event/v1/5/dead');
    expect([event.status, event.headers.get('retry-after')]).to.deep.equal([503, '3']);
    expect(event.headers.get('content-type')).to.match(/^text\/plain/);
    expect(event.text).to.match(/^Redis is unreachable \(dead read\)/);
  });
});
