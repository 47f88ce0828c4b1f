import { expect } from 'chai';
import { backoffMs } from '@inorder/shared';

describe('backoffMs', () => {
  const low = (): number => 0;
  const high = (): number => 1;

  it('starts at the base for the first retry: between half the base and the base', () => {
    expect(backoffMs(1, 200, 30_000, low)).to.equal(100);
    expect(backoffMs(1, 200, 30_000, high)).to.equal(200);
  });

  it('doubles with every attempt', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, 100, 1_000_000, high))).to.deep.equal([100, 200, 400, 800, 1600]);
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, 100, 1_000_000, low))).to.deep.equal([50, 100, 200, 400, 800]);
  });

  it('never exceeds the cap, at any attempt', () => {
    for (const attempt of [6, 10, 31, 100, 10_000, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffMs(attempt, 100, 3000, high);
      expect(delay, `attempt ${attempt}`).to.equal(3000);
      expect(Number.isFinite(delay)).to.equal(true);
    }
    expect(backoffMs(1000, 100, 3000, low)).to.equal(1500);
  });

  it('treats attempt 0 or below as the first retry', () => {
    expect(backoffMs(0, 200, 30_000, high)).to.equal(200);
    expect(backoffMs(-5, 200, 30_000, high)).to.equal(200);
  });

  it('spreads a burst of failures: equal jitter over the upper half', () => {
    expect(backoffMs(3, 100, 10_000, () => 0.5)).to.equal(300);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const delay = backoffMs(3, 100, 10_000);
      expect(delay).to.be.within(200, 400);
      expect(Number.isInteger(delay)).to.equal(true);
      seen.add(delay);
    }
    expect(seen.size).to.be.greaterThan(20);
  });
});
