import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, RedisServer, runScript, toolSource, waitFor } from '@inorder/testkit';
import { startServices, type ServiceGroup, type ServiceHandle } from '../src/lib/stack.js';
import { expectCleanRun } from './support/runs.js';

describe('npm run burst', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let group: ServiceGroup;
  const pipeline = `b-${randomBytes(3).toString('hex')}`;

  before(async () => {
    redis = await RedisServer.start();
    // Half the attempts fail: after 3 retries about 1 in 16 messages is dead-lettered.
    const env = { WORK_MS: '10', CONCURRENCY: '32', FAIL_RATE: '0.5', MAX_RETRIES: '3', BACKOFF_BASE_MS: '10', BACKOFF_MAX_MS: '50' };
    group = await startServices({ redisUrl: redis.url, pipeline, processors: 1, sequencers: 2, env });
  });
  after(async () => {
    await group?.stop(1000);
    await redis?.destroy();
  });

  /** A burst of 300 through the services above (1 processor x 32 in flight, 10 ms of work), no report. */
  const burstFlags = (): string[] => [
    '--redis-url',
    redis.url,
    '--pipeline',
    pipeline,
    '--count',
    '300',
    '--work-ms',
    '10',
    '--processors',
    '1',
    '--concurrency',
    '32',
    '--no-report',
  ];

  it('enqueues, waits and verifies against services already running (--redis-url), dead letters included', async () => {
    const args = [...burstFlags(), '--json'];
    const run = await runScript('burst', args);
    expect(run.code, run.stderr).to.equal(0);
    const r = run.json!;
    expect(r).to.include({ ok: true, redis: 'external', sent: 300, missing: 0, duplicates: 0, orderViolations: 0 });
    expect(r.deadLettered).to.be.above(0);
    expect((r.output as number) + (r.deadLettered as number)).to.equal(300);
    // ceil(300 / (1 x 32)) = 10 rounds of 10 ms
    expect(r.idealMs).to.equal(100);
    expect(run.stderr).to.include('seq 1..300');
    expect(run.stdout + run.stderr, 'no progress bar off a terminal').not.to.match(/settled \|/);

    const again = await runScript('burst', args);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.include('seq 301..600');
    expect(again.json).to.include({ ok: true, sent: 300, missing: 0, duplicates: 0, unexpected: 300 });
  });

  it('draws a progress bar while it waits, on a terminal', async function () {
    if (!existsSync('/usr/bin/script')) this.skip(); // util-linux script(1) gives the run a terminal
    const command = [process.execPath, '--import', 'tsx', '--conditions=@inorder/source', toolSource('burst'), ...burstFlags()].join(' ');
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, screen).to.equal(0);
    expect(screen).to.match(/settled \|█+\| 100% 300\/300/);
    expect(screen).to.include('verified: in order');
  });

  it('names the leader from the fence, and a standby takes over when it is killed', async () => {
    const leader = await waitFor(() => group.leader(), { timeoutMs: 15_000, message: 'no leader' });
    expect(group.sequencers).to.include(leader);
    leader.kill('SIGKILL');
    await leader.exited;
    const next = await waitFor(
      async (): Promise<ServiceHandle | undefined> => {
        const l = await group.leader();
        return l && l !== leader ? l : undefined;
      },
      { timeoutMs: 15_000, message: 'no standby took over' },
    );
    expect(next.role).to.equal('sequencer');
    await leader.restart();
    expect(leader.running).to.equal(true);
    expect(leader.instance).to.be.a('string');
  });

  it('starts its own redis-server and services as the flags say, verifies, and writes a JSON and an HTML report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inorder-burst-'));
    try {
      const run = await runScript('burst', [
        '--count',
        '200',
        '--work-ms',
        '10',
        '--processors',
        '2',
        '--concurrency',
        '8',
        '--sequencers',
        '1',
        '--report-dir',
        dir,
        '--json',
      ]);
      const r = expectCleanRun(run, 200, { redis: 'local', processors: 2, concurrency: 8, sequencers: 1 });
      // ceil(200 / (2 x 8)) = 13 rounds of 10 ms
      expect(r.idealMs).to.equal(130);
      expect(r.wallMs).to.be.a('number').above(0);
      expect(r.throughput).to.be.a('number').above(0);
      expect(run.stderr).to.match(/2 processors, 1 sequencers started/);
      const report = r.report as { json: string; html: string };
      expect(readdirSync(dir).sort()).to.deep.equal([report.html, report.json].map((p) => p.slice(dir.length + 1)).sort());
      const saved = JSON.parse(readFileSync(report.json, 'utf8')) as {
        tool: string;
        ok: boolean;
        summary: Record<string, unknown>;
        charts: Array<{ id: string }>;
      };
      expect(saved).to.include({ tool: 'burst', ok: true });
      expect(saved.summary).to.include({ sent: 200, output: 200 });
      expect(saved.charts.map((c) => c.id)).to.deep.equal(['throughput', 'latency-p50', 'latency-p99']);
      expect(readFileSync(report.html, 'utf8')).to.include('Chart.js v4');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
