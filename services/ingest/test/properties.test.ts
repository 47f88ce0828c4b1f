import { expect } from 'chai';
import fc from 'fast-check';
import { keysFor, makeEnvelope, type RedisClient } from '@inorder/shared';
import { RedisServer } from '@inorder/testkit';
import { TestIngest, newPipeline } from './support/ingest.js';

/** Any code point, lone surrogate halves included. */
const unit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);
const text = fc.string({ unit, maxLength: 30 });
const hugeNumber = fc.constantFrom('1e400', '-1e400', '9007199254740993', '1' + '0'.repeat(400), '0.0000001', '-0', '1E2', '4.0');
/** Anything that may stand where a field's value goes, as JSON text. */
const anyValueText = fc.oneof(
  fc.json({ maxDepth: 3 }),
  hugeNumber,
  text.map((s) => JSON.stringify(s)),
  fc.integer({ min: -3, max: 60 }).map(String),
);

/** A message object as JSON text: known and unknown fields, right and wrong types, keys twice. */
const messageText = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('payload', 'payload', 'seq', 'id', 'maxRetries', 'maxAgeMs', 'priority'), text),
      fc.oneof(anyValueText, fc.integer({ min: 1, max: 40 }).map(String), fc.constantFrom('"order-1"', '"order-2"', '{"a":1}')),
    ),
    { maxLength: 6 },
  )
  .map((fields) => `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);

/** A well-formed message, so that some requests succeed and the counts are tested. */
const goodMessage = fc
  .record(
    {
      payload: fc.jsonValue({ maxDepth: 2 }),
      id: fc.constantFrom('a', 'b', 'c', 'd'),
      seq: fc.integer({ min: 1, max: 60 }),
      priority: fc.integer({ min: -2, max: 2 }),
      maxRetries: fc.integer({ min: -1, max: 5 }),
    },
    { requiredKeys: ['payload'] },
  )
  .map((m) => JSON.stringify(m));

const eventText = fc
  .record(
    {
      user_id: fc.oneof(
        fc.integer(),
        hugeNumber,
        text.map((s) => JSON.stringify(s)),
      ),
      priority: fc.oneof(fc.integer({ min: -1001, max: 1001 }), hugeNumber),
      event_type_id: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -2, max: 20_000 }), hugeNumber),
      event_data: fc.json({ maxDepth: 3 }),
    },
    { requiredKeys: [] },
  )
  .map(
    (e) =>
      `{${Object.entries(e)
        .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
        .join(',')}}`,
  );

const nested = fc.integer({ min: 1, max: 200_000 }).map((n) => `{"payload":${'['.repeat(n)}${']'.repeat(n)}}`);
const duplicateKeys = fc.constantFrom(
  '{"payload":1,"payload":2}',
  '{"seq":1,"seq":2,"payload":1}',
  '[{"payload":{"a":1,"\\u0061":2}}]',
  '{"user_id":1,"user_id":2,"priority":0,"event_data":{},"event_type_id":1}',
);

const body = fc.oneof(
  { weight: 3, arbitrary: goodMessage },
  {
    weight: 3,
    arbitrary: fc.array(fc.oneof(goodMessage, messageText), { minLength: 1, maxLength: 8 }).map((items) => `[${items.join(',')}]`),
  },
  { weight: 3, arbitrary: messageText },
  { weight: 2, arbitrary: eventText },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: nested },
  { weight: 1, arbitrary: duplicateKeys },
  { weight: 1, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '[]', '{}', 'null', '[[]]', '{"payload":1e400}', '{"payload":"\ud800"}', '\ud800') },
);

/** Percent-encodes every byte of the UTF-8 text (a lone surrogate is sent as U+FFFD). */
const pct = (s: string): string => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '?partition=0',
    '?partition=1',
    '?partition=2',
    '?partition=0x0',
    '?partition=%200',
    '?partition=',
    '?partition=%2B1',
    '?partition=1e0',
    '?partition=01',
    '?partition=0&partition=1',
    '?partition=-1',
    '?partition=99999999999999999999999',
    '?api_key=secret-1',
  ),
  text.map((s) => `?${pct(s)}=${pct(s)}`),
  text.map((s) => `?partition=${pct(s)}`),
  fc.string({ maxLength: 20 }).map((s) => `?partition=${s.replace(/[#\s]/g, '')}`),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  '*/*',
  'application/octet-stream',
);

describe('ingest HTTP API under random and hostile requests (property)', function () {
  this.timeout(120_000);
  let server: RedisServer;
  let redis: RedisClient;
  let ingest: TestIngest;
  let paths: string[];
  let pipelines: { strict: string; unordered: string };

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    ingest = await TestIngest.start(server, { maxBatch: 8, maxBodyBytes: 512 * 1024, maxSeqAhead: 50 });
    const strict = await newPipeline(redis, 'strict', 'prop', 2);
    const unordered = await newPipeline(redis, 'none', 'prop', 1);
    pipelines = { strict, unordered };
    paths = [
      `/v1/pipelines/${strict}/messages`,
      `/v1/pipelines/${unordered}/messages`,
      '/api/event/v1',
      '/v1/pipelines/no-such-pipeline/messages',
    ];
  });
  after(async () => {
    await ingest.close();
    redis.disconnect();
    await server.destroy();
  });

  /** Envelopes waiting in every partition of every registered pipeline. */
  async function waiting(): Promise<number> {
    const registry = await redis.hgetall('inorder:pipelines');
    const multi = redis.multi();
    for (const [name, raw] of Object.entries(registry)) {
      const partitions = (JSON.parse(raw) as { partitions: number }).partitions;
      for (let p = 0; p < partitions; p++) multi.llen(keysFor(name, p).input).zcard(keysFor(name, p).queue);
    }
    const replies = (await multi.exec()) ?? [];
    return replies.reduce((sum, [error, n]) => {
      if (error) throw error;
      return sum + (n as number);
    }, 0);
  }

  it('never answers 500, and enqueues exactly the messages a success reports as new (nothing for an error)', async () => {
    const wellFormed = fc.record({
      path: fc.constantFrom(0, 1, 2),
      query: fc.constantFrom('', '?partition=0', '?partition=1'),
      contentType: fc.constant('application/json'),
      body: fc.oneof(
        fc
          .array(fc.record({ payload: fc.jsonValue({ maxDepth: 2 }), id: fc.constantFrom('x', 'y', 'z') }, { requiredKeys: ['payload'] }), {
            minLength: 1,
            maxLength: 4,
          })
          .map((items) => JSON.stringify(items)),
        fc
          .record({
            user_id: fc.integer(),
            priority: fc.integer({ min: -5, max: 5 }),
            event_type_id: fc.integer({ min: 0, max: 3 }),
            event_data: fc.jsonValue({ maxDepth: 2 }),
          })
          .map((e) => JSON.stringify(e)),
      ),
    });
    const request = fc.oneof(fc.record({ path: fc.integer({ min: 0, max: 3 }), query, contentType, body }), wellFormed);
    let succeeded = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = await waiting();
        const reply = await ingest.request('POST', `${paths[r.path]!}${r.query}`, r.body, { 'content-type': r.contentType });
        expect(reply.status, `${reply.status} ${reply.text.slice(0, 300)}`).to.be.below(500);
        let added = 0;
        if (reply.status === 202) added = (reply.json.duplicates as boolean[]).filter((d) => !d).length;
        if (reply.status === 200) added = 1;
        if (added > 0) succeeded++;
        expect((await waiting()) - before, `${reply.status} ${reply.text.slice(0, 300)}`).to.equal(added);
        expect(reply.text.length, 'a small answer').to.be.below(20_000);
      }),
      { numRuns: 1000 },
    );
    expect(succeeded, 'some requests succeed').to.be.above(10);
  });

  it('never answers 500 to a read or a redrive, and a read changes nothing', async () => {
    const { strict, unordered } = pipelines;
    // Lists to read: results, dead letters with and without an envelope, and text that is not JSON.
    const events = await ingest.post('/api/event/v1', { user_id: 1, priority: 0, event_data: {}, event_type_id: 1 });
    expect(events.status).to.equal(200);
    for (const [pipeline, partition] of [
      [strict, 0],
      [strict, 1],
      [unordered, 0],
      ['events-1', 0],
    ] as const) {
      const k = keysFor(pipeline, partition);
      await redis.rpush(k.output, ...Array.from({ length: 30 }, (_, i) => JSON.stringify({ seq: i + 1, result: i })), 'not json');
      await redis.rpush(
        k.dead,
        ...Array.from({ length: 12 }, (_, i) =>
          JSON.stringify(
            i % 3 === 0
              ? { seq: i + 1, reason: 'malformed', raw: '{', deadAt: 1 }
              : { seq: i + 1, reason: 'max-retries', attempts: 2, deadAt: 1, envelope: makeEnvelope({ seq: i + 1, payload: i }) },
          ),
        ),
        '{"unreadable',
      );
    }
    const lists = [
      [strict, 0],
      [strict, 1],
      [unordered, 0],
      ['events-1', 0],
    ].flatMap(([p, n]) => [keysFor(p as string, n as number).output, keysFor(p as string, n as number).dead]);
    const lengths = async (): Promise<number[]> => Promise.all(lists.map((key) => redis.llen(key)));

    const pipelinePart = fc.oneof(
      fc.constantFrom(strict, unordered, 'events-1', 'no-such-pipeline', encodeURIComponent('a{b}'), '%00', 'x'.repeat(101)),
      text.map(pct),
    );
    const typePart = fc.oneof(fc.constantFrom('1', '0', '9999', '10000', '01', '-1', 'abc', '1e0', '0x1', '%20'), text.map(pct));
    const value = fc.oneof(
      fc.integer({ min: 0, max: 40 }).map(String),
      // constantFrom favours its first values: the hostile ones go first.
      fc.constantFrom('99999999999999999999', '9007199254740991', '1001', '-1', '01', '1e2', '0x10', '1.5', '%2B1', '', '0', '1', '1000'),
      text.map(pct),
    );
    const param = fc.tuple(fc.constantFrom('partition', 'from', 'limit', 'from', 'limit', 'newSeq'), value).map(([k, v]) => `${k}=${v}`);
    const query = fc.array(param, { maxLength: 4 }).map((ps) => (ps.length ? `?${ps.join('&')}` : ''));
    const seq = fc.oneof(fc.integer({ min: 1, max: 14 }).map(String), value);
    const redriveBody = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('', '{}', 'null', '[]', '{"newSeq":1.5}', '{"newSeq":-1}', '{"newSeq":1,"newSeq":2}', '{'),
      fc.integer({ min: 1, max: 100 }).map((n) => JSON.stringify({ newSeq: n })),
      fc.json({ maxDepth: 2 }),
      nested.map((b) => b.slice(0, 5000)),
    );
    // Reads of lists that exist, with every edge value of from and limit.
    const wellFormedRead = fc.record({
      kind: fc.constant('read' as const),
      path: fc
        .tuple(
          fc.constantFrom(`/v1/pipelines/${strict}`, `/v1/pipelines/${unordered}`, '/api/event/v1/1'),
          fc.constantFrom('output', 'dead'),
        )
        .map(([base, l]) => `${base}/${l}`),
      query: fc.tuple(value, value).map(([from, limit]) => `?from=${from}&limit=${limit}`),
    });
    const request = fc.oneof(
      wellFormedRead,
      fc.record({
        kind: fc.constant('read' as const),
        path: fc.tuple(pipelinePart, fc.constantFrom('output', 'dead')).map(([p, l]) => `/v1/pipelines/${p}/${l}`),
        query,
      }),
      fc.record({
        kind: fc.constant('read' as const),
        path: fc.tuple(typePart, fc.constantFrom('output', 'dead')).map(([t, l]) => `/api/event/v1/${t}/${l}`),
        query,
      }),
      fc.record({
        kind: fc.constant('redrive' as const),
        path: fc.oneof(
          fc.tuple(pipelinePart, seq).map(([p, n]) => `/v1/pipelines/${p}/dead/${n}/redrive`),
          fc.tuple(typePart, seq).map(([t, n]) => `/api/event/v1/${t}/dead/${n}/redrive`),
        ),
        query,
        body: redriveBody,
        contentType,
      }),
      fc.record({
        kind: fc.constant('redrive' as const),
        path: fc
          .tuple(
            fc.constantFrom(`/v1/pipelines/${strict}`, `/v1/pipelines/${unordered}`, '/api/event/v1/1'),
            fc.integer({ min: 1, max: 12 }),
          )
          .map(([base, n]) => `${base}/dead/${n}/redrive`),
        query: fc.constant(''),
        body: fc.oneof(
          fc.constant(undefined),
          fc.constant('{}'),
          fc.integer({ min: 100, max: 10_000 }).map((n) => JSON.stringify({ newSeq: n })),
        ),
        contentType: fc.constant('application/json'),
      }),
    );
    let pages = 0;
    let redriven = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = await lengths();
        const reply =
          r.kind === 'read'
            ? await ingest.get(`${r.path}${r.query}`)
            : await ingest.request('POST', `${r.path}${r.query}`, r.body, r.body === undefined ? {} : { 'content-type': r.contentType });
        const what = `${r.kind} ${r.path}${r.query} -> ${reply.status} ${reply.text.slice(0, 300)}`;
        expect(reply.status, what).to.be.below(500);
        if (r.kind === 'redrive') {
          if (reply.status === 200) redriven++;
          return;
        }
        expect(await lengths(), what).to.deep.equal(before);
        if (reply.status !== 200) return;
        pages++;
        const { entries, next, length } = reply.json as { entries: unknown[]; next: number | null; length: number };
        const from = Number(/[?&]from=(\d+)/.exec(r.query)?.[1] ?? 0);
        expect(entries.length, what).to.be.at.most(1000);
        expect(next, what).to.equal(entries.length > 0 && from + entries.length < length ? from + entries.length : null);
      }),
      { numRuns: 500 },
    );
    expect(pages, 'some reads succeed').to.be.above(10);
    expect(redriven, 'some redrives succeed').to.be.above(0);
  });
});
