import { expect } from 'chai';
import { enqueue, getPipeline, keysFor, registerPipeline } from '@inorder/shared';
import { range, runScript, uniquePipeline, useRedis } from '@inorder/testkit';

describe('npm run partitions', function () {
  this.timeout(60_000);
  const fixture = useRedis();

  const run = (pipeline: string, ...args: string[]): ReturnType<typeof runScript> =>
    runScript('partitions', ['--pipeline', pipeline, '--redis-url', fixture.server.url, ...args]);

  /** A new pipeline, registered with these settings. */
  const registered = async (settings: Parameters<typeof registerPipeline>[2]): Promise<string> => {
    const pipeline = uniquePipeline('cli');
    await registerPipeline(fixture.redis, pipeline, settings);
    return pipeline;
  };

  it('shows the count and what each partition holds, then grows a drained pipeline and says so', async () => {
    const pipeline = await registered({ ordering: 'strict', partitions: 2 });
    await enqueue(
      fixture.redis,
      { pipeline, partition: 1 },
      range(1, 3).map((seq) => ({ seq, payload: seq })),
    );
    const shown = await run(pipeline);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.contain(`${pipeline} (strict): 2 partition(s)`);
    expect(shown.stdout).to.contain('partition 0: drained');
    expect(shown.stdout).to.contain('partition 1: 3 waiting');

    await fixture.redis.del(keysFor(pipeline, 1).input);
    await fixture.redis.hset(keysFor(pipeline, 1).meta, 'accepted', '0');
    const grown = await run(pipeline, '--to', '6', '--json');
    expect(grown.code, grown.stderr).to.equal(0);
    expect(JSON.parse(grown.stdout.trim().split('\n').pop()!)).to.include({ outcome: 'resized', from: 2, to: 6 });
    expect((await getPipeline(fixture.redis, pipeline))?.partitions).to.equal(6);
  });

  it('exits 1 naming what is left when the partitions do not drain in time, leaving the count as it was', async () => {
    const pipeline = await registered({ ordering: 'none', partitions: 1 });
    await enqueue(fixture.redis, { pipeline }, [{ payload: 1 }, { payload: 2 }]);
    const stuck = await run(pipeline, '--to', '2', '--drain-timeout-ms', '300');
    expect(stuck.code).to.equal(1);
    expect(stuck.stderr).to.contain('did not drain within');
    expect(stuck.stderr).to.contain('partition 0: 2 waiting');
    expect((await getPipeline(fixture.redis, pipeline))?.partitions).to.equal(1);
    expect(await fixture.redis.hget(keysFor(pipeline, 0).meta, 'resizing')).to.equal(null);
  });

  it('calls off a change left unfinished with --cancel, and refuses --to with --cancel or a count of 0', async () => {
    const pipeline = await registered({ ordering: 'strict', partitions: 1 });
    await fixture.redis.hset(keysFor(pipeline, 0).meta, 'resizing', '3');
    const cancelled = await run(pipeline, '--cancel');
    expect(cancelled.code, cancelled.stderr).to.equal(0);
    expect(cancelled.stdout).to.contain('1 partition(s) were being resized; the change is called off');
    expect(await fixture.redis.hget(keysFor(pipeline, 0).meta, 'resizing')).to.equal(null);
    expect((await run(pipeline, '--to', '2', '--cancel')).code).to.equal(2);
    expect((await run(pipeline, '--to', '0')).code).to.equal(2);
    const missing = await run('no-such-pipeline', '--to', '2');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('pipeline no-such-pipeline is not registered');
  });
});
