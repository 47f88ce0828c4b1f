import { expect } from 'chai';
import { ConfigError, loadProcessorConfig, loadSequencerConfig } from '@inorder/shared';

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
        partition: 0,
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
        claimLeaseMs: 10_000,
        claimRenewMs: 3333,
        handlerTimeoutMs: 60_000,
        maxRetries: 3,
        maxAgeMs: -1,
        backoffBaseMs: 200,
        backoffMaxMs: 30_000,
        window: 10_000,
        shutdownGraceMs: 10_000,
      });
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
      });
    });

    it('derives the renewal periods from the lease when they are not set', () => {
      expect(loadProcessorConfig({ CLAIM_LEASE_MS: '3000' }).claimRenewMs).to.equal(1000);
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
        partition: 3,
        ordering: 'none',
        healthPort: 9100,
        failRate: 0.25,
        maxRetries: -1,
        window: 0,
      });
    });

    it('counts an empty string as unset', () => {
      const config = loadProcessorConfig({ CONCURRENCY: '', REDIS_URL: '', ORDERING: '', CLAIM_RENEW_MS: '' });
      expect(config).to.include({ concurrency: 64, redisUrl: 'redis://127.0.0.1:6379', ordering: 'strict', claimRenewMs: 3333 });
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
      expect(variables(problems(loadSequencerConfig, { LEADER_LEASE_MS: '1000', LEADER_RENEW_MS: '901' }))).to.deep.equal(['LEADER_RENEW_MS']);
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
