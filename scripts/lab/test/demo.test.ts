import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { portOpen, runScript, type ScriptRun } from '@inorder/testkit';
import { expectCleanRun } from './support/runs.js';

/** Pids of live processes whose environment names this pipeline (the services a run started). */
function servicePids(pipeline: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (env.includes(`PIPELINE=${pipeline}`)) pids.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

describe('npm run demo', function () {
  this.timeout(60_000);
  let completed: ScriptRun;
  let interrupted: ScriptRun;
  let interruptedPipeline: string | undefined;

  // Both runs at once: each starts its own redis-server, 3 processors and 2 sequencers.
  before(async () => {
    let sent = false;
    [completed, interrupted] = await Promise.all([
      runScript('demo', ['--count', '200', '--work-ms', '20', '--json']),
      runScript(
        'demo',
        ['--count', '5000', '--work-ms', '2000', '--processors', '1', '--sequencers', '1', '--concurrency', '8', '--json'],
        {
          onStdout: (text, child) => {
            interruptedPipeline ??= /pipeline\s+(\S+)/.exec(text)?.[1];
            if (!sent && text.includes('enqueued')) {
              sent = true;
              child.kill('SIGINT');
            }
          },
        },
      ),
    ]);
  });

  it('verifies a burst through 3 processors and 2 sequencers, and says so in its last JSON line', () => {
    const r = expectCleanRun(completed, 200, { processors: 3, sequencers: 2 });
    // ceil(200 / (3 x 64)) = 2 rounds of 20 ms
    expect(r.idealMs).to.equal(40);
    expect(r.wallMs).to.be.a('number').and.at.least(20);
    expect(r.throughput).to.be.a('number').and.above(0);
    const latency = r.latency as Record<string, { p50: number; max: number }>;
    expect(latency.work!.p50).to.be.at.least(20);
    expect(latency.endToEnd!.max).to.be.at.least(latency.work!.p50);
  });

  it('prints the verification, wall time against the ideal and the stage table', () => {
    expect(completed.stderr).to.include('verified: in order, nothing lost, nothing duplicated');
    expect(completed.stderr).to.match(/wall time .* ideal/s);
    expect(completed.stderr).to.include('reorder wait');
  });

  it('leaves nothing running after it finished', async () => {
    expect(await portOpen(Number(new URL(completed.json!.redisUrl as string).port))).to.equal(false);
    expect(servicePids(completed.json!.pipeline as string)).to.deep.equal([]);
  });

  it('stops everything it started on Ctrl-C', async () => {
    expect(interrupted.code, interrupted.stderr).to.equal(130);
    expect(interrupted.stderr).to.include('stopping everything it started');
    expect(interruptedPipeline).to.be.a('string');
    expect(servicePids(interruptedPipeline!)).to.deep.equal([]);
    const port = /redis:\/\/127\.0\.0\.1:(\d+)/.exec(interrupted.stderr)?.[1];
    expect(await portOpen(Number(port))).to.equal(false);
  });
});
