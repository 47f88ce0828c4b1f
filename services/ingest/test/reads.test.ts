import { expect } from 'chai';
import { Partition, keysFor, makeEnvelope, serializeEnvelope, type DeadLetter } from '@inorder/shared';
import { newPipeline, TestIngest, type Reply, useIngest } from './support/ingest.js';

/** A dead-letter record as fail.lua writes it, for the message of `seq` that a submit enqueued. */
function deadRecord(seq: number, payload: unknown, extra: Partial<DeadLetter> = {}): string {
  const record: DeadLetter = {
    seq,
    reason: 'max-retries',
    attempts: 4,
    lastError: 'refused',
    deadAt: 1_700_000_000_000 + seq,
    envelope: makeEnvelope({ seq, payload, maxRetries: 3 }),
    ...extra,
  };
  return JSON.stringify(record);
}

describe('ingest reads: output and dead letters over HTTP', function () {
  const fixture = useIngest();

  /** A strict pipeline whose output holds seqs 1..count. */
  async function withOutput(count: number, partitions = 1, partition = 0): Promise<string> {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'reads', partitions);
    const entries = Array.from({ length: count }, (_, i) =>
      serializeEnvelope({ ...makeEnvelope({ seq: i + 1, payload: { n: i + 1 } }), result: i + 1, attempts: 1 }),
    );
    if (count > 0) await fixture.redis.rpush(keysFor(pipeline, partition).output, ...entries);
    return pipeline;
  }

  describe('GET /v1/pipelines/:pipeline/output', () => {
    it('pages through the output in order with next as the cursor, and null at the end', async () => {
      const pipeline = await withOutput(25);
      const seen: number[] = [];
      const nexts: Array<number | null> = [];
      let from: number | null = 0;
      while (from !== null) {
        const reply: Reply = await fixture.ingest.get(`/v1/pipelines/${pipeline}/output?from=${from}&limit=10`);
        expect(reply.status, reply.text).to.equal(200);
        expect(reply.json.length).to.equal(25);
        seen.push(...(reply.json.entries as Array<{ seq: number }>).map((e) => e.seq));
        nexts.push(reply.json.next);
        from = reply.json.next;
      }
      expect(nexts).to.deep.equal([10, 20, null]);
      expect(seen).to.deep.equal(Array.from({ length: 25 }, (_, i) => i + 1));
      // Reading removed nothing.
      expect(await fixture.redis.llen(keysFor(pipeline, 0).output)).to.equal(25);
    });

    it('parses each entry as JSON: payload, result, attempts and timestamps', async () => {
      const pipeline = await withOutput(2);
      const reply = await fixture.ingest.get(`/v1/pipelines/${pipeline}/output`);
      expect(reply.json.next).to.equal(null);
      expect(reply.json.entries[1]).to.deep.include({ seq: 2, payload: { n: 2 }, result: 2, attempts: 1 });
      expect(reply.json.entries[1].createdAt).to.be.a('number');
    });

    it('reads 100 entries by default and at most 1000, and answers an empty page past the end', async () => {
      const pipeline = await withOutput(1005);
      const first = await fixture.ingest.get(`/v1/pipelines/${pipeline}/output`);
      expect([first.json.entries.length, first.json.next, first.json.length]).to.deep.equal([100, 100, 1005]);
      const most = await fixture.ingest.get(`/v1/pipelines/${pipeline}/output?from=1&limit=1000`);
      expect([most.json.entries.length, most.json.entries[0].seq, most.json.next]).to.deep.equal([1000, 2, 1001]);
      const last = await fixture.ingest.get(`/v1/pipelines/${pipeline}/output?from=1001&limit=1000`);
      expect([last.json.entries.length, last.json.next]).to.deep.equal([4, null]);
      const past = await fixture.ingest.get(`/v1/pipelines/${pipeline}/output?from=5000`);
      expect(past.json).to.deep.equal({ entries: [], next: null, length: 1005 });
      const empty = await fixture.ingest.get(`/v1/pipelines/${await withOutput(0)}/output`);
      expect(empty.json).to.deep.equal({ entries: [], next: null, length: 0 });
    });

    it('reads the partition given in the query', async () => {
      const pipeline = await withOutput(3, 2, 1);
      expect((await fixture.ingest.get(`/v1/pipelines/${pipeline}/output`)).json.length).to.equal(0);
      expect((await fixture.ingest.get(`/v1/pipelines/${pipeline}/output?partition=1`)).json.length).to.equal(3);
    });

    it('refuses a malformed from or limit, and a limit of 0 or over 1000, with 400 naming the parameter', async () => {
      const pipeline = await withOutput(3, 2);
      const cases: Array<[string, string]> = [
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=abc', 'limit'],
        ['limit=1.5', 'limit'],
        ['limit=-1', 'limit'],
        ['limit=01', 'limit'],
        ['limit=', 'limit'],
        ['limit=1e2', 'limit'],
        ['limit=%201', 'limit'],
        ['limit=5&limit=6', 'limit'],
        ['from=-1', 'from'],
        ['from=x', 'from'],
        ['from=0x1', 'from'],
        ['from=99999999999999999999', 'from'],
        ['from=+1', 'from'],
        ['partition=2', 'partition'],
        ['partition=01', 'partition'],
        ['partition=0&partition=1', 'partition'],
      ];
      for (const [query, field] of cases) {
        const reply = await fixture.ingest.get(`/v1/pipelines/${pipeline}/output?${query}`);
        expect([reply.status, reply.json?.issues?.[0]?.field], query).to.deep.equal([400, field]);
        expect(reply.json.error, query).to.equal('Bad Request');
      }
      expect((await fixture.ingest.get(`/v1/pipelines/${pipeline}/dead?limit=0`)).status).to.equal(400);
    });

    it('answers 404 for an unknown pipeline and 400 for a name that cannot be one', async () => {
      const unknown = await fixture.ingest.get('/v1/pipelines/no-such-pipeline/output');
      expect([unknown.status, unknown.json.message]).to.deep.equal([
        404,
        'no pipeline named "no-such-pipeline": register it (PIPELINES on the ingest, or start its processors)',
      ]);
      expect((await fixture.ingest.get('/v1/pipelines/no-such-pipeline/dead')).status).to.equal(404);
      const bad = await fixture.ingest.get(`/v1/pipelines/${encodeURIComponent('a{b}')}/output`);
      expect([bad.status, bad.json.issues[0].field]).to.deep.equal([400, 'pipeline']);
    });

    it('hands back an entry that is not JSON as {unreadable}, never a 500', async () => {
      const pipeline = await withOutput(1);
      await fixture.redis.rpush(keysFor(pipeline, 0).output, 'not json {');
      const reply = await fixture.ingest.get(`/v1/pipelines/${pipeline}/output`);
      expect(reply.status).to.equal(200);
      expect(reply.json.entries[1]).to.deep.equal({ unreadable: 'not json {' });
    });
  });

  describe('GET /v1/pipelines/:pipeline/dead', () => {
    it('pages through the dead letters, oldest first, with their reasons, and removes nothing', async () => {
      const pipeline = await newPipeline(fixture.redis);
      const k = keysFor(pipeline, 0);
      const records = Array.from({ length: 7 }, (_, i) => deadRecord(i + 1, { n: i + 1 }));
      records.push(
        JSON.stringify({ readSeq: 3, reason: 'conflict', raw: '{"seq":3,"payload":"other"}', lastError: 'another message', deadAt: 5 }),
      );
      await fixture.redis.rpush(k.dead, ...records);
      const pages = [];
      for (let from: number | null = 0; from !== null;) {
        const reply: Reply = await fixture.ingest.get(`/v1/pipelines/${pipeline}/dead?from=${from}&limit=3`);
        expect(reply.status, reply.text).to.equal(200);
        pages.push(reply.json);
        from = reply.json.next;
      }
      expect(pages.map((p) => p.next)).to.deep.equal([3, 6, null]);
      const entries = pages.flatMap((p) => p.entries);
      expect(entries.map((e) => e.seq ?? `read ${e.readSeq}`)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 'read 3']);
      expect(entries[0]).to.deep.include({ reason: 'max-retries', attempts: 4, lastError: 'refused' });
      expect(entries[0].envelope).to.deep.include({ seq: 1, payload: { n: 1 } });
      expect(entries[7]).to.deep.include({ reason: 'conflict', raw: '{"seq":3,"payload":"other"}' });
      expect(await fixture.redis.llen(k.dead)).to.equal(8);
    });
  });

  describe('POST /v1/pipelines/:pipeline/dead/:seq/redrive', () => {
    /** A pipeline whose partition 0 took seqs 1..3 (assigned by the ingest, or given), with seq 2 dead-lettered. */
    async function withDeadLetter(source: 'assigned' | 'given'): Promise<{ pipeline: string; path: string }> {
      const pipeline = await newPipeline(fixture.redis);
      const messages = [1, 2, 3].map((n) => (source === 'given' ? { seq: n, payload: { n } } : { payload: { n } }));
      expect((await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, messages)).status).to.equal(202);
      const k = keysFor(pipeline, 0);
      await fixture.redis.lrem(k.input, 1, (await fixture.redis.lrange(k.input, 1, 1))[0]!);
      await fixture.redis.rpush(k.dead, deadRecord(2, { n: 2 }));
      return { pipeline, path: `/v1/pipelines/${pipeline}/dead/2/redrive` };
    }

    it('redrives a dead letter as a new message at the end of the order (200), then finds no dead letter for it (404)', async () => {
      const { pipeline, path } = await withDeadLetter('assigned');
      const reply = await fixture.ingest.request('POST', path, undefined);
      expect([reply.status, reply.json]).to.deep.equal([200, { seq: 4, duplicate: false }]);
      const k = keysFor(pipeline, 0);
      expect(await fixture.redis.llen(k.dead)).to.equal(0);
      const input = (await fixture.redis.lrange(k.input, 0, -1)).map(
        (r) => JSON.parse(r) as { seq: number; originalSeq?: number; payload: unknown },
      );
      expect(input.map((e) => e.seq)).to.deep.equal([1, 3, 4]);
      expect(input[2]).to.deep.include({ originalSeq: 2, payload: { n: 2 }, maxRetries: 3 });
      // The next submit takes the seq after it.
      expect((await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, { payload: 5 })).json.seqs).to.deep.equal([5]);
      const again = await fixture.ingest.request('POST', path, undefined);
      expect([again.status, again.json.message]).to.deep.equal([404, `partition 0 of pipeline ${pipeline} has no dead letter for seq 2`]);
      expect((await fixture.ingest.request('POST', `/v1/pipelines/${pipeline}/dead/9/redrive`, undefined)).status).to.equal(404);
    });

    it('takes an empty JSON body or {} as no newSeq', async () => {
      const { path } = await withDeadLetter('assigned');
      const reply = await fixture.ingest.request('POST', path, '', { 'content-type': 'application/json' });
      expect([reply.status, reply.json]).to.deep.equal([200, { seq: 4, duplicate: false }]);
      const other = await withDeadLetter('assigned');
      expect((await fixture.ingest.post(other.path, {})).status).to.equal(200);
    });

    it("answers 409 when producers number the partition's seqs and no newSeq is given, 200 with one", async () => {
      const { pipeline, path } = await withDeadLetter('given');
      const refused = await fixture.ingest.request('POST', path, undefined);
      expect(refused.status).to.equal(409);
      expect(refused.json.message).to.match(/numbered by its producers/);
      expect(await fixture.redis.llen(keysFor(pipeline, 0).dead)).to.equal(1);
      const done = await fixture.ingest.post(path, { newSeq: 100 });
      expect([done.status, done.json]).to.deep.equal([200, { seq: 100, duplicate: false }]);
      expect(await fixture.redis.llen(keysFor(pipeline, 0).dead)).to.equal(0);
    });

    it('answers 409 to a newSeq on a partition whose seqs the ingest assigns, and to a dead letter with no envelope', async () => {
      const { pipeline, path } = await withDeadLetter('assigned');
      const refused = await fixture.ingest.post(path, { newSeq: 100 });
      expect([refused.status, refused.json.message]).to.deep.equal([
        409,
        'this partition takes seqs from the ingest counter: omit the new seq',
      ]);
      expect(await fixture.redis.llen(keysFor(pipeline, 0).dead)).to.equal(1);
      await fixture.redis.rpush(
        keysFor(pipeline, 0).dead,
        JSON.stringify({ seq: 3, reason: 'malformed', raw: '{"seq":3,', lastError: 'not JSON', deadAt: 1 }),
      );
      const malformed = await fixture.ingest.request('POST', `/v1/pipelines/${pipeline}/dead/3/redrive`, undefined);
      expect(malformed.status).to.equal(409);
      expect(malformed.json.message).to.match(/no readable envelope/);
    });

    it('refuses a malformed seq, body or partition with 400 and a body that is not JSON with 415', async () => {
      const { pipeline, path } = await withDeadLetter('assigned');
      for (const seq of ['0', '01', 'x', '-1', '1.0', '99999999999999999999']) {
        const reply = await fixture.ingest.request('POST', `/v1/pipelines/${pipeline}/dead/${seq}/redrive`, undefined);
        expect([reply.status, reply.json.issues[0].field], seq).to.deep.equal([400, 'seq']);
      }
      for (const body of ['{"newSeq":0}', '{"newSeq":"7"}', '{"newSeq":1.5}', '{"other":1}', '[1]', 'null', '7', '{']) {
        const reply = await fixture.ingest.request('POST', path, body, { 'content-type': 'application/json' });
        expect(reply.status, body).to.equal(400);
      }
      expect((await fixture.ingest.request('POST', `${path}?partition=1`, undefined)).status).to.equal(400);
      expect((await fixture.ingest.request('POST', path, 'newSeq=7', { 'content-type': 'text/plain' })).status).to.equal(415);
      expect(await fixture.redis.llen(keysFor(pipeline, 0).dead)).to.equal(1);
    });

    it('answers 404 for an unknown pipeline', async () => {
      expect((await fixture.ingest.request('POST', '/v1/pipelines/no-such-pipeline/dead/1/redrive', undefined)).status).to.equal(404);
    });

    it('redrives past entries of the dead-letter list that are not records (written by hand), never a 500', async () => {
      const { pipeline, path } = await withDeadLetter('assigned');
      const k = keysFor(pipeline, 0);
      await fixture.redis.lpush(k.dead, 'null', '42', '[1]', 'not json');
      expect((await fixture.ingest.request('POST', `/v1/pipelines/${pipeline}/dead/9/redrive`, undefined)).status).to.equal(404);
      const reply = await fixture.ingest.request('POST', path, undefined);
      expect([reply.status, reply.json]).to.deep.equal([200, { seq: 4, duplicate: false }]);
      expect(await fixture.redis.lrange(k.dead, 0, -1)).to.deep.equal(['not json', '[1]', '42', 'null']);
    });
  });

  describe('event API reads', () => {
    let type = 500;

    it("reads an event type's output and dead letters, and redrives a dead letter", async () => {
      const t = type++;
      const queued = await fixture.ingest.post('/api/event/v1', { user_id: 1, priority: 2, event_data: { a: 1 }, event_type_id: t });
      expect(queued.json.seq).to.equal(1);
      const k = keysFor(`events-${t}`, 0);
      await fixture.redis.zremrangebyrank(k.queue, 0, -1);
      await fixture.redis.rpush(k.output, ...[1, 2, 3].map((seq) => JSON.stringify({ seq, result: seq })));
      const output = await fixture.ingest.get(`/api/event/v1/${t}/output?from=1&limit=1`);
      expect([output.status, output.json]).to.deep.equal([200, { entries: [{ seq: 2, result: 2 }], next: 2, length: 3 }]);
      await fixture.redis.rpush(
        k.dead,
        deadRecord(1, { user_id: 1 }, { envelope: { ...makeEnvelope({ seq: 1, payload: { user_id: 1 } }), priority: 2 } }),
      );
      const dead = await fixture.ingest.get(`/api/event/v1/${t}/dead`);
      expect([dead.status, dead.json.length, dead.json.entries[0].reason]).to.deep.equal([200, 1, 'max-retries']);
      const redriven = await fixture.ingest.request('POST', `/api/event/v1/${t}/dead/1/redrive`, undefined);
      expect([redriven.status, redriven.json]).to.deep.equal([200, { seq: 2, duplicate: false }]);
      const [raw, score] = await fixture.redis.zrange(k.queue, 0, -1, 'WITHSCORES');
      expect(JSON.parse(raw!)).to.deep.include({ seq: 2, originalSeq: 1, priority: 2 });
      expect(Number(score)).to.be.above(2 * 2 ** 40 - 1);
      const again = await fixture.ingest.request('POST', `/api/event/v1/${t}/dead/1/redrive`, '', { 'content-type': 'text/plain' });
      expect([again.status, again.text]).to.deep.equal([404, `partition 0 of pipeline events-${t} has no dead letter for seq 1`]);
    });

    it('answers plain-text errors: 400 for a bad type, seq or page, 404 for a type never queued', async () => {
      const cases: Array<[string, string, number, RegExp]> = [
        ['GET', '/api/event/v1/abc/output', 400, /^event_type_id: must be a non-negative integer/],
        ['GET', '/api/event/v1/10000/output', 400, /^event_type_id: must be from 0 to 9999/],
        ['GET', '/api/event/v1/0/output?limit=0', 400, /^limit: must be from 1 to 1000/],
        ['GET', '/api/event/v1/0/dead?from=-1', 400, /^from: must be a non-negative integer/],
        ['POST', '/api/event/v1/0/dead/0/redrive', 400, /^seq: must be from 1/],
        ['GET', '/api/event/v1/9999/output', 404, /^no pipeline named "events-9999"/],
        ['GET', '/api/event/v1/9999/dead', 404, /^no pipeline named "events-9999"/],
        ['POST', '/api/event/v1/9999/dead/1/redrive', 404, /^no pipeline named "events-9999"/],
      ];
      for (const [method, path, status, text] of cases) {
        const reply = await fixture.ingest.request(method, path, undefined);
        expect(reply.status, path).to.equal(status);
        expect(reply.text, path).to.match(text);
        expect(reply.headers.get('content-type'), path).to.match(/^text\/plain/);
      }
      const body = await fixture.ingest.request('POST', '/api/event/v1/0/dead/1/redrive', '{"newSeq":"x"}', {
        'content-type': 'text/plain',
      });
      expect([body.status, body.text]).to.deep.equal([400, 'newSeq: must be a number']);
    });
  });

  describe('with API_KEYS set', () => {
    let secured: TestIngest;
    before(async () => {
      secured = await TestIngest.start(fixture.server, { apiKeys: ['key-one-12345'] });
    });
    after(async () => {
      await secured.close();
    });

    it('answers 401 without a key on every read and redrive, and reads with one', async () => {
      const pipeline = await withOutput(2);
      await fixture.ingest.post('/api/event/v1', { user_id: 1, priority: 0, event_data: {}, event_type_id: 1 });
      const json = [`/v1/pipelines/${pipeline}/output`, `/v1/pipelines/${pipeline}/dead`];
      for (const path of json) {
        const reply = await secured.get(path);
        expect([reply.status, reply.json.message], path).to.deep.equal([
          401,
          'missing API key: send "authorization: Bearer <key>" or "x-api-key: <key>"',
        ]);
        expect(reply.headers.get('www-authenticate')).to.match(/^Bearer/);
        expect((await secured.get(path, { authorization: 'Bearer key-one-12345' })).status, path).to.equal(200);
        expect((await secured.get(path, { authorization: 'Bearer wrong-key-1234' })).status, path).to.equal(401);
      }
      const redrive = await secured.request('POST', `/v1/pipelines/${pipeline}/dead/1/redrive`, undefined);
      expect(redrive.status).to.equal(401);
      for (const path of ['/api/event/v1/1/output', '/api/event/v1/1/dead']) {
        const reply = await secured.get(path);
        expect([reply.status, reply.text], path).to.deep.equal([
          401,
          'missing API key: send "authorization: Bearer <key>" or "x-api-key: <key>"',
        ]);
        expect((await secured.get(path, { 'x-api-key': 'key-one-12345' })).status, path).to.equal(200);
      }
      expect((await secured.request('POST', '/api/event/v1/1/dead/1/redrive', undefined)).status).to.equal(401);
    });
  });

  it('documents every read in the OpenAPI document', async () => {
    const doc = await fixture.ingest.get('/docs/json');
    expect(Object.keys(doc.json.paths)).to.include.members([
      '/v1/pipelines/{pipeline}/output',
      '/v1/pipelines/{pipeline}/dead',
      '/v1/pipelines/{pipeline}/dead/{seq}/redrive',
      '/api/event/v1/{type}/output',
      '/api/event/v1/{type}/dead',
      '/api/event/v1/{type}/dead/{seq}/redrive',
    ]);
    const output = doc.json.paths['/v1/pipelines/{pipeline}/output'].get;
    expect(output.parameters.map((p: { name: string }) => p.name)).to.include.members(['pipeline', 'partition', 'from', 'limit']);
    expect(output.description).to.match(/positions/i);
    expect(doc.json.paths['/v1/pipelines/{pipeline}/dead/{seq}/redrive'].post.responses).to.include.keys('200', '400', '401', '404', '409');
  });

  describe('Partition list pages', () => {
    it('reads a page and the length in one step; a count of 0 reads the length only', async () => {
      const pipeline = await withOutput(5);
      const partition = new Partition(fixture.redis, pipeline, 0);
      const page = await partition.readOutput(3, 10);
      expect([page.raw.map((r) => JSON.parse(r).seq), page.length]).to.deep.equal([[4, 5], 5]);
      expect(await partition.readOutput(0, 0)).to.deep.equal({ raw: [], length: 5 });
      expect(await partition.readDead(0, 10)).to.deep.equal({ raw: [], length: 0 });
      let error: unknown;
      await partition.readOutput(-1, 1).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(RangeError);
    });
  });
});
