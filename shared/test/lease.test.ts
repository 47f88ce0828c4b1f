import { expect } from 'chai';
import type { Redlock } from '@sesamecare-oss/redlock';
import { LeaderLease, silentLogger } from '@inorder/shared';
import { waitFor } from '@inorder/testkit';

/** A stand-in for Redlock's Lock that, as Redlock does, zeroes the extended lock once Redis answered. */
class ZeroingLock {
  constructor(
    public expiration: number,
    private readonly during: () => void,
  ) {}

  async extend(ms: number): Promise<ZeroingLock> {
    await Promise.resolve();
    this.expiration = 0;
    // Between Redlock zeroing the old lock and the new one reaching the lease, a leader may look.
    this.during();
    await Promise.resolve();
    this.during();
    return new ZeroingLock(Date.now() + ms, this.during);
  }

  async release(): Promise<void> {}
}

describe('leader lease', function () {
  this.timeout(20_000);

  it('holds while an extension lands: the old lock zeroed by Redlock is not taken for a lost lease', async () => {
    const seen: boolean[] = [];
    // The lease is made after the lock it asks for: the callback reads it once it exists.
    const made: { lease?: LeaderLease } = {};
    const during = (): void => void seen.push(made.lease!.holds(100));
    const redlock = { acquire: async (_keys: string[], ms: number) => new ZeroingLock(Date.now() + ms, during) } as unknown as Redlock;
    const lease = new LeaderLease(redlock, 'lease-key', { leaseMs: 1000, renewMs: 20 }, silentLogger());
    made.lease = lease;
    expect(await lease.tryAcquire()).to.equal(true);
    await waitFor(() => seen.length >= 10, { timeoutMs: 5000, message: 'the lease was not extended' });
    await lease.release();
    expect(
      seen.filter((held) => !held),
      'checks that found the lease lost during an extension',
    ).to.deep.equal([]);
    expect(lease.signal.aborted).to.equal(true);
  });
});
