import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { keysFor } from '@inorder/shared';
import {
  computeStats,
  latencyOverTime,
  renderStatsTable,
  renderThroughput,
  stageDurations,
  throughputSeries,
  type Timestamps,
} from '../src/lib/stats.js';
import { RedisServer, runScript } from '@inorder/testkit';
import { connectOnce } from '../src/lib/connection.js';

const T0 = 1_700_000_000_000;

/** Entry i: queue wait i, work 100, hand-off 5, reorder wait 2i, done at T0 + ... */
function entry(i: number): Timestamps {
  const createdAt = T0;
  const processingAt = createdAt + i;
  const processedAt = processingAt + 100;
  const sequencingAt = processedAt + 5;
  const sequencedAt = sequencingAt + 2 * i;
  return { seq: i, createdAt, processingAt, processedAt, sequencingAt, sequencedAt };
}

describe('stats', () => {
  it('splits an entry into the five stages', () => {
    expect(stageDurations({ createdAt: 0, processingAt: 10, processedAt: 510, sequencingAt: 512, sequencedAt: 530 })).to.deep.equal({
      queueWait: 10,
      work: 500,
      handOff: 2,
      reorderWait: 18,
      endToEnd: 530,
    });
  });

  it('computes p50/p90/p99/max per stage from known timestamps', () => {
    const stats = computeStats(Array.from({ length: 100 }, (_, i) => entry(i + 1)));
    expect(stats.count).to.equal(100);
    expect(stats.stages.queueWait).to.include({ count: 100, min: 1, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(stats.stages.work).to.include({ p50: 100, p99: 100, max: 100 });
    expect(stats.stages.handOff).to.include({ p50: 5, max: 5 });
    expect(stats.stages.reorderWait).to.include({ p50: 100, p90: 180, p99: 198, max: 200 });
    // end-to-end = i + 100 + 5 + 2i = 3i + 105
    expect(stats.stages.endToEnd).to.include({ min: 108, p50: 255, p99: 402, max: 405 });
    expect(stats.negative).to.equal(0);
  });

  it('counts negative durations (clock differences) as zero and says so', () => {
    const stats = computeStats([{ createdAt: 100, processingAt: 90, processedAt: 95, sequencingAt: 96, sequencedAt: 97 }]);
    expect(stats.stages.queueWait.max).to.equal(0);
    // queue wait (90 - 100) and end-to-end (97 - 100)
    expect(stats.negative).to.equal(2);
    expect(renderStatsTable(stats)).to.match(/negative/);
  });

  it('measures end-to-end to processedAt when there is no sequencer (unordered)', () => {
    const stats = computeStats([{ createdAt: 0, processingAt: 1, processedAt: 11 }]);
    expect(stats.stages.endToEnd.max).to.equal(11);
    expect(stats.stages.reorderWait.count).to.equal(0);
  });

  it('buckets throughput per second of completion, zeros included', () => {
    const series = throughputSeries([T0 + 100, T0 + 200, T0 + 2500, T0 + 2600, T0 + 2700], T0);
    expect(series.perSecond).to.deep.equal([2, 0, 3]);
    expect(series.peak).to.equal(3);
    expect(series.overall).to.be.closeTo(5 / 2.7, 0.1);
  });

  it('reports latency over time per bucket', () => {
    const points = latencyOverTime([entry(1), entry(2), { ...entry(3), sequencedAt: T0 + 1500 }]);
    expect(points).to.have.length(2);
    expect(points[0]!.count).to.equal(2);
    expect(points[0]!.p50.work).to.equal(100);
  });

  it('renders a table with every stage and a throughput line', () => {
    const stats = computeStats(Array.from({ length: 10 }, (_, i) => entry(i + 1)));
    const table = renderStatsTable(stats);
    for (const label of ['queue wait', 'work', 'hand-off', 'reorder wait', 'end-to-end', 'p50', 'p90', 'p99', 'max'])
      expect(table).to.include(label);
    expect(renderThroughput(stats.throughput)).to.match(/peak 10\/s/);
  });

  it('npm run stats prints the stage figures of a pipeline as JSON', async () => {
    const server = await RedisServer.start();
    const redis = await connectOnce(server.url);
    try {
      const pipeline = `s-${randomBytes(3).toString('hex')}`;
      await redis.rpush(keysFor(pipeline, 0).output, ...Array.from({ length: 100 }, (_, i) => JSON.stringify(entry(i + 1))));
      const run = await runScript('stats', ['--pipeline', pipeline, '--redis-url', server.url, '--json']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.json).to.have.property('count', 100);
      const stages = run.json!.stages as Record<string, Record<string, number>>;
      expect(Object.keys(stages)).to.deep.equal(['queueWait', 'work', 'handOff', 'reorderWait', 'endToEnd']);
      for (const stage of Object.values(stages)) expect(stage).to.include.keys('p50', 'p90', 'p99', 'max');
      expect(stages.queueWait!.p99).to.equal(99);
      expect(stages.endToEnd).to.include({ p50: 255, max: 405 });
      const throughput = run.json!.throughput as { perSecond: number[] };
      expect(throughput.perSecond.reduce((a, b) => a + b, 0)).to.equal(100);
      expect(run.stderr).to.include('reorder wait');
    } finally {
      redis.disconnect();
      await server.destroy();
    }
  });
});
