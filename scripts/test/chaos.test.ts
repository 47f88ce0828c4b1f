import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFaults, planFaults } from '../src/lib/chaos-plan.js';
import { runScript } from './support/run-script.js';

describe('npm run chaos', function () {
  describe('fault plan', function () {
    it('draws the same plan from the same seed, and another from another seed', function () {
      const kinds = parseFaults('processor-kill:2,leader-kill,leader-pause,client-kill,redis-restart');
      expect(kinds).to.have.length(6);
      expect(planFaults(kinds, 40, 'a')).to.deep.equal(planFaults(kinds, 40, 'a'));
      expect(planFaults(kinds, 40, 'a')).not.to.deep.equal(planFaults(kinds, 40, 'b'));
    });

    it('places every fault within 15% to 75% of the run, in time order', function () {
      const plan = planFaults(parseFaults('processor-kill:10'), 100, 'x');
      for (const p of plan) expect(p.atS).to.be.within(15, 75);
      expect(plan.map((p) => p.atS)).to.deep.equal([...plan.map((p) => p.atS)].sort((a, b) => a - b));
    });

    it('refuses an unknown fault kind', function () {
      expect(() => parseFaults('processor-kill,disk-full')).to.throw(/unknown fault "disk-full"/);
    });
  });

  it('survives a processor SIGKILL and a leader SIGKILL: complete, in order, recovery times reported', async function () {
    this.timeout(90_000);
    const dir = mkdtempSync(join(tmpdir(), 'inorder-chaos-'));
    try {
      const args = [
        '--faults', 'processor-kill,leader-kill', '--seed', 'smoke', '--rate', '80', '--duration', '6', '--work-ms', '20',
        '--processors', '2', '--concurrency', '16', '--claim-lease-ms', '1000', '--report-dir', dir, '--json',
      ];
      const run = await runScript('chaos', args);
      expect(run.code, run.stderr).to.equal(0);
      const r = run.json!;
      expect(r).to.include({ ok: true, seed: 'smoke', sent: 480, output: 480, missing: 0, duplicates: 0, orderViolations: 0 });
      const faults = r.faults as Array<{ kind: string; recoveryMs: number | null }>;
      expect(faults.map((f) => f.kind).sort()).to.deep.equal(['leader-kill', 'processor-kill']);
      for (const f of faults) expect(f.recoveryMs, f.kind).to.be.a('number').above(0);
      // The new leader emits after the dead one's 1 s lease runs out.
      const leader = faults.find((f) => f.kind === 'leader-kill')!;
      expect(leader.recoveryMs).to.be.within(200, 10_000);
      const files = readdirSync(dir);
      const json = files.find((f) => f.endsWith('.json'))!;
      expect(files.some((f) => f.endsWith('.html'))).to.equal(true);
      expect(JSON.parse(readFileSync(join(dir, json), 'utf8')).faults).to.have.length(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
