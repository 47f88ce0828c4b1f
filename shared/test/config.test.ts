import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  ConfigError,
  connectionSettings,
  loadProcessorConfig,
  loadSequencerConfig,
  loadSettings,
  redisConnectOptions,
  resolveSecretFiles,
  tlsOptionsFrom,
  tlsRule,
} from '@inorder/shared';

type Env = Record<string, string | undefined>;

/** The ConfigError a load throws (fails the test when it does not throw one). */
function problems(load: (env: Env) => unknown, env: Env): ConfigError {
  try {
    load(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  expect.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

/** The variables an error names (once each: one variable may break several rules). */
const variables = (error: ConfigError): string[] => [...new Set(error.problems.map((p) => p.variable))].sort();

describe('config', () => {
  describe('defaults', () => {
    it('gives every processor setting a default when the environment is empty', () => {
      expect(loadProcessorConfig({})).to.include({
        redisUrl: 'redis://127.0.0.1:6379',
        pipeline: 'default',
        keyPrefix: 'inorder',
        seqStart: 1,
        ordering: 'strict',
        healthPort: undefined,
        logLevel: 'info',
        concurrency: 64,
        batchSize: 256,
        handler: undefined,
        workMs: 500,
        failRate: 0,
        claimLeaseMs: 1000,
        claimRenewMs: 250,
        handlerTimeoutMs: 60_000,
        maxRetries: 3,
        maxAgeMs: -1,
        backoffBaseMs: 200,
        backoffMaxMs: 30_000,
        window: 10_000,
        shutdownGraceMs: 10_000,
        replicaAcks: 0,
        replicaAcksTimeoutMs: 500,
      });
      expect(loadProcessorConfig({}).partitions).to.equal('all');
    });

    it('gives every sequencer setting a default when the environment is empty', () => {
      expect(loadSequencerConfig({})).to.include({
        pipeline: 'default',
        leaderLeaseMs: 1000,
        leaderRenewMs: 333,
        leaderRetryMs: 100,
        emitBatch: 1000,
        gapTimeoutMs: 30_000,
        readBlockMs: 250,
        replicaAcks: 0,
        replicaAcksTimeoutMs: 500,
      });
    });

    it('derives the renewal periods from the lease when they are not set', () => {
      expect(loadProcessorConfig({ CLAIM_LEASE_MS: '3000' }).claimRenewMs).to.equal(750);
      expect(loadSequencerConfig({ LEADER_LEASE_MS: '600' }).leaderRenewMs).to.equal(200);
    });

    it('reads numbers, enums and URLs from their strings', () => {
      const config = loadProcessorConfig({
        REDIS_URL: 'rediss://user:pw@cache.example:6380/2',
        PIPELINE: 'orders-7',
        PARTITION: '3',
        ORDERING: 'none',
        HEALTH_PORT: '9100',
        FAIL_RATE: '0.25',
        MAX_RETRIES: '-1',
        WINDOW: '0',
      });
      expect(config).to.include({
        redisUrl: 'rediss://user:pw@cache.example:6380/2',
        pipeline: 'orders-7',
        ordering: 'none',
        healthPort: 9100,
        failRate: 0.25,
        maxRetries: -1,
        window: 0,
      });
      expect(config.partitions).to.deep.equal([3]);
    });

    it('reads PARTITIONS as all, a list or ranges, and refuses a bad one or both PARTITION and PARTITIONS', () => {
      expect(loadSequencerConfig({ PARTITIONS: '0-3,8, 10' }).partitions).to.deep.equal([0, 1, 2, 3, 8, 10]);
      expect(loadSequencerConfig({ PARTITIONS: 'all' }).partitions).to.equal('all');
      for (const env of [{ PARTITIONS: '3-1' }, { PARTITIONS: 'x' }, { PARTITIONS: '0-99999' }, { PARTITION: '1', PARTITIONS: '2' }]) {
        const error = problems(loadProcessorConfig, env);
        expect(variables(error), JSON.stringify(env)).to.include(env.PARTITION ? 'PARTITION' : 'PARTITIONS');
      }
    });

    it('counts an empty string as unset', () => {
      const config = loadProcessorConfig({ CONCURRENCY: '', REDIS_URL: '', ORDERING: '', CLAIM_RENEW_MS: '' });
      expect(config).to.include({ concurrency: 64, redisUrl: 'redis://127.0.0.1:6379', ordering: 'strict', claimRenewMs: 250 });
      expect(loadSequencerConfig({ GAP_TIMEOUT_MS: '' }).gapTimeoutMs).to.equal(30_000);
    });

    it('ignores variables it does not know', () => {
      expect(loadProcessorConfig({ PATH: '/usr/bin', HOME: '/root', CONCURRENCY: '2' }).concurrency).to.equal(2);
    });
  });

  describe('refusals', () => {
    const bad: Array<[string, string]> = [
      ['CONCURRENCY', 'abc'],
      ['CONCURRENCY', '0'],
      ['CONCURRENCY', '1.5'],
      ['BATCH_SIZE', '1001'],
      ['FAIL_RATE', '1.5'],
      ['MAX_RETRIES', '-2'],
      ['ORDERING', 'random'],
      ['LOG_LEVEL', 'verbose'],
      ['REDIS_URL', 'http://127.0.0.1:6379'],
      ['REDIS_URL', 'redis://[::1'],
      ['PIPELINE', 'orders:eu'],
      ['PIPELINE', 'a{b}'],
      ['KEY_PREFIX', 'x y'],
      ['HEALTH_PORT', '70000'],
      ['CLAIM_LEASE_MS', '100'],
    ];
    for (const [variable, value] of bad) {
      it(`refuses ${variable}=${JSON.stringify(value)} with a ConfigError naming it`, () => {
        const error = problems(loadProcessorConfig, { [variable]: value });
        expect(variables(error)).to.deep.equal([variable]);
        expect(error.message).to.include(variable);
      });
    }

    it('refuses bad sequencer values naming the variable', () => {
      expect(variables(problems(loadSequencerConfig, { LEADER_LEASE_MS: '50' }))).to.deep.equal(['LEADER_LEASE_MS']);
      expect(variables(problems(loadSequencerConfig, { EMIT_BATCH: '0' }))).to.deep.equal(['EMIT_BATCH']);
      expect(variables(problems(loadSequencerConfig, { GAP_TIMEOUT_MS: 'soon' }))).to.deep.equal(['GAP_TIMEOUT_MS']);
    });

    it('refuses a sequencer for an unordered pipeline', () => {
      const error = problems(loadSequencerConfig, { ORDERING: 'none' });
      expect(variables(error)).to.deep.equal(['ORDERING']);
      expect(error.message).to.include('no sequencer');
      expect(loadSequencerConfig({ ORDERING: 'strict' }).ordering).to.equal('strict');
    });

    it('lists every bad variable in one error, one line each', () => {
      const error = problems(loadProcessorConfig, { CONCURRENCY: 'abc', BATCH_SIZE: '0', ORDERING: 'x', REDIS_URL: 'nope' });
      expect(variables(error)).to.deep.equal(['BATCH_SIZE', 'CONCURRENCY', 'ORDERING', 'REDIS_URL']);
      for (const variable of ['BATCH_SIZE', 'CONCURRENCY', 'ORDERING', 'REDIS_URL']) {
        expect(error.message).to.match(new RegExp(`^  ${variable}: .+$`, 'm'));
      }
    });
  });

  describe('cross-field rules', () => {
    it('wants the claim renewal at least 200 ms below the claim lease', () => {
      expect(loadProcessorConfig({ CLAIM_LEASE_MS: '1000', CLAIM_RENEW_MS: '800' }).claimRenewMs).to.equal(800);
      const error = problems(loadProcessorConfig, { CLAIM_LEASE_MS: '1000', CLAIM_RENEW_MS: '801' });
      expect(variables(error)).to.deep.equal(['CLAIM_RENEW_MS']);
      expect(error.message).to.include('CLAIM_LEASE_MS');
    });

    it('wants the backoff cap at least the backoff base', () => {
      expect(loadProcessorConfig({ BACKOFF_BASE_MS: '500', BACKOFF_MAX_MS: '500' }).backoffMaxMs).to.equal(500);
      expect(variables(problems(loadProcessorConfig, { BACKOFF_BASE_MS: '500', BACKOFF_MAX_MS: '499' }))).to.deep.equal(['BACKOFF_MAX_MS']);
    });

    it('wants the leader renewal at least 100 ms below the leader lease', () => {
      expect(loadSequencerConfig({ LEADER_LEASE_MS: '1000', LEADER_RENEW_MS: '900' }).leaderRenewMs).to.equal(900);
      expect(variables(problems(loadSequencerConfig, { LEADER_LEASE_MS: '1000', LEADER_RENEW_MS: '901' }))).to.deep.equal([
        'LEADER_RENEW_MS',
      ]);
    });

    it('wants REPLICA_ACKS_TIMEOUT_MS at most half of the lease while REPLICA_ACKS is on (a WAIT holds up heartbeats and renewals)', () => {
      expect(loadProcessorConfig({ REPLICA_ACKS: '1', REPLICA_ACKS_TIMEOUT_MS: '500' })).to.include({
        replicaAcks: 1,
        replicaAcksTimeoutMs: 500,
      });
      const processor = problems(loadProcessorConfig, { REPLICA_ACKS: '1', REPLICA_ACKS_TIMEOUT_MS: '501' });
      expect(variables(processor)).to.deep.equal(['REPLICA_ACKS_TIMEOUT_MS']);
      expect(processor.message).to.include('CLAIM_LEASE_MS');
      expect(
        loadProcessorConfig({ REPLICA_ACKS: '1', REPLICA_ACKS_TIMEOUT_MS: '2000', CLAIM_LEASE_MS: '4000' }).replicaAcksTimeoutMs,
      ).to.equal(2000);
      const sequencer = problems(loadSequencerConfig, { REPLICA_ACKS: '2', REPLICA_ACKS_TIMEOUT_MS: '600' });
      expect(variables(sequencer)).to.deep.equal(['REPLICA_ACKS_TIMEOUT_MS']);
      expect(sequencer.message).to.include('LEADER_LEASE_MS');
      // Off, the timeout is not used, so it is not checked against the lease.
      expect(loadSequencerConfig({ REPLICA_ACKS: '0', REPLICA_ACKS_TIMEOUT_MS: '5000' }).replicaAcks).to.equal(0);
      // WAIT with a timeout of 0 would block for ever.
      expect(variables(problems(loadProcessorConfig, { REPLICA_ACKS: '1', REPLICA_ACKS_TIMEOUT_MS: '0' }))).to.deep.equal([
        'REPLICA_ACKS_TIMEOUT_MS',
      ]);
      expect(variables(problems(loadProcessorConfig, { REPLICA_ACKS: '-1' }))).to.deep.equal(['REPLICA_ACKS']);
    });

    it('lists a broken cross-field rule together with every other bad variable', () => {
      const error = problems(loadProcessorConfig, {
        CONCURRENCY: 'abc',
        CLAIM_LEASE_MS: '1000',
        CLAIM_RENEW_MS: '900',
        BACKOFF_BASE_MS: '10',
        BACKOFF_MAX_MS: '5',
      });
      expect(variables(error)).to.deep.equal(['BACKOFF_MAX_MS', 'CLAIM_RENEW_MS', 'CONCURRENCY']);
      const sequencer = problems(loadSequencerConfig, { EMIT_BATCH: '0', LEADER_LEASE_MS: '1000', LEADER_RENEW_MS: '950' });
      expect(variables(sequencer)).to.deep.equal(['EMIT_BATCH', 'LEADER_RENEW_MS']);
    });

    it('does not blame a cross-field rule on a variable that is itself invalid', () => {
      expect(variables(problems(loadProcessorConfig, { CLAIM_LEASE_MS: 'long' }))).to.deep.equal(['CLAIM_LEASE_MS']);
      expect(variables(problems(loadProcessorConfig, { BACKOFF_BASE_MS: '0', BACKOFF_MAX_MS: '5' }))).to.deep.equal(['BACKOFF_BASE_MS']);
    });
  });
});

describe('config: durations', () => {
  const TOO_LONG = String(2 ** 31); // one past what Node's timers can wait
  const processorDurations = [
    'WORK_MS',
    'CLAIM_LEASE_MS',
    'CLAIM_RENEW_MS',
    'HANDLER_TIMEOUT_MS',
    'MAX_AGE_MS',
    'BACKOFF_BASE_MS',
    'BACKOFF_MAX_MS',
    'SHUTDOWN_GRACE_MS',
  ];
  const sequencerDurations = ['LEADER_LEASE_MS', 'LEADER_RENEW_MS', 'LEADER_RETRY_MS', 'GAP_TIMEOUT_MS', 'READ_BLOCK_MS'];

  for (const variable of processorDurations) {
    it(`refuses ${variable} above 2^31-1 ms, saying why`, () => {
      const error = problems(loadProcessorConfig, { [variable]: TOO_LONG });
      expect(variables(error)).to.include(variable);
      expect(error.problems.find((p) => p.variable === variable)?.message).to.match(/at most 2147483647 ms.*timers/);
    });
  }
  for (const variable of sequencerDurations) {
    it(`refuses ${variable} above 2^31-1 ms, saying why`, () => {
      const error = problems(loadSequencerConfig, { [variable]: TOO_LONG });
      expect(variables(error)).to.include(variable);
      expect(error.problems.find((p) => p.variable === variable)?.message).to.match(/at most 2147483647 ms.*timers/);
    });
  }

  it('refuses HANDLER_TIMEOUT_MS=3000000000, which would time every attempt out at once', () => {
    expect(variables(problems(loadProcessorConfig, { HANDLER_TIMEOUT_MS: '3000000000' }))).to.deep.equal(['HANDLER_TIMEOUT_MS']);
  });

  it('accepts 2^31-1 ms, the longest a timer can wait', () => {
    const max = String(2 ** 31 - 1);
    expect(
      loadProcessorConfig({ HANDLER_TIMEOUT_MS: max, MAX_AGE_MS: max, SHUTDOWN_GRACE_MS: max, CLAIM_LEASE_MS: max }).handlerTimeoutMs,
    ).to.equal(2 ** 31 - 1);
    expect(loadSequencerConfig({ GAP_TIMEOUT_MS: max }).gapTimeoutMs).to.equal(2 ** 31 - 1);
  });
});

describe('config: secrets from files (VAR_FILE)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'inorder-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, contents: string): string => {
    const path = join(dir, name);
    writeFileSync(path, contents);
    return path;
  };

  it('reads REDIS_URL from REDIS_URL_FILE, trailing newline trimmed, in the processor and the sequencer', () => {
    const path = file('redis-url', 'redis://:s3cret@cache.example:6380/1\n');
    expect(loadProcessorConfig({ REDIS_URL_FILE: path }).redisUrl).to.equal('redis://:s3cret@cache.example:6380/1');
    expect(loadSequencerConfig({ REDIS_URL_FILE: path }).redisUrl).to.equal('redis://:s3cret@cache.example:6380/1');
    expect(loadProcessorConfig({ REDIS_URL_FILE: file('crlf', 'redis://h:1\r\n') }).redisUrl).to.equal('redis://h:1');
  });

  it('refuses both VAR and VAR_FILE set', () => {
    const error = problems(loadProcessorConfig, { REDIS_URL: 'redis://a:1', REDIS_URL_FILE: file('both', 'redis://b:1') });
    expect(variables(error)).to.deep.equal(['REDIS_URL_FILE']);
    expect(error.message).to.match(/REDIS_URL_FILE: .*only one of REDIS_URL and REDIS_URL_FILE/);
  });

  it('refuses an unreadable file, naming the variable and the file', () => {
    const missing = join(dir, 'nope');
    const error = problems(loadSequencerConfig, { REDIS_URL_FILE: missing, EMIT_BATCH: '0' });
    expect(variables(error)).to.deep.equal(['EMIT_BATCH', 'REDIS_URL_FILE']);
    expect(error.message).to.include(missing);
  });

  it('validates what the file holds without echoing it', () => {
    const error = problems(loadProcessorConfig, { REDIS_URL_FILE: file('bad-url', 'http://user:hunter2@host:6379\n') });
    expect(variables(error)).to.deep.equal(['REDIS_URL']);
    expect(error.message).to.include('REDIS_URL_FILE');
    expect(error.message).not.to.include('hunter2');
  });

  it('resolves any listed variable for other loaders (the ingest: REDIS_URL and API_KEYS)', () => {
    const env = resolveSecretFiles({ API_KEYS_FILE: file('keys', 'key-one-1234,key-two-5678\n\n'), PORT: '80' }, ['REDIS_URL', 'API_KEYS']);
    expect(env).to.deep.equal({ API_KEYS: 'key-one-1234,key-two-5678', PORT: '80' });
    expect(() => resolveSecretFiles({ API_KEYS: 'k', API_KEYS_FILE: '/x' }, ['API_KEYS'])).to.throw(ConfigError, /API_KEYS_FILE/);
    expect(resolveSecretFiles({ API_KEYS_FILE: '' }, ['API_KEYS'])).to.deep.equal({});
  });
});

describe('config: secrets never echoed', () => {
  it('does not echo a password from a bad REDIS_URL', () => {
    for (const url of [
      'redis+cluster://:hun@ter2@host:x',
      'redis+cluster://u:pa@ss@a:1/2',
      'redis://:hunter2@[::1',
      'rediss+cluster://:hun@ter2@',
    ]) {
      const error = problems(loadProcessorConfig, { REDIS_URL: url });
      expect(error.message, url).not.to.match(/hun|ter2|pa@ss|ss@a/);
    }
  });

  it('refuses a password with a raw / ? or #, which would be read as a host name, and says how to encode it', () => {
    for (const url of ['redis://:pa/ss@h:6379', 'redis://u:p?ss@h:6379/0', 'rediss://u:p#ss@h:6379']) {
      const error = problems(loadProcessorConfig, { REDIS_URL: url });
      expect(variables(error), url).to.deep.equal(['REDIS_URL']);
      expect(error.message, url).to.include('%2F');
      expect(error.message, url).not.to.match(/pa\/ss|p\?ss|p#ss/);
    }
    expect(loadProcessorConfig({ REDIS_URL: 'redis://u:p%2Fss@h:6379/0' }).redisUrl).to.equal('redis://u:p%2Fss@h:6379/0');
  });
});

describe('config: TLS files', () => {
  let dir: string;
  let ca: string;
  let cert: string;
  let key: string;
  const PEM = (label: string): string => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'inorder-tls-config-'));
    writeFileSync((ca = join(dir, 'ca.pem')), PEM('CERTIFICATE'));
    writeFileSync((cert = join(dir, 'client.pem')), PEM('CERTIFICATE'));
    writeFileSync((key = join(dir, 'client.key')), PEM('PRIVATE KEY'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CA, client certificate and key at start, for rediss:// and rediss+cluster://', () => {
    const config = loadProcessorConfig({
      REDIS_URL: 'rediss://h:6380',
      REDIS_TLS_CA_FILE: ca,
      REDIS_TLS_CERT_FILE: cert,
      REDIS_TLS_KEY_FILE: key,
    });
    expect(config.redisTls).to.deep.equal({ ca: PEM('CERTIFICATE'), cert: PEM('CERTIFICATE'), key: PEM('PRIVATE KEY') });
    expect(loadSequencerConfig({ REDIS_URL: 'rediss+cluster://h:6380', REDIS_TLS_CA_FILE: ca }).redisTls).to.deep.equal({
      ca: PEM('CERTIFICATE'),
    });
    expect(loadProcessorConfig({}).redisTls).to.equal(undefined);
    expect(redisConnectOptions(config)).to.deep.equal({
      tls: { ca: PEM('CERTIFICATE'), cert: PEM('CERTIFICATE'), key: PEM('PRIVATE KEY') },
    });
    expect(redisConnectOptions(loadProcessorConfig({}))).to.deep.equal({});
  });

  it('refuses a client certificate without its key, and a key without its certificate', () => {
    expect(variables(problems(loadProcessorConfig, { REDIS_URL: 'rediss://h:1', REDIS_TLS_CERT_FILE: cert }))).to.deep.equal([
      'REDIS_TLS_KEY_FILE',
    ]);
    expect(variables(problems(loadSequencerConfig, { REDIS_URL: 'rediss://h:1', REDIS_TLS_KEY_FILE: key }))).to.deep.equal([
      'REDIS_TLS_CERT_FILE',
    ]);
  });

  it('refuses a missing, unreadable or non-PEM file, naming the variable and never echoing a key', () => {
    const secretKey = join(dir, 'not-pem.key');
    writeFileSync(secretKey, 'top-secret-key-material');
    const error = problems(loadProcessorConfig, {
      REDIS_URL: 'rediss://h:1',
      REDIS_TLS_CA_FILE: join(dir, 'missing.pem'),
      REDIS_TLS_CERT_FILE: cert,
      REDIS_TLS_KEY_FILE: secretKey,
    });
    expect(variables(error)).to.deep.equal(['REDIS_TLS_CA_FILE', 'REDIS_TLS_KEY_FILE']);
    expect(error.message).to.include(join(dir, 'missing.pem'));
    expect(error.message).not.to.include('top-secret');
  });

  it('refuses TLS files with a REDIS_URL that does not use TLS', () => {
    const error = problems(loadProcessorConfig, { REDIS_URL: 'redis://h:1', REDIS_TLS_CA_FILE: ca });
    expect(variables(error)).to.deep.equal(['REDIS_TLS_CA_FILE']);
    expect(error.message).to.include('rediss://');
  });

  it('gives every service the same TLS settings and rules, from one table', () => {
    const table = { ...connectionSettings };
    const loaded = loadSettings(table, { REDIS_URL: 'rediss://h:1', REDIS_TLS_CA_FILE: ca }, { rules: [tlsRule] });
    expect(tlsOptionsFrom(loaded)).to.deep.equal({ ca: PEM('CERTIFICATE') });
    expect(() => loadSettings(table, { REDIS_URL: 'rediss://h:1', REDIS_TLS_KEY_FILE: key }, { rules: [tlsRule] })).to.throw(
      ConfigError,
      /REDIS_TLS_CERT_FILE/,
    );
  });
});
