import { expect } from 'chai';
import { runScript } from '@inorder/testkit';

describe('npm run cluster-faults', function () {
  it('fails a Redis Cluster over and migrates a slot under load, then verifies every partition, with the figures as JSON', async function () {
    this.timeout(90_000);
    const run = await runScript('cluster-faults', ['--faults', 'failover,slot-migration', '--rounds', '1', '--partitions', '3', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const r = run.json as {
      ok: boolean;
      acknowledged: number;
      outcomes: Array<{ fault: string; recoveredMs: number; skipped: number }>;
      problems: string[];
    };
    expect(r.ok).to.equal(true);
    expect(r.problems).to.deep.equal([]);
    expect(r.outcomes.map((o) => [o.fault, o.skipped])).to.deep.equal([
      ['failover', 0],
      ['slot-migration', 0],
    ]);
    for (const o of r.outcomes) expect(o.recoveredMs, o.fault).to.be.a('number').above(0);
    expect(r.acknowledged).to.be.above(0);
  });

  it('refuses a fault it does not know, naming the ones it does', async function () {
    this.timeout(30_000);
    const run = await runScript('cluster-faults', ['--faults', 'meteor']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/--faults takes primary-kill, lagging-replica-kill, failover, slot-migration, primary-restart; got meteor/);
  });
});
