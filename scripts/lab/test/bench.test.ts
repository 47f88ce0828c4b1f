import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countInversions } from '../src/lib/bench-metrics.js';
import type { PhaseMeasure } from '../src/lib/bench-run.js';
import { benchSummary, median } from '../src/lib/bench-summary.js';
import { summariseProfile } from '../src/lib/bench-profile.js';
import { runScript } from '@inorder/testkit';

function phase(over: Partial<PhaseMeasure>): PhaseMeasure {
  return {
    system: 'inorder',
    mode: 'prefilled',
    phase: 'warm',
    run: 1,
    count: 100,
    completed: 100,
    wallMs: 10,
    throughput: 10_000,
    order: { inversions: 0, descents: 0, keptOrder: true },
    complete: true,
    cpuUsPerMessage: { redis: 5, processor: 10, sequencer: 5, producer: 1, total: 20 },
    msgsPerCpuSecond: 50_000,
    machineBusyCores: 1.5,
    commands: [],
    completions: [],
    ...over,
  };
}

describe('npm run bench', function () {
  it('counts inversions: pairs out of order, not just neighbours', function () {
    expect(countInversions([1, 2, 3, 4])).to.deep.equal({ inversions: 0, descents: 0, keptOrder: true });
    expect(countInversions([2, 1, 3])).to.deep.equal({ inversions: 1, descents: 1, keptOrder: false });
    // 4 is ahead of three smaller seqs; one descent.
    expect(countInversions([4, 1, 2, 3])).to.deep.equal({ inversions: 3, descents: 1, keptOrder: false });
    expect(countInversions([5, 4, 3, 2, 1]).inversions).to.equal(10);
    expect(countInversions([]).keptOrder).to.equal(true);
  });

  it('takes medians, and ratios against the peer of the same run before their median', function () {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 2, 3])).to.equal(2.5);
    expect(median([null, undefined])).to.equal(null);
    // Run 1: 4x; run 2: 2x; run 3: 3x. The median of the ratios is 3x, though the medians of
    // the throughputs (20,000 / 5,000) would say 4x.
    const phases = [
      phase({ run: 1, throughput: 20_000 }),
      phase({ system: 'bullmq', run: 1, throughput: 5_000 }),
      phase({ run: 2, throughput: 10_000 }),
      phase({ system: 'bullmq', run: 2, throughput: 5_000 }),
      phase({ run: 3, throughput: 30_000 }),
      phase({ system: 'bullmq', run: 3, throughput: 10_000 }),
    ];
    const summary = benchSummary(phases, [], {});
    const inorder = summary.rows.find((r) => r.system === 'inorder')!;
    expect(inorder.throughput).to.equal(20_000);
    expect(inorder.ratio).to.equal(3);
    const pre = summary.targets.find((t) => t.name.startsWith('pre-filled'))!;
    expect(pre).to.include({ measured: 3, met: true });
    const cpu = summary.targets.find((t) => t.name.includes('Redis + processor'))!;
    expect(cpu).to.include({ measured: 20, met: true });
    expect(summary.targets.find((t) => t.name === 'CPU per message: Redis')).to.include({ measured: 5, met: true });
    expect(summary.targets.find((t) => t.name.startsWith('logging'))!.met).to.equal(null);
  });

  it('reads a CPU profile: self time per function, the garbage collector share, and the service it came from', function () {
    const url = 'file:///x/services/processor/dist/main.js';
    const s = summariseProfile('p.cpuprofile', {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3, 4] },
        { id: 2, callFrame: { functionName: 'claim', url, lineNumber: 9 } },
        { id: 3, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
        { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      ],
      samples: [2, 2, 2, 3, 4, 4],
      timeDeltas: [1000, 1000, 1000, 1000, 5000, 5000],
    });
    expect(s.role).to.equal('processor');
    expect(s.busyMs).to.equal(4);
    expect(s.gcPct).to.equal(25);
    expect(s.topFunctions[0]).to.include({ name: 'claim', pct: 75 });
  });

  it('runs both modes, cold and warm, through inorder, BullMQ and bee-queue, and prints medians, ratios and targets as JSON', async function () {
    this.timeout(180_000);
    const dir = mkdtempSync(join(tmpdir(), 'inorder-bench-'));
    try {
      const run = await runScript('bench', ['--count', '300', '--runs', '1', '--report-dir', dir, '--json']);
      expect(run.code, run.stderr).to.equal(0);
      const r = run.json as {
        rows: Array<Record<string, unknown>>;
        targets: Array<Record<string, unknown>>;
        ok: boolean;
        report: { json: string };
      };
      const rows = new Map(r.rows.map((row) => [`${String(row.system)} ${String(row.mode)} ${String(row.phase)}`, row]));
      for (const system of ['inorder', 'bullmq', 'bee-queue']) {
        for (const mode of ['prefilled', 'e2e']) {
          for (const p of ['cold', 'warm']) {
            const row = rows.get(`${system} ${mode} ${p}`);
            expect(row, `${system} ${mode} ${p}`).to.not.equal(undefined);
            expect(row!.throughput).to.be.a('number').above(0);
            expect(row!.msgsPerCpuSecond).to.be.a('number').above(0);
            const cpu = row!.cpuUsPerMessage as Record<string, number>;
            expect(cpu.redis, `${system} ${mode} ${p} redis`).to.be.a('number').above(0);
            for (const process of system === 'inorder' ? ['processor', 'sequencer'] : ['worker']) expect(cpu[process]).to.be.a('number');
            if (system === 'inorder') {
              expect(row!.ratio).to.be.a('number').above(0);
              expect(row).to.include({ keptOrder: true, complete: true });
            } else expect(row).to.include({ ratio: null, complete: true });
          }
        }
      }
      expect(rows.get('inorder-quiet prefilled warm')).to.not.equal(undefined);
      expect(r.targets.map((t) => t.name)).to.have.length(5);
      for (const t of r.targets) expect(t.measured, String(t.name)).to.be.a('number');
      expect(r.targets[0]!.note).to.match(/vs bee-queue, warm: [\d.]+x/);
      expect(run.stdout + run.stderr).to.match(/target .* (met|NOT MET)/);
      expect(r.ok).to.equal(true);
      const saved = JSON.parse(readFileSync(r.report.json, 'utf8')) as { tool: string; charts: Array<{ id: string }> };
      expect(saved.tool).to.equal('bench');
      expect(saved.charts.map((c) => c.id)).to.include.members(['throughput', 'cpu', 'rate-prefilled', 'rate-e2e']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a peer it does not know, and --peers with --no-bullmq', async function () {
    this.timeout(30_000);
    const unknown = await runScript('bench', ['--peers', 'bullmq,kue']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/--peers: unknown peer kue \(bullmq, bee-queue\)/);
    const both = await runScript('bench', ['--peers', 'bullmq', '--no-bullmq']);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.match(/--no-bullmq means no peer at all/);
  });

  for (const cluster of [false, true]) {
    it(`--partitions 1,2${cluster ? ' --cluster' : ''}: msg/s and CPU per partition count, each partition in order`, async function () {
      this.timeout(120_000);
      const run = await runScript('bench', [
        '--partitions',
        '1,2',
        '--count',
        '300',
        '--runs',
        '1',
        '--no-report',
        '--json',
        ...(cluster ? ['--cluster'] : []),
      ]);
      expect(run.code, run.stderr).to.equal(0);
      const r = run.json as {
        rows: Array<{
          partitions: number;
          throughput: number;
          msgsPerCpuSecond: number;
          ok: boolean;
          cpuUsPerMessage: Record<string, number>;
        }>;
        ok: boolean;
        target: string;
      };
      expect(r.rows.map((row) => row.partitions)).to.deep.equal([1, 2]);
      for (const row of r.rows) {
        expect(row.ok).to.equal(true);
        expect(row.throughput).to.be.above(0);
        expect(row.cpuUsPerMessage.redis).to.be.above(0);
      }
      expect(r.target).to.match(cluster ? /Cluster/ : /redis-server/);
      expect(r.ok).to.equal(true);
    });
  }
});
