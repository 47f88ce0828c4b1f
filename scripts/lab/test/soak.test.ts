import { expect } from 'chai';
import { judgeBacklog, type BacklogPoint } from '../src/lib/soak-backlog.js';
import { runScript, type ScriptRun } from '@inorder/testkit';
import { expectCleanRun } from './support/runs.js';

function series(seconds: number, backlogAt: (t: number) => number): BacklogPoint[] {
  return Array.from({ length: seconds }, (_, i) => ({ t: i + 1, backlog: backlogAt(i + 1) }));
}

describe('npm run soak', function () {
  describe('backlog rule', function () {
    it('calls a small, flat backlog bounded', function () {
      expect(
        judgeBacklog(
          series(60, (t) => 20 + (t % 7) * 5),
          1000,
        ),
      ).to.include({ bounded: true, judged: true });
    });

    it('calls a backlog that keeps growing unbounded', function () {
      // The pipeline falls 50 msg/s behind a 1,000 msg/s load.
      expect(
        judgeBacklog(
          series(60, (t) => 30 + 50 * t),
          1000,
        ),
      ).to.include({ bounded: false, judged: true });
    });

    it('calls a spike that drained bounded', function () {
      const verdict = judgeBacklog(
        series(60, (t) => (t >= 40 && t < 45 ? 3000 : 25)),
        1000,
      );
      expect(verdict).to.include({ bounded: true });
      expect(verdict.lastThirdMax).to.equal(3000);
    });

    it('does not judge a run with fewer than six samples', function () {
      expect(
        judgeBacklog(
          series(4, (t) => t * 1000),
          1000,
        ),
      ).to.include({ bounded: true, judged: false });
    });
  });

  describe('runs', function () {
    this.timeout(90_000);
    let steady: ScriptRun;
    let overloaded: ScriptRun;

    // Two runs at once, each with its own redis-server and services. The overloaded one asks
    // 80 msg/s of a processor that can do at most 40 (4 in flight x 100 ms): the input list
    // grows by about 40 a second while the load runs, then drains in about as long again.
    before(async function () {
      [steady, overloaded] = await Promise.all([
        runScript('soak', [
          '--rate',
          '100',
          '--duration',
          '6',
          '--work-ms',
          '10',
          '--processors',
          '1',
          '--concurrency',
          '16',
          '--sequencers',
          '1',
          '--no-report',
          '--json',
        ]),
        runScript('soak', [
          '--rate',
          '80',
          '--duration',
          '6',
          '--work-ms',
          '100',
          '--processors',
          '1',
          '--concurrency',
          '4',
          '--sequencers',
          '1',
          '--no-report',
          '--json',
        ]),
      ]);
    });

    it('holds a steady rate for a few seconds, keeps the backlog bounded and verifies', function () {
      const r = expectCleanRun(steady, 600, { drained: true });
      expect(r.wallMs).to.be.a('number').at.least(5000);
      expect(r.idealMs).to.equal(6010);
      expect(r.throughput).to.be.a('number').above(0);
      expect(r.backlog).to.include({ bounded: true, judged: true });
      const latency = r.latency as Record<string, { p99: number }>;
      expect(latency.endToEnd!.p99).to.be.at.least(10);
      expect(steady.stderr).to.include('Latency over time');
    });

    it('fails a run whose backlog grew without bound, though every message came out in order', function () {
      expect(overloaded.code, overloaded.stderr).to.equal(1);
      const r = overloaded.json!;
      expect(r).to.include({ ok: false, sent: 480, output: 480, missing: 0, duplicates: 0, orderViolations: 0, drained: true });
      expect(r.backlog).to.include({ bounded: false, judged: true });
      expect(overloaded.stderr).to.include('GREW WITHOUT BOUND');
      expect(overloaded.stderr).to.match(/soak: the backlog grew without bound/);
    });
  });
});
