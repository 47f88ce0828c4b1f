import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '@inorder/shared';
import { Upkeep } from '../src/processor/upkeep.js';
import type { PartitionWork } from '../src/processor/claim-batch.js';
import { waitFor } from '@inorder/testkit';

/** A partition a processor serves, holding no claim now, whose heartbeats are recorded. */
function work(lastClaimedAt: number): { work: PartitionWork; beats: string[][] } {
  const beats: string[][] = [];
  const partition = {
    heartbeat: async (_owner: string, _leaseMs: number, tokens: readonly string[]) => {
      beats.push([...tokens]);
      return { alive: true, gone: [], returned: 0, now: Date.now() };
    },
  };
  const fake = {
    partition,
    claims: new Map(),
    lastBeatAt: performance.now(),
    lastClaimedAt,
    batches: () => [],
    tell: { reaped: () => {} },
    logger: silentLogger(),
  };
  return { work: fake as unknown as PartitionWork, beats };
}

describe('processor upkeep (heartbeats)', () => {
  it('beats where it claimed within the last lease though it holds no claim now, so a claim of its own that a rollback brought back is given back', async () => {
    const upkeep = new Upkeep('p0', { claimLeaseMs: 1000, claimRenewMs: 20 }, silentLogger(), () => {});
    const recent = work(performance.now());
    const long = work(performance.now() - 5000);
    upkeep.start(() => [recent.work, long.work]);
    try {
      await waitFor(() => recent.beats.length >= 2, { timeoutMs: 2000, message: 'no heartbeat where it claimed a moment ago' });
    } finally {
      await upkeep.stop();
    }
    // With no token held, heartbeat.lua gives back every claim of this owner it finds.
    expect(recent.beats[0]).to.deep.equal([]);
    // Where it has not claimed for a lease, its liveness lapses instead and any processor reaps what it left.
    expect(long.beats).to.deep.equal([]);
  });
});
