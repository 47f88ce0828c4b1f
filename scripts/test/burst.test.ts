import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startLocalRedis, startServices, type LocalRedis, type ServiceGroup, type ServiceHandle } from '../src/lib/stack.js';
import { runScript } from './support/run-script.js';

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('npm run burst', function () {
  this.timeout(60_000);
  let redis: LocalRedis;
  let group: ServiceGroup;
  const pipeline = `b-${randomBytes(3).toString('hex')}`;

  before(async () => {
    redis = await startLocalRedis();
    // Half the attempts fail: after 3 retries about 1 in 16 messages is dead-lettered.
    const env = { WORK_MS: '10', CONCURRENCY: '32', FAIL_RATE: '0.5', MAX_RETRIES: '3', BACKOFF_BASE_MS: '10', BACKOFF_MAX_MS: '50' };
    group = await startServices({ redisUrl: redis.url, pipeline, processors: 1, sequencers: 2, env });
  });
  after(async () => {
    await group?.stop(1000);
    await redis?.stop();
  });

  it('enqueues, waits and verifies against services already running (--redis-url), dead letters included', async () => {
    const args = ['--redis-url', redis.url, '--pipeline', pipeline, '--count', '300', '--work-ms', '10', '--processors', '1', '--concurrency', '32', '--json'];
    const run = await runScript('burst', args);
    expect(run.code, run.stderr).to.equal(0);
    const r = run.json!;
    expect(r).to.include({ ok: true, redis: 'external', sent: 300, missing: 0, duplicates: 0, orderViolations: 0 });
    expect(r.deadLettered).to.be.above(0);
    expect((r.output as number) + (r.deadLettered as number)).to.equal(300);
    // ceil(300 / (1 x 32)) = 10 rounds of 10 ms
    expect(r.idealMs).to.equal(100);
    expect(run.stderr).to.include('seq 1..300');

    const again = await runScript('burst', args);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.include('seq 301..600');
    expect(again.json).to.include({ ok: true, sent: 300, missing: 0, duplicates: 0, unexpected: 300 });
  });

  it('names the leader from the fence, and a standby takes over when it is killed', async () => {
    const leader = await until(() => group.leader(), 5000);
    expect(group.sequencers).to.include(leader);
    leader.kill('SIGKILL');
    await leader.exited;
    const next = await until(async (): Promise<ServiceHandle | undefined> => {
      const l = await group.leader();
      return l && l !== leader ? l : undefined;
    }, 5000);
    expect(next.role).to.equal('sequencer');
    await leader.restart();
    expect(leader.running).to.equal(true);
    expect(leader.instance).to.be.a('string');
  });
});
