import { expect } from 'chai';
import { keysFor } from '@inorder/shared';
import { uniquePipeline, capturingLogger } from '@inorder/testkit';
import { TestIngest, newPipeline, useIngest } from './support/ingest.js';

describe('ingest HTTP API: answers and errors', function () {
  const fixture = useIngest({ maxBatch: 5, maxBodyBytes: 2048 });

  const inputOf = async (pipeline: string): Promise<string[]> => fixture.redis.lrange(keysFor(pipeline, 0).input, 0, -1);

  it('answers 202 with the assigned seq of a single message and enqueues it', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, { payload: { order: 7 } });
    expect(reply.status).to.equal(202);
    expect(reply.json).to.deep.equal({ partition: 0, seqs: [1], duplicates: [false] });
    const [raw] = await inputOf(pipeline);
    expect(raw).to.match(/^\{"seq":1,/);
    expect(JSON.parse(raw!)).to.include({ seq: 1 }).and.to.have.deep.property('payload', { order: 7 });
  });

  it('takes the seqs of a batch as given and assigns none', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [
      { seq: 5, payload: 'a' },
      { seq: 3, payload: 'b' },
    ]);
    expect(reply.status).to.equal(202);
    expect(reply.json.seqs).to.deep.equal([5, 3]);
    expect((await inputOf(pipeline)).map((r) => JSON.parse(r).seq)).to.deep.equal([5, 3]);
  });

  it("refuses malformed JSON with 400 naming the body and the parser's reason", async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, '{"payload": 1,');
    expect(reply.status).to.equal(400);
    expect(reply.json.issues[0].field).to.equal('(body)');
    expect(reply.json.message).to.match(/^\(body\): is not valid JSON \(.+\)$/);
    expect(await inputOf(pipeline)).to.deep.equal([]);
  });

  it('refuses an empty body, a scalar body and an empty batch with 400', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    const empty = await fixture.ingest.request('POST', path, '', { 'content-type': 'application/json' });
    expect([empty.status, empty.json.message]).to.deep.equal([400, '(body): is empty: send a JSON object or array']);
    const scalar = await fixture.ingest.post(path, 42);
    expect([scalar.status, scalar.json.message]).to.deep.equal([400, '(body): must be a message object or an array of messages']);
    const none = await fixture.ingest.post(path, []);
    expect([none.status, none.json.message]).to.deep.equal([400, '(body): must hold at least one message']);
  });

  it('names every bad field of a batch with its reason, and enqueues none of it', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [
      { payload: 1 },
      { seq: 'x', payload: 2 },
      { maxRetries: -5 },
      { payload: 3, colour: 'red', id: '' },
    ]);
    expect(reply.status).to.equal(400);
    expect(reply.json.issues).to.deep.equal([
      { field: '[1].seq', reason: 'must be a number' },
      { field: '[2].payload', reason: 'is required' },
      { field: '[2].maxRetries', reason: 'must be at least -1' },
      { field: '[3].id', reason: 'must be at least 1 characters' },
      { field: '[3].colour', reason: 'is not a known field' },
    ]);
    expect(reply.json.message).to.contain('[1].seq: must be a number');
    expect(await inputOf(pipeline)).to.deep.equal([]);
  });

  it('refuses a non-integer seq and a seq below 1', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    expect((await fixture.ingest.post(path, { seq: 1.5, payload: 1 })).json.issues).to.deep.equal([
      { field: 'seq', reason: 'must be an integer' },
    ]);
    expect((await fixture.ingest.post(path, { seq: 0, payload: 1 })).json.issues).to.deep.equal([
      { field: 'seq', reason: 'must be at least 1' },
    ]);
  });

  it('refuses a batch where some messages give a seq and others do not (400, nothing enqueued)', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [{ seq: 1, payload: 1 }, { payload: 2 }]);
    expect(reply.status).to.equal(400);
    expect(reply.json.issues[0].field).to.equal('[1].seq');
    expect(reply.json.message).to.contain('give a seq on every message of a batch or on none');
    expect(await inputOf(pipeline)).to.deep.equal([]);
  });

  it('refuses the same seq twice in one batch', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [
      { seq: 4, payload: 1 },
      { seq: 4, payload: 2 },
    ]);
    expect(reply.status).to.equal(400);
    expect(reply.json.issues).to.deep.equal([{ field: '[1].seq', reason: '4 is already the seq of message [0]' }]);
  });

  it('refuses a batch over MAX_BATCH with 400', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const batch = Array.from({ length: 6 }, (_, i) => ({ payload: i }));
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, batch);
    expect(reply.status).to.equal(400);
    expect(reply.json.message).to.equal('(body): holds 6 messages; a batch takes at most 5 (MAX_BATCH)');
  });

  it('takes a batch of exactly MAX_BATCH messages', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.post(
      `/v1/pipelines/${pipeline}/messages`,
      Array.from({ length: 5 }, (_, i) => ({ payload: i })),
    );
    expect(reply.status).to.equal(202);
    expect(reply.json.seqs).to.deep.equal([1, 2, 3, 4, 5]);
    expect(await inputOf(pipeline)).to.have.length(5);
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, { payload: 'x'.repeat(3000) });
    expect(reply.status).to.equal(413);
    expect(reply.json.message).to.equal('(body): is larger than MAX_BODY_BYTES (2048 bytes)');
    expect(await inputOf(pipeline)).to.deep.equal([]);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const reply = await fixture.ingest.request('POST', `/v1/pipelines/${pipeline}/messages`, 'payload=1', { 'content-type': 'text/plain' });
    expect(reply.status).to.equal(415);
    expect(reply.json.message).to.equal('content-type must be application/json');
  });

  it('answers 404 for a pipeline that is not in the registry, and 400 for a name that cannot be one', async () => {
    const unknown = await fixture.ingest.post('/v1/pipelines/no-such-pipeline/messages', { payload: 1 });
    expect(unknown.status).to.equal(404);
    expect(unknown.json.message).to.match(/^no pipeline named "no-such-pipeline"/);
    const bad = await fixture.ingest.post(`/v1/pipelines/${encodeURIComponent('a{b}')}/messages`, { payload: 1 });
    expect(bad.status).to.equal(400);
    expect(bad.json.issues[0].field).to.equal('pipeline');
    expect((await fixture.ingest.get('/v1/pipelines/no-such-pipeline')).status).to.equal(404);
  });

  it('refuses priority on an ordered pipeline with 400 and the reason', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict');
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [{ payload: 1 }, { payload: 2, priority: 3 }]);
    expect(reply.status).to.equal(400);
    expect(reply.json.issues).to.deep.equal([
      {
        field: '[1].priority',
        reason: `pipeline ${pipeline} is ordered (ordering strict): priority applies to unordered pipelines only`,
      },
    ]);
    expect(await inputOf(pipeline)).to.deep.equal([]);
  });

  it('refuses a priority outside -1000..1000 on an unordered pipeline', async () => {
    const pipeline = await newPipeline(fixture.redis, 'none');
    const reply = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1, priority: 1001 });
    expect(reply.status).to.equal(400);
    expect(reply.json.issues).to.deep.equal([{ field: 'priority', reason: 'must be at most 1000' }]);
  });

  it('answers 409 when a partition with assigned seqs gets given ones, and the other way round', async () => {
    const assigned = await newPipeline(fixture.redis);
    expect((await fixture.ingest.post(`/v1/pipelines/${assigned}/messages`, { payload: 1 })).status).to.equal(202);
    const given = await fixture.ingest.post(`/v1/pipelines/${assigned}/messages`, { seq: 2, payload: 2 });
    expect(given.status).to.equal(409);
    expect(given.json.message).to.equal(`partition 0 of pipeline ${assigned} has its seqs assigned by the ingest: omit seq`);

    const producer = await newPipeline(fixture.redis);
    expect((await fixture.ingest.post(`/v1/pipelines/${producer}/messages`, { seq: 1, payload: 1 })).status).to.equal(202);
    const omitted = await fixture.ingest.post(`/v1/pipelines/${producer}/messages`, { payload: 2 });
    expect(omitted.status).to.equal(409);
    expect(await inputOf(producer)).to.have.length(1);
  });

  it('routes to a partition given in the query and refuses one the pipeline does not have', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'parts', 2);
    const ok = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages?partition=1`, { payload: 1 });
    expect(ok.status).to.equal(202);
    expect(await fixture.redis.llen(keysFor(pipeline, 1).input)).to.equal(1);
    const bad = await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages?partition=2`, { payload: 1 });
    expect(bad.status).to.equal(400);
    expect(bad.json.issues[0]).to.deep.equal({ field: 'partition', reason: `pipeline ${pipeline} has 2 partition(s): must be below 2` });
  });

  it('puts a request id on every response, keeping a sane one the client sent', async () => {
    const generated = await fixture.ingest.get('/healthz');
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const kept = await fixture.ingest.get('/healthz', { 'x-request-id': 'client-id.42' });
    expect(kept.headers.get('x-request-id')).to.equal('client-id.42');
    const replaced = await fixture.ingest.get('/healthz', { 'x-request-id': 'bad id with spaces' });
    expect(replaced.headers.get('x-request-id')).to.not.equal('bad id with spaces');
    const error = await fixture.ingest.post('/v1/pipelines/none-here/messages', '{');
    expect(error.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const missing = await fixture.ingest.get('/nowhere');
    expect(missing.status).to.equal(404);
    expect(missing.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('answers /healthz and /readyz', async () => {
    expect(await fixture.ingest.get('/healthz').then((r) => [r.status, r.json])).to.deep.equal([200, { status: 'ok' }]);
    expect(await fixture.ingest.get('/readyz').then((r) => [r.status, r.json])).to.deep.equal([200, { status: 'ready' }]);
  });

  it('serves the OpenAPI page at /docs and the document at /docs/json', async () => {
    const page = await fixture.ingest.get('/docs');
    expect(page.status).to.equal(200);
    expect(page.text).to.match(/swagger/i);
    const doc = await fixture.ingest.get('/docs/json');
    expect(doc.status).to.equal(200);
    expect(Object.keys(doc.json.paths)).to.include.members([
      '/v1/pipelines/{pipeline}/messages',
      '/v1/pipelines/{pipeline}',
      '/api/event/v1',
      '/healthz',
      '/readyz',
    ]);
    expect(doc.json.paths['/v1/pipelines/{pipeline}/messages'].post.responses).to.include.keys('202', '400', '401', '404', '413', '503');
  });

  it("reports a pipeline's status: depth, in-flight, backlog, next seq, leader and fence, dead letters, skipped, stall", async () => {
    const pipeline = await newPipeline(fixture.redis);
    await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
    const k = keysFor(pipeline, 0);
    const stall = { seq: 1, reason: 'waiting for seq 1: claimed by p1 (alive), its handler still running', at: 1234 };
    await fixture.redis.hset(k.meta, 'fence', 'seq-host-1:4', 'dead', '2', 'skipped', '1', 'lost', '1', 'stall', JSON.stringify(stall));
    await fixture.redis.set(k.leader, 'lock', 'PX', 5000);
    await fixture.redis.hset(k.claims, 'p1:1', '2|1,2');
    await fixture.redis.zadd(k.owners, Date.now() + 5000, 'p1');
    await fixture.redis.xadd(k.results, '*', 's', '3');
    await fixture.redis.rpush(k.dead, '{"seq":9}');
    const before = Date.now();
    const reply = await fixture.ingest.get(`/v1/pipelines/${pipeline}`);
    expect(reply.status).to.equal(200);
    // The oldest waiting message's createdAt: stamped by the submit just above.
    const oldest = reply.json.partitions[0].oldestCreatedAt as number;
    expect(oldest).to.be.within(before - 10_000, Date.now());
    delete reply.json.partitions[0].oldestCreatedAt;
    expect(reply.json).to.deep.equal({
      pipeline,
      ordering: 'strict',
      partitions: [
        {
          partition: 0,
          inputDepth: 3,
          parked: 0,
          inFlight: 2,
          claims: 1,
          processors: 1,
          retrying: 0,
          resultsBacklog: 1,
          nextSeq: 1,
          accepted: 3,
          lastAssignedSeq: 3,
          seqSource: 'assigned',
          leader: { owner: 'seq-host-1', epoch: 4, fence: 'seq-host-1:4', leaseHeld: true },
          outputLength: 0,
          deadLetters: 1,
          deadTotal: 2,
          skipped: 1,
          lost: 1,
          emitted: 0,
          duplicates: 0,
          movedAt: null,
          stalled: { reason: stall.reason, seq: 1, since: 1234 },
        },
      ],
    });
  });

  it('reports an unordered pipeline per partition, counting its priority queue as input depth', async () => {
    const pipeline = await newPipeline(fixture.redis, 'none', 'status', 2);
    await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages?partition=1`, [{ payload: 1, priority: 2 }, { payload: 2 }]);
    const reply = await fixture.ingest.get(`/v1/pipelines/${pipeline}`);
    expect(reply.status).to.equal(200);
    expect(reply.json.ordering).to.equal('none');
    expect(
      reply.json.partitions.map((p: { partition: number; inputDepth: number; lastAssignedSeq: number | null; leader: unknown }) => [
        p.partition,
        p.inputDepth,
        p.lastAssignedSeq,
        p.leader,
      ]),
    ).to.deep.equal([
      [0, 0, null, null],
      [1, 2, 2, null],
    ]);
  });

  it('puts the request id on every log line of a request, errors included', async () => {
    const capture = capturingLogger('debug');
    const logged = await TestIngest.start(fixture.server, { maxBodyBytes: 2048 }, capture.logger);
    const pipeline = await newPipeline(fixture.redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    try {
      const sent = [
        await logged.post(path, { payload: 1 }, { 'x-request-id': 'r-submit' }),
        await logged.post(path, '{', { 'x-request-id': 'r-malformed' }),
        await logged.post(path, { payload: 'x'.repeat(3000) }, { 'x-request-id': 'r-large' }),
        await logged.post('/v1/pipelines/none-here/messages', { payload: 1 }, { 'x-request-id': 'r-unknown' }),
        await logged.get(`/v1/pipelines/${pipeline}`, { 'x-request-id': 'r-status' }),
      ];
      expect(sent.map((r) => r.status)).to.deep.equal([202, 400, 413, 404, 200]);
    } finally {
      await logged.close();
    }
    const ids = ['r-submit', 'r-malformed', 'r-large', 'r-unknown', 'r-status'];
    expect(capture.lines.filter((l) => !ids.includes(l.requestId as string))).to.deep.equal([]);
    for (const id of ids) {
      expect(
        capture.lines.filter((l) => l.requestId === id).map((l) => l.message),
        id,
      ).to.include.members(['request received', 'request']);
    }
    expect(capture.lines.find((l) => l.message === 'submitted')).to.include({ requestId: 'r-submit', pipeline, firstSeq: 1 });
  });

  describe('hostile bodies', () => {
    let roomy: TestIngest;
    before(async () => {
      roomy = await TestIngest.start(fixture.server, { maxBatch: 1990 });
    });
    after(async () => {
      await roomy.close();
    });

    const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

    it('refuses a body nested past MAX_DEPTH with 400, however deep, and takes one at the limit', async () => {
      const pipeline = await newPipeline(fixture.redis);
      const path = `/v1/pipelines/${pipeline}/messages`;
      for (const depth of [32, 1000, 1_000_000]) {
        const reply = await roomy.post(path, `{"payload":${nested(depth)}}`);
        expect([reply.status, reply.json?.issues], `depth ${depth + 1}`).to.deep.equal([
          400,
          [{ field: '(body)', reason: 'nests arrays and objects deeper than MAX_DEPTH (32)' }],
        ]);
      }
      // Brackets inside strings are text, not nesting.
      expect((await roomy.post(path, { payload: `${nested(40)}{{{` })).status).to.equal(202);
      expect((await roomy.post(path, `[{"payload":${nested(30)}}]`)).status).to.equal(202);
      expect(await inputOf(pipeline)).to.have.length(2);
    });

    it('lists at most 20 issues and says how many more, so a batch of 1,990 bad messages gets a small answer', async () => {
      const pipeline = await newPipeline(fixture.redis);
      const batch = Array.from({ length: 1990 }, (_, i) => ({ seq: `s${i}`, colour: 'red', [`k${'x'.repeat(200)}`]: i }));
      const body = JSON.stringify(batch);
      expect(body.length).to.be.above(400_000);
      const reply = await roomy.post(`/v1/pipelines/${pipeline}/messages`, body);
      expect(reply.status).to.equal(400);
      expect(reply.text.length).to.be.below(16_384);
      expect(reply.json.issues).to.have.length(21);
      expect(reply.json.issues.slice(0, 4).map((i: { field: string }) => i.field)).to.have.members([
        '[0].payload',
        '[0].seq',
        '[0].colour',
        `[0].k${'x'.repeat(194)}…`,
      ]);
      expect(reply.json.issues[20]).to.deep.equal({ field: '(body)', reason: `and ${1990 * 4 - 20} more issues, not listed` });
      expect(await inputOf(pipeline)).to.deep.equal([]);
    });

    it('cuts a field name that is a megabyte long', async () => {
      const pipeline = await newPipeline(fixture.redis);
      const reply = await roomy.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1, ['k'.repeat(1_000_000)]: 1 });
      expect(reply.status).to.equal(400);
      expect(reply.text.length).to.be.below(2048);
      expect(reply.json.issues[0].field).to.match(/^k+…$/);
      expect(reply.json.issues[0].reason).to.equal('is not a known field');
    });

    it('refuses a body giving a key twice with 400 naming the key, instead of keeping the last value', async () => {
      const pipeline = await newPipeline(fixture.redis);
      const path = `/v1/pipelines/${pipeline}/messages`;
      const twice = await fixture.ingest.post(path, '{"seq":1,"seq":2,"payload":1}');
      expect(twice.status).to.equal(400);
      expect(twice.json.issues).to.deep.equal([{ field: 'seq', reason: 'is given twice: the keys of a JSON object must be unique' }]);
      const nestedTwice = await fixture.ingest.post(path, '[{"payload":1},{"payload":{"a":[{"b":1,"\\u0062":2}]}}]');
      expect(nestedTwice.json.issues).to.deep.equal([
        { field: '[1].payload.a[0].b', reason: 'is given twice: the keys of a JSON object must be unique' },
      ]);
      // The same key in sibling objects is fine.
      expect((await fixture.ingest.post(path, '[{"payload":{"a":1}},{"payload":{"a":2,"b":{"a":3}}}]')).status).to.equal(202);
      expect(await inputOf(pipeline)).to.have.length(2);
    });
  });

  it('refuses an id holding a lone surrogate, which Redis would store as U+FFFD and confuse with another', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const path = `/v1/pipelines/${pipeline}/messages`;
    const reply = await fixture.ingest.post(path, '[{"payload":1,"id":"a\\ud800"},{"payload":2,"id":"a\\udbff"}]');
    expect(reply.json.issues).to.deep.equal([
      { field: '[0].id', reason: 'must be well-formed Unicode (no lone surrogate)' },
      { field: '[1].id', reason: 'must be well-formed Unicode (no lone surrogate)' },
    ]);
    expect((await fixture.ingest.post(path, { payload: 1, id: 'emoji-\u{1f431}' })).status).to.equal(202);
  });

  it('takes only a canonical decimal partition number from the query, given once', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'parts', 2);
    const path = `/v1/pipelines/${pipeline}/messages`;
    for (const query of [
      'partition=0x0',
      'partition=%200',
      'partition=',
      'partition=%2B1',
      'partition=1e0',
      'partition=01',
      'partition=-1',
      'partition=1.0',
      'partition=one',
      'partition=0&partition=0',
      'partition=99999999999999999999',
    ]) {
      const reply = await fixture.ingest.post(`${path}?${query}`, { payload: 1 });
      expect([reply.status, reply.json.issues?.[0]?.field], query).to.deep.equal([400, 'partition']);
    }
    expect((await fixture.ingest.post(`${path}?partition=0&partition=1`, { payload: 1 })).json.issues[0].reason).to.match(/given 2 times/);
    expect((await fixture.ingest.post(`${path}?partition=01`, { payload: 1 })).json.issues[0].reason).to.match(/"01"/);
    expect((await fixture.ingest.post(`${path}?partition=1`, { payload: 1 })).status).to.equal(202);
    expect((await fixture.ingest.post(`${path}?partition=0`, { payload: 1 })).status).to.equal(202);
    expect((await fixture.ingest.post(path, { payload: 1 })).status).to.equal(202);
    expect([await fixture.redis.llen(keysFor(pipeline, 0).input), await fixture.redis.llen(keysFor(pipeline, 1).input)]).to.deep.equal([
      2, 1,
    ]);
  });

  it('lists the readable pipelines when a registry entry is unreadable, and answers 500 naming that one', async () => {
    const capture = capturingLogger();
    const logged = await TestIngest.start(fixture.server, {}, capture.logger);
    const good = await newPipeline(fixture.redis);
    const notJson = uniquePipeline('broken');
    const badSchema = uniquePipeline('broken');
    await fixture.redis.hset('inorder:pipelines', notJson, 'not json', badSchema, '{"ordering":"sorted","partitions":1,"createdAt":1}');
    try {
      const list = await logged.get('/v1/pipelines');
      expect(list.status).to.equal(200);
      expect(list.json.pipelines).to.have.property(good);
      expect(list.json.pipelines).to.not.have.property(notJson);
      expect(list.json.skipped.map((s: { pipeline: string }) => s.pipeline)).to.have.members([notJson, badSchema]);
      const warned = capture.lines.filter((l) => l.message === 'unreadable registry entry skipped');
      expect(warned.map((l) => [l.level, l.pipeline])).to.have.deep.members([
        ['warn', notJson],
        ['warn', badSchema],
      ]);
      expect(warned.every((l) => typeof l.reason === 'string' && l.reason.length > 0)).to.equal(true);

      for (const reply of [
        await logged.get(`/v1/pipelines/${notJson}`),
        await logged.post(`/v1/pipelines/${badSchema}/messages`, { payload: 1 }),
      ]) {
        expect(reply.status).to.equal(500);
        expect(reply.json.message).to.match(
          /^pipeline broken-[0-9a-f]+: its registry entry .* cannot be read: .*; fix or delete the registry entry$/,
        );
      }
      expect((await logged.get(`/v1/pipelines/${good}`)).status).to.equal(200);
    } finally {
      await fixture.redis.hdel('inorder:pipelines', notJson, badSchema);
      await logged.close();
    }
  });

  it('never logs an API key: query values of key parameters are redacted, key headers are never logged', async () => {
    const capture = capturingLogger('debug');
    const logged = await TestIngest.start(fixture.server, { apiKeys: ['header-key-123'] }, capture.logger);
    const pipeline = await newPipeline(fixture.redis);
    const secrets = ['query-secret-1', 'query-secret-2', 'query-secret-3', 'query-secret-4', 'query-secret-5'];
    try {
      const query = `api_key=${secrets[0]}&Token=${secrets[1]}&KEY=${secrets[2]}&access_token=${secrets[3]}&Api%5FKey=${secrets[4]}&partition=0`;
      await logged.post(`/v1/pipelines/${pipeline}/messages?${query}`, { payload: 1 }, { authorization: 'Bearer header-key-123' });
      await logged.get(`/v1/pipelines/${pipeline}?token=${secrets[1]}`, { 'x-api-key': 'header-key-123' });
      await logged.get(`/nowhere?key=${secrets[2]}`, { authorization: 'Bearer header-key-123' });
    } finally {
      await logged.close();
    }
    const text = capture.lines.map((l) => JSON.stringify(l)).join('\n');
    for (const secret of [...secrets, 'header-key-123']) expect(text).to.not.contain(secret);
    const urls = capture.lines.filter((l) => l.message === 'request').map((l) => l.url);
    expect(urls[0]).to.equal(
      `/v1/pipelines/${pipeline}/messages?api_key=[redacted]&Token=[redacted]&KEY=[redacted]&access_token=[redacted]&Api%5FKey=[redacted]&partition=0`,
    );
  });

  describe('with API_KEYS set', () => {
    let secured: TestIngest;
    before(async () => {
      secured = await TestIngest.start(fixture.server, { apiKeys: ['key-one-12345', 'key-two-12345'] });
    });
    after(async () => {
      await secured.close();
    });

    it('answers 401 without a key or with an unknown one, on every API route', async () => {
      const pipeline = await newPipeline(fixture.redis);
      const none = await secured.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1 });
      expect(none.status).to.equal(401);
      expect(none.json.message).to.equal('missing API key: send "authorization: Bearer <key>" or "x-api-key: <key>"');
      expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
      const wrong = await secured.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1 }, { authorization: 'Bearer key-one-1234' });
      expect([wrong.status, wrong.json.message]).to.deep.equal([401, 'API key not recognised']);
      expect((await secured.get(`/v1/pipelines/${pipeline}`)).status).to.equal(401);
      expect((await secured.get('/v1/pipelines')).status).to.equal(401);
      const event = await secured.post('/api/event/v1', { user_id: 1, priority: 0, event_data: {}, event_type_id: 1 });
      expect([event.status, event.text]).to.deep.equal([401, 'missing API key: send "authorization: Bearer <key>" or "x-api-key: <key>"']);
      expect(await inputOf(pipeline)).to.deep.equal([]);
    });

    it('accepts either key as a bearer token or in x-api-key, and leaves health and docs open', async () => {
      const pipeline = await newPipeline(fixture.redis);
      expect(
        (await secured.post(`/v1/pipelines/${pipeline}/messages`, { payload: 1 }, { authorization: 'Bearer key-two-12345' })).status,
      ).to.equal(202);
      expect((await secured.post(`/v1/pipelines/${pipeline}/messages`, { payload: 2 }, { 'x-api-key': 'key-one-12345' })).status).to.equal(
        202,
      );
      expect((await secured.get('/healthz')).status).to.equal(200);
      expect((await secured.get('/readyz')).status).to.equal(200);
      expect((await secured.get('/docs/json')).status).to.equal(200);
    });
  });
});
