import { expect } from 'chai';
import { ConfigError, SUBMIT_MAX_BATCH } from '@inorder/shared';
import { loadIngestConfig } from '../src/config.js';

describe('ingest settings (environment)', function () {
  it('listens on 8080 against the local Redis, takes batches of 1000 and needs no API key by default', () => {
    expect(loadIngestConfig({})).to.include({
      redisUrl: 'redis://127.0.0.1:6379',
      port: 8080,
      host: '0.0.0.0',
      maxBatch: 1000,
      maxBodyBytes: 4 * 1024 * 1024,
      dedupTtlMs: 24 * 60 * 60 * 1000,
      keyPrefix: 'inorder',
    });
    expect(loadIngestConfig({}).apiKeys).to.deep.equal([]);
    expect(loadIngestConfig({}).pipelines).to.deep.equal([]);
  });

  it('reads PORT, REDIS_URL, API_KEYS, MAX_BATCH, MAX_BODY_BYTES, DEDUP_TTL_MS and PIPELINES', () => {
    const config = loadIngestConfig({
      PORT: '9090',
      REDIS_URL: 'redis://:secret@redis.internal:6380/2',
      API_KEYS: ' key-one-12345 , key-two-12345 ',
      MAX_BATCH: '50',
      MAX_BODY_BYTES: '65536',
      DEDUP_TTL_MS: '60000',
      PIPELINES: 'orders:strict, clicks:none:4',
    });
    expect(config).to.include({
      port: 9090,
      redisUrl: 'redis://:secret@redis.internal:6380/2',
      maxBatch: 50,
      maxBodyBytes: 65536,
      dedupTtlMs: 60000,
    });
    expect(config.apiKeys).to.deep.equal(['key-one-12345', 'key-two-12345']);
    expect(config.pipelines).to.deep.equal([
      { name: 'orders', ordering: 'strict' },
      { name: 'clicks', ordering: 'none', partitions: 4 },
    ]);
  });

  it('treats an empty variable as unset', () => {
    expect(loadIngestConfig({ PORT: '', API_KEYS: '' }))
      .to.include({ port: 8080 })
      .and.to.have.deep.property('apiKeys', []);
  });

  it('refuses bad settings with one ConfigError naming every bad variable', () => {
    let error: unknown;
    try {
      loadIngestConfig({
        REDIS_URL: 'http://x',
        PORT: '70000',
        MAX_BATCH: String(SUBMIT_MAX_BATCH + 1),
        MAX_BODY_BYTES: '10',
        PIPELINES: 'orders:sorted',
        API_KEYS: 'short',
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const variables = (error as ConfigError).problems.map((p) => p.variable);
    expect(variables).to.have.members(['REDIS_URL', 'PORT', 'MAX_BATCH', 'MAX_BODY_BYTES', 'PIPELINES', 'API_KEYS']);
    expect((error as ConfigError).message).to.contain('REDIS_URL: must start with redis://, rediss://');
  });

  it('has bounds for hostile input and slow clients by default', () => {
    expect(loadIngestConfig({})).to.include({
      maxSeqAhead: 10_000_000,
      maxDepth: 32,
      eventTypeIdMax: 9999,
      maxPipelines: 1000,
      requestTimeoutMs: 10_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 72_000,
    });
    expect(
      loadIngestConfig({
        MAX_SEQ_AHEAD: '0',
        MAX_DEPTH: '8',
        EVENT_TYPE_ID_MAX: '99',
        MAX_PIPELINES: '5',
        REQUEST_TIMEOUT_MS: '3000',
        HEADERS_TIMEOUT_MS: '2000',
        KEEP_ALIVE_TIMEOUT_MS: '1000',
      }),
    ).to.include({
      maxSeqAhead: 0,
      maxDepth: 8,
      eventTypeIdMax: 99,
      maxPipelines: 5,
      requestTimeoutMs: 3000,
      headersTimeoutMs: 2000,
      keepAliveTimeoutMs: 1000,
    });
  });

  it("refuses a duration past 2^31-1 ms, which Node's timers would fire after 1 ms", () => {
    const durations = [
      'REDIS_TIMEOUT_MS',
      'REGISTRY_CACHE_MS',
      'STARTUP_TIMEOUT_MS',
      'SHUTDOWN_GRACE_MS',
      'DEDUP_TTL_MS',
      'REQUEST_TIMEOUT_MS',
      'HEADERS_TIMEOUT_MS',
      'KEEP_ALIVE_TIMEOUT_MS',
    ];
    for (const variable of durations)
      expect(loadIngestConfig({ [variable]: String(2 ** 31 - 1), REQUEST_TIMEOUT_MS: String(2 ** 31 - 1) })).to.be.an('object');
    let error: unknown;
    try {
      loadIngestConfig(Object.fromEntries(durations.map((v) => [v, String(2 ** 31)])));
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable)).to.have.members(durations);
    expect((error as ConfigError).message).to.contain('at most 2147483647');
  });

  it('refuses API_KEYS that name no key, instead of running without authentication', () => {
    for (const value of [',,,', ' ', ' , ']) {
      let error: unknown;
      try {
        loadIngestConfig({ API_KEYS: value });
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(value)).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable)).to.deep.equal(['API_KEYS']);
    }
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(() => loadIngestConfig({ REQUEST_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '3000' })).to.throw(ConfigError, /HEADERS_TIMEOUT_MS/);
  });

  it('takes REPLICA_ACKS (off by default) with a timeout at most half of REDIS_TIMEOUT_MS, so a submit still answers in time', () => {
    expect(loadIngestConfig({})).to.include({ replicaAcks: 0, replicaAcksTimeoutMs: 500 });
    expect(loadIngestConfig({ REPLICA_ACKS: '1', REPLICA_ACKS_TIMEOUT_MS: '1000' })).to.include({
      replicaAcks: 1,
      replicaAcksTimeoutMs: 1000,
    });
    expect(() => loadIngestConfig({ REPLICA_ACKS: '1', REPLICA_ACKS_TIMEOUT_MS: '1001' })).to.throw(
      ConfigError,
      /REPLICA_ACKS_TIMEOUT_MS: .*REDIS_TIMEOUT_MS/,
    );
  });
});
