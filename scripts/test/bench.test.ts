import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countInversions } from '../src/lib/bench-metrics.js';
import { runScript } from './support/run-script.js';

describe('npm run bench', function () {
  it('counts inversions: pairs out of order, not just neighbours', function () {
    expect(countInversions([1, 2, 3, 4])).to.deep.equal({ inversions: 0, descents: 0, keptOrder: true });
    expect(countInversions([2, 1, 3])).to.deep.equal({ inversions: 1, descents: 1, keptOrder: false });
    // 4 is ahead of three smaller seqs; one descent.
    expect(countInversions([4, 1, 2, 3])).to.deep.equal({ inversions: 3, descents: 1, keptOrder: false });
    expect(countInversions([5, 4, 3, 2, 1]).inversions).to.equal(10);
    expect(countInversions([]).keptOrder).to.equal(true);
  });

  it('runs both workloads through inorder and BullMQ and prints the figures as JSON; inorder keeps order', async function () {
    this.timeout(90_000);
    const dir = mkdtempSync(join(tmpdir(), 'inorder-bench-'));
    try {
      const run = await runScript('bench', ['--noop-count', '400', '--work-count', '100', '--work-ms', '20', '--concurrency', '10', '--report-dir', dir, '--json']);
      expect(run.code, run.stderr).to.equal(0);
      const r = run.json as Record<string, Record<string, unknown>>;
      for (const workload of ['noop', 'work']) {
        const figures = r[workload]!;
        expect(figures.inorder, workload).to.be.a('number').above(0);
        expect(figures.bullmq, workload).to.be.a('number').above(0);
        expect(figures.ratio, workload).to.be.closeTo((figures.inorder as number) / (figures.bullmq as number), 0.01);
      }
      expect(r.redisCpuUsPerMessage!.inorder).to.be.a('number').above(0);
      expect(r.redisCpuUsPerMessage!.bullmq).to.be.a('number').above(0);
      const byWorkload = r.redisCpuUsPerMessageByWorkload as Record<string, Record<string, unknown>>;
      for (const workload of ['noop', 'work']) {
        for (const system of ['inorder', 'bullmq']) expect(byWorkload[workload]![system], `${workload} ${system}`).to.be.a('number').above(0);
      }
      const order = r.order as unknown as Record<string, Record<string, { inversions: number; keptOrder: boolean }>>;
      expect(order.noop!.inorder).to.deep.equal({ inversions: 0, keptOrder: true });
      expect(order.work!.inorder).to.deep.equal({ inversions: 0, keptOrder: true });
      expect(order.work!.bullmq!.inversions).to.be.a('number');
      expect(run.stdout + run.stderr).to.match(/ratio/i);
      expect(r.ok).to.equal(true);
      const saved = JSON.parse(readFileSync(r.report!.json as string, 'utf8')) as { tool: string; charts: Array<{ id: string }> };
      expect(saved.tool).to.equal('bench');
      expect(saved.charts.map((c) => c.id)).to.include.members(['throughput', 'redis-cpu', 'rate-noop', 'rate-work']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
