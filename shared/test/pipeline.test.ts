import { expect } from 'chai';
import { RedisServer } from './support/redis-server.js';
import { TestPipeline, checkOrder, range } from './support/pipeline.js';

describe('pipeline (in process)', function () {
  let server: RedisServer;
  let pipeline: TestPipeline;

  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await server.destroy();
  });
  afterEach(async () => {
    await pipeline.close();
  });

  it('delivers 2,000 messages through 3 processors and 2 sequencers complete and in order', async () => {
    pipeline = new TestPipeline(server);
    for (let i = 0; i < 3; i++) {
      await pipeline.processor(async (_p, { seq }) => {
        await new Promise((r) => setTimeout(r, (seq * 7919) % 13));
        return { seq };
      });
    }
    await pipeline.sequencer();
    await pipeline.sequencer();
    await pipeline.enqueue(2000);
    await pipeline.settled(2000);
    const output = await pipeline.output();
    const check = checkOrder(output.map((e) => e.seq), range(1, 2000));
    expect(check).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
    for (const e of output) {
      expect(e.result).to.deep.equal({ seq: e.seq });
      expect(e.createdAt).to.be.at.most(e.processingAt);
      expect(e.processingAt).to.be.at.most(e.processedAt);
      expect(e.processedAt).to.be.at.most(e.sequencingAt);
      expect(e.sequencingAt).to.be.at.most(e.sequencedAt);
    }
    expect(pipeline.sequencers.filter((s) => s.isLeader)).to.have.length(1);
  });
});
