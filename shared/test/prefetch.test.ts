import { expect } from 'chai';
import sinon from 'sinon';
import { setTimeout as sleep } from 'node:timers/promises';
import { Partition, type ClaimRequest, type Handler } from '@inorder/shared';
import { usePipelines } from '@inorder/testkit';
import { expectSettledInOrder } from './support/order.js';

/** A handler that counts how many of its calls run at once. */
function counting(work: () => Promise<void>): { handler: Handler; most: () => number } {
  let running = 0;
  let most = 0;
  const handler: Handler = async (payload) => {
    running++;
    most = Math.max(most, running);
    try {
      await work();
      return payload;
    } finally {
      running--;
    }
  };
  return { handler, most: () => most };
}

describe('processor: claims sized by what is waiting (prefetch)', function () {
  this.timeout(60_000);
  const fixture = usePipelines();
  let claims: sinon.SinonSpy<[ClaimRequest], unknown>;

  beforeEach(() => {
    claims = sinon.spy(Partition.prototype, 'claim');
  });
  afterEach(() => sinon.restore());

  const claimSizes = (): number[] => claims.getCalls().map((c) => c.args[0].count);

  it('cheap handlers: claims carry up to BATCH_SIZE, beyond the free slots, while CONCURRENCY bounds the handlers', async () => {
    const pipeline = fixture.pipeline();
    const { handler, most } = counting(() => Promise.resolve());
    await pipeline.processor(handler, { concurrency: 4, batchSize: 64 });
    await pipeline.sequencer();
    await pipeline.enqueue(4000);
    await expectSettledInOrder(pipeline, 4000);
    expect(most(), 'handlers at once').to.be.at.most(4);
    // Free slots (4) plus a prefetch capped at CONCURRENCY would stop at 8 per claim.
    expect(Math.max(...claimSizes()), 'largest claim')
      .to.be.above(8)
      .and.at.most(64);
  });

  it('handlers of 10 ms or more: no claim takes more than the free slots', async () => {
    const pipeline = fixture.pipeline();
    const { handler, most } = counting(() => sleep(15));
    await pipeline.processor(handler, { concurrency: 4, batchSize: 64 });
    await pipeline.sequencer();
    await pipeline.enqueue(200);
    await expectSettledInOrder(pipeline, 200);
    expect(most(), 'handlers at once').to.be.at.most(4);
    expect(Math.max(...claimSizes()), 'largest claim').to.be.at.most(4);
  });
});
