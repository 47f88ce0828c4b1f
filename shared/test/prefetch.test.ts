import { expect } from 'chai';
import sinon from 'sinon';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Partition, type ClaimRequest, type Handler } from '@inorder/shared';
import { usePipelines, waitFor } from '@inorder/testkit';
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

describe('processor: a prefetched claim Redis may have given away is never started', function () {
  this.timeout(60_000);
  const fixture = usePipelines();
  afterEach(() => sinon.restore());

  it('after a silence of a lease (the clock jumps 5 s: a pause), the next handler call starts from a new claim, not the prefetch', async () => {
    const events: Array<'claim' | 'start'> = [];
    const stub = sinon.stub(Partition.prototype, 'claim').callsFake(function (this: Partition, request: ClaimRequest) {
      events.push('claim');
      return stub.wrappedMethod.call(this, request);
    });
    const handler: Handler = async (payload) => {
      events.push('start');
      await sleep(5);
      return payload;
    };
    const pipeline = fixture.pipeline();
    const processor = await pipeline.processor(handler, {
      concurrency: 1,
      batchSize: 64,
      prefetch: 20,
      claimLeaseMs: 1000,
      claimRenewMs: 250,
    });
    await pipeline.sequencer();
    await pipeline.enqueue(200);
    await waitFor(() => events.filter((e) => e === 'start').length >= 5 && processor.stats.claimed >= 10, { timeoutMs: 10_000 });

    const real = performance.now.bind(performance);
    sinon.stub(performance, 'now').callsFake(() => real() + 5000);
    const from = events.length;
    await waitFor(() => events.slice(from).includes('start'), { timeoutMs: 10_000, message: 'no handler started after the jump' });
    const after = events.slice(from);
    expect(after.indexOf('claim'), 'a claim sent after the jump').to.be.at.least(0);
    expect(after.indexOf('claim'), 'the first start after the jump follows a new claim').to.be.below(after.indexOf('start'));
    await expectSettledInOrder(pipeline, 200);
  });
});
