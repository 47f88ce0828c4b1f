import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '@inorder/testkit';

interface Run {
  code: number | null;
  out: string;
}

/** Runs .ci/check-deploy.mjs on a deploy directory, as .ci/check-containers does. */
function check(deployDir: string): Promise<Run> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@inorder/source', '.ci/check-deploy.mjs', '--deploy', deployDir],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

/** A copy of deploy/ with one file changed by `edit`. */
function copyWith(dir: string, name: string, file: string, edit: (text: string) => string): string {
  const copy = join(dir, name);
  cpSync(join(ROOT, 'deploy'), copy, { recursive: true });
  const path = join(copy, file);
  const text = readFileSync(path, 'utf8');
  const edited = edit(text);
  if (edited === text) throw new Error(`the edit of ${file} changed nothing`);
  writeFileSync(path, edited);
  return copy;
}

describe("deploy/: Prometheus, alerts and Grafana against the compose file and the services' metrics", function () {
  this.timeout(60_000);
  let dir: string;
  let good: Run;
  let typo: Run;
  let label: Run;
  let unscraped: Run;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inorder-deploy-'));
    [good, typo, label, unscraped] = await Promise.all([
      check(join(ROOT, 'deploy')),
      check(
        copyWith(dir, 'typo', 'alerts.yml', (t) =>
          t.replace('max by (pipeline, partition) (inorder_stalled) == 1', 'max by (pipeline, partition) (inorder_stall) == 1'),
        ),
      ),
      check(
        copyWith(dir, 'label', 'grafana/inorder.json', (t) =>
          t.replace('sum by (pipeline, partition, reason)', 'sum by (pipeline, partiton, reason)'),
        ),
      ),
      check(copyWith(dir, 'unscraped', 'prometheus.yml', (t) => t.replace('names: [events-processor]', 'names: [event-processor]'))),
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("passes on the repository's files: every service scraped, every metric and label known, the cluster profile whole", () => {
    expect(good.code, good.out).to.equal(0);
    expect(good.out).to.include('ok    service events-processor: scraped on port 9090');
    expect(good.out).to.include('ok    alerts.yml InorderOrderStalled: inorder_stalled');
    expect(good.out).to.include('ok    shows stage latency (inorder_stage_duration_seconds_bucket)');
    expect(good.out).to.include('ok    redis-cluster-create creates the cluster of all six nodes');
    expect(good.out).to.match(/deploy: \d+ checks passed, 0 failed/);
  });

  it('fails on an alert rule naming a metric no service registers', () => {
    expect(typo.code).to.equal(1);
    expect(typo.out).to.include('FAIL  alerts.yml InorderOrderStalled: no service registers inorder_stall');
  });

  it('fails on a dashboard query grouping by a label no metric carries', () => {
    expect(label.code).to.equal(1);
    expect(label.out).to.include('FAIL  dashboard panel "Dead letters / s, by reason": no metric of the services has the label partiton');
  });

  it('fails when Prometheus does not scrape a service of the compose file', () => {
    expect(unscraped.code).to.equal(1);
    expect(unscraped.out).to.include('FAIL  service events-processor: no scrape job reaches events-processor:9090');
    expect(unscraped.out).to.include('FAIL  prometheus.yml scrapes event-processor, which is no service of docker-compose.yml');
  });
});
