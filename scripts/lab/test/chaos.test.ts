import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faultWindowS, parseFaults, planFaults } from '../src/lib/chaos-plan.js';
import { runScript, type ScriptRun } from '@inorder/testkit';

interface Fault {
  kind: string;
  at: number;
  recoveryMs: number | null;
  details: Record<string, unknown>;
}

function faultOf(run: ScriptRun, kind: string): Fault {
  const fault = (run.json!.faults as Fault[]).find((f) => f.kind === kind);
  expect(fault, `${kind} in ${JSON.stringify(run.json!.faults)}`).to.be.an('object');
  return fault!;
}

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

    it('spreads faults over a steady load, or over a burst ideal time of at least 5 s', function () {
      expect(faultWindowS({ kind: 'steady', durationMs: 12_000 }, 3, 64, 50)).to.equal(12);
      expect(faultWindowS({ kind: 'burst', count: 400 }, 2, 4, 160)).to.equal(8);
      expect(faultWindowS({ kind: 'burst', count: 10 }, 2, 4, 160)).to.equal(5);
    });

    it('refuses an unknown fault kind', function () {
      expect(() => parseFaults('processor-kill,disk-full')).to.throw(/unknown fault "disk-full"/);
    });
  });

  describe('runs', function () {
    this.timeout(120_000);
    let dir: string;
    let kills: ScriptRun;
    let outages: ScriptRun;

    // Two short runs at once, each with its own redis-server and services:
    //  - a steady load with a processor SIGKILL and a leader SIGKILL; one processor, so the one
    //    killed surely held claims that must be reaped and redone;
    //  - a burst with the leader paused past its lease, CLIENT KILL, a Redis restart (AOF), and a
    //    processor paused past its claim lease.
    before(async function () {
      dir = mkdtempSync(join(tmpdir(), 'inorder-chaos-'));
      const common = ['--seed', 'smoke', '--claim-lease-ms', '1000', '--leader-lease-ms', '1000', '--sequencers', '2', '--json'];
      [kills, outages] = await Promise.all([
        runScript('chaos', [
          '--faults',
          'processor-kill,leader-kill',
          '--rate',
          '80',
          '--duration',
          '6',
          '--work-ms',
          '200',
          '--processors',
          '1',
          '--concurrency',
          '32',
          '--report-dir',
          dir,
          ...common,
        ]),
        runScript('chaos', [
          '--faults',
          'leader-pause,client-kill,redis-restart,processor-pause',
          '--count',
          '400',
          '--work-ms',
          '160',
          '--processors',
          '2',
          '--concurrency',
          '4',
          '--no-report',
          ...common,
        ]),
      ]);
    });
    after(function () {
      rmSync(dir, { recursive: true, force: true });
    });

    it('survives a processor SIGKILL and a leader SIGKILL under a steady load: complete, in order', function () {
      expect(kills.code, kills.stderr).to.equal(0);
      expect(kills.json).to.include({
        ok: true,
        seed: 'smoke',
        sent: 480,
        output: 480,
        missing: 0,
        duplicates: 0,
        orderViolations: 0,
        drained: true,
      });
      expect((kills.json!.faults as Fault[]).map((f) => f.kind).sort()).to.deep.equal(['leader-kill', 'processor-kill']);
    });

    it('reports a recovery for each fault: the killed processor claims redone, a new leader under a new fence', function () {
      for (const f of kills.json!.faults as Fault[]) expect(f.recoveryMs, f.kind).to.be.a('number').above(0);
      const processor = faultOf(kills, 'processor-kill');
      expect(processor.details.seqsHeld, 'the killed processor held claims').to.be.above(0);
      // Its claims go to another only once its lease (1 s, renewed every 250 ms) has run out; the
      // order moves past the seq it held back after that seq was re-claimed and redone.
      const { reclaimedMs, emittedPastStalledMs } = processor.details as { reclaimedMs: number; emittedPastStalledMs: number };
      expect(reclaimedMs, 'no re-claim before the lease ran out').to.be.at.least(700).and.below(5000);
      expect(emittedPastStalledMs).to.be.above(reclaimedMs).and.at.most(processor.recoveryMs!);
      expect(processor.details.reapedSeqs, 'the claims-reaped events count what it held').to.equal(processor.details.seqsHeld);
      expect(kills.json!.processorKills).to.deep.include({ kills: 1, claimLeaseMs: 1000 });
      expect((kills.json!.processorKills as { reclaimedMs: { median: number } }).reclaimedMs.median).to.equal(reclaimedMs);
      const leader = faultOf(kills, 'leader-kill');
      expect(leader.details.fenceAfter).to.be.a('string').and.not.equal(leader.details.fenceBefore);
      expect((kills.json!.recovery as Record<string, { recovered: number }>)['leader-kill']).to.include({ recovered: 1 });
    });

    it('survives a leader SIGSTOP past its lease, CLIENT KILL and a Redis restart during a burst', function () {
      expect(outages.code, outages.stderr).to.equal(0);
      expect(outages.json).to.include({ ok: true, sent: 400, output: 400, missing: 0, duplicates: 0, orderViolations: 0, drained: true });
      for (const f of outages.json!.faults as Fault[]) expect(f.recoveryMs, f.kind).to.be.a('number').above(0);
      const pause = faultOf(outages, 'leader-pause');
      expect(pause.details.pausedLeaderSteppedDown, 'the paused leader stepped down once resumed').to.equal(true);
      expect(faultOf(outages, 'client-kill').details.killed).to.be.above(0);
      const restart = faultOf(outages, 'redis-restart');
      expect(restart.details.skipped).to.equal(undefined);
      expect(restart.details.nextBefore, 'Redis restarted mid-run').to.be.above(0);
    });

    it('a processor paused past its claim lease loses its claims to the other, gives them up when resumed, and writes none of them', function () {
      const pause = faultOf(outages, 'processor-pause');
      expect(pause.details.seqsHeld, 'the paused processor held claims').to.be.above(0);
      const { reclaimedMs, emittedPastStalledMs } = pause.details as { reclaimedMs: number; emittedPastStalledMs: number };
      expect(reclaimedMs, 'no re-claim before the lease ran out').to.be.at.least(700).and.below(5000);
      expect(emittedPastStalledMs).to.be.above(reclaimedMs);
      expect(pause.details.resumedGaveUpClaims, 'resumed, it logged claim-lost').to.equal(true);
      // The run's verification (no duplicates, nothing missing, in order) above covers what it wrote.
    });

    it('injects the faults the seed drew, in that order, no earlier than planned', function () {
      for (const [run, faults, load, processors, concurrency, workMs] of [
        [kills, 'processor-kill,leader-kill', { kind: 'steady', durationMs: 6000 }, 1, 32, 200],
        [outages, 'leader-pause,client-kill,redis-restart,processor-pause', { kind: 'burst', count: 400 }, 2, 4, 160],
      ] as const) {
        const plan = planFaults(parseFaults(faults), faultWindowS(load, processors, concurrency, workMs), 'smoke');
        expect(run.json!.plan).to.deep.equal(plan);
        const injected = run.json!.faults as Fault[];
        expect(injected.map((f) => f.kind)).to.deep.equal(plan.map((p) => p.kind));
        injected.forEach((f, i) => expect(f.at).to.be.at.least(plan[i]!.atS - 0.05));
      }
    });

    it('writes a JSON and an HTML report with the faults', function () {
      const files = readdirSync(dir);
      const json = files.find((f) => f.endsWith('.json'))!;
      const html = files.find((f) => f.endsWith('.html'))!;
      expect(JSON.parse(readFileSync(join(dir, json), 'utf8')).faults).to.have.length(2);
      expect(readFileSync(join(dir, html), 'utf8')).to.include('leader-kill');
    });
  });
});
