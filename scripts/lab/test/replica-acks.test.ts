import { expect } from 'chai';
import { runScript } from '@inorder/testkit';

describe('npm run replica-acks', function () {
  it('runs the pipeline and the submits with REPLICA_ACKS=0 and =1 on a primary and its replica, and prints the figures as JSON', async function () {
    this.timeout(90_000);
    const run = await runScript('replica-acks', [
      '--count',
      '300',
      '--concurrency',
      '10',
      '--rounds',
      '1',
      '--submits',
      '5',
      '--batch',
      '20',
      '--json',
    ]);
    expect(run.code, run.stderr).to.equal(0);
    const r = run.json as { ok: boolean; pipeline: Array<Record<string, number | boolean>>; submits: Array<Record<string, number>> };
    expect(r.ok).to.equal(true);
    expect(r.pipeline.map((p) => p.replicaAcks)).to.deep.equal([0, 1]);
    for (const p of r.pipeline) {
      expect(p.complete, `REPLICA_ACKS=${p.replicaAcks}`).to.equal(true);
      expect(p.throughput).to.be.a('number').above(0);
    }
    // Only the run with REPLICA_ACKS=1 sends WAITs: at least one per emit, settle and submit call.
    expect(r.pipeline[0]!.waitsPerMessage).to.equal(0);
    expect(r.pipeline[1]!.waitsPerMessage).to.be.above(0);
    expect(r.submits.map((s) => [s.replicaAcks, s.messages])).to.deep.equal([
      [0, 100],
      [1, 100],
    ]);
  });
});
