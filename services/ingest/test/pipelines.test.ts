import { expect } from 'chai';
import sinon from 'sinon';
import { silentLogger } from '@inorder/shared';
import { useRedis } from '@inorder/testkit';
import { PipelineDirectory } from '../src/pipelines.js';
import { newPipeline } from './support/ingest.js';

describe("PipelineDirectory (the ingest's registry cache)", function () {
  const fixture = useRedis();
  afterEach(() => sinon.restore());

  it('caches at most its capacity of pipelines, dropping the least recently used', async () => {
    const directory = new PipelineDirectory(fixture.redis, 'inorder', 60_000, silentLogger(), Date.now, 2);
    const names = [await newPipeline(fixture.redis), await newPipeline(fixture.redis), await newPipeline(fixture.redis)];
    for (const name of names) expect(await directory.get(name)).to.include({ ordering: 'strict' });
    expect(directory.cachedCount).to.equal(2);
    const reads = sinon.spy(fixture.redis, 'hget');
    await directory.get(names[2]!); // cached
    await directory.get(names[0]!); // dropped: read again
    expect(reads.callCount).to.equal(1);
    expect(directory.cachedCount).to.equal(2);
  });

  it('keeps the cache bounded when every request names a new event type', async () => {
    const directory = new PipelineDirectory(fixture.redis, 'inorder', 60_000, silentLogger(), Date.now, 5);
    for (let i = 0; i < 40; i++) await directory.ensure(`bounded-${i}`, { ordering: 'none' });
    expect(directory.cachedCount).to.equal(5);
  });
});
