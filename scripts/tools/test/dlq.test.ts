import { expect } from 'chai';
import { runScript, useSharedPipeline } from '@inorder/testkit';

describe('npm run dlq', function () {
  this.timeout(60_000);
  // seq 2's handler throws, with no retries, and an input entry is no message: two dead letters
  const fixture = useSharedPipeline(async (pipeline) => {
    await pipeline.processor(
      (_p, { seq }) => {
        if (seq === 2) throw new Error('no thanks');
        return { seq };
      },
      { maxRetries: 0 },
    );
    await pipeline.sequencer();
    await pipeline.enqueue(3);
    await pipeline.redis.rpush(pipeline.partition.keys.input, 'garbage');
    await pipeline.settled(4);
  });

  const flags = (): string[] => ['--pipeline', fixture.pipeline.name, '--redis-url', fixture.server.url];

  it('lists the dead letters with reason, attempts and error', async () => {
    const run = await runScript('dlq', ['list', ...flags()]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/2 dead letter\(s\)/);
    expect(run.stdout).to.match(/seq 2\s+max-retries\s+attempts 1\s+.*no thanks/);
    expect(run.stdout).to.match(/no seq\s+malformed.*raw: "garbage"/);
  });

  it('shows one seq as JSON and fails clearly for an unknown one', async () => {
    const run = await runScript('dlq', ['show', '2', ...flags(), '--json']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.json?.deadLetters).to.have.length(1);
    const missing = await runScript('dlq', ['show', '9', ...flags()]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/no dead letter for seq 9/);
  });

  it('refuses a redrive without a new seq when producers number their own, and does it with one', async () => {
    const refused = await runScript('dlq', ['redrive', '2', ...flags()]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/give the new seq explicitly/);
    const done = await runScript('dlq', ['redrive', '2', ...flags(), '--new-seq', '4', '--json']);
    expect(done.code, done.stderr).to.equal(0);
    expect(done.json).to.include({ originalSeq: 2, seq: 4 });
    expect(await fixture.pipeline.redis.llen(fixture.pipeline.partition.keys.dead)).to.equal(1);
  });

  it('purges only with --yes, and rejects unknown commands with the usage', async () => {
    const unsure = await runScript('dlq', ['purge', ...flags()]);
    expect(unsure.code).to.equal(2);
    expect(unsure.stderr).to.match(/add --yes/);
    const purged = await runScript('dlq', ['purge', ...flags(), '--yes', '--json']);
    expect(purged.code, purged.stderr).to.equal(0);
    expect(purged.json).to.include({ removed: 1 });
    const bad = await runScript('dlq', ['explode', ...flags()]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/unknown command/);
  });
});
