// Checks deploy/ (Prometheus, its alert rules, Grafana, the Redis Cluster profile) against the compose file and
// against the metrics the services really register. Run by .ci/check-containers, on the TypeScript sources:
//   node --import tsx --conditions=@inorder/source .ci/check-deploy.mjs [--deploy DIR] [--compose FILE]
//  1. Every file of deploy/ parses (YAML, JSON, the env file).
//  2. Prometheus scrapes every service the compose file builds, by its service name, on the port it serves /metrics
//     on (the ingest's PORT, the others' HEALTH_PORT); every host it scrapes is a compose service; the compose file
//     mounts its config and rule files where it reads them; the jobs the alert rules name exist.
//  3. Every metric the alert rules and the dashboard's queries name is in a registry of the services (the
//     processor's and sequencer's Metrics with Node's default metrics, the ingest's IngestMetrics; a histogram's
//     _bucket, _sum and _count), and every label they group or match by is one those metrics carry.
//  4. The dashboard shows what the ingest's /ui shows (rates, dead letters, backlog, lag, leader, stalled, stage
//     latency), on the data source Grafana is provisioned with.
//  5. The cluster profile: six cluster-mode Redis nodes, a one-shot `redis-cli --cluster create` of all of them
//     (--cluster-replicas 1 --cluster-yes), and deploy/cluster.env pointing every app service at its nodes with a
//     redis+cluster:// URL that their config accepts.
//  6. `promtool check config` and `promtool check rules`, when promtool is installed; skipped otherwise.
// Exit 1 when any check fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { fail, finish, ok, skip } from './checks.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { deploy: { type: 'string' }, compose: { type: 'string' } } });
const deployDir = resolve(args.deploy ?? join(root, 'deploy'));
const composePath = resolve(args.compose ?? join(root, 'docker-compose.yml'));
const section = (title) => console.log(`deploy: ${title}`);

// ---- 1. the files
section('files');
function load(relative, parser) {
  const path = join(deployDir, relative);
  try {
    const value = parser(readFileSync(path, 'utf8'));
    ok(`${relative} parses`);
    return value;
  } catch (error) {
    fail(`${relative}: ${String(error.message).split('\n')[0]}`);
    return undefined;
  }
}
const yaml = (text) => parseYaml(text, { merge: true, uniqueKeys: true });
const envFile = (text) =>
  Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const i = l.indexOf('=');
        if (i < 1) throw new Error(`not KEY=VALUE: ${l}`);
        return [l.slice(0, i), l.slice(i + 1)];
      }),
  );
const prometheus = load('prometheus.yml', yaml) ?? {};
const alerts = load('alerts.yml', yaml) ?? {};
const dashboard = load('grafana/inorder.json', JSON.parse) ?? {};
const provisioning = join('grafana', 'provisioning');
const provisioned = (existsSync(join(deployDir, provisioning)) ? readdirSync(join(deployDir, provisioning), { recursive: true }) : [])
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => ({ file: f, doc: load(join(provisioning, f), yaml) ?? {} }));
const clusterEnv = load('cluster.env', envFile) ?? {};
const compose = yaml(readFileSync(composePath, 'utf8'));
const services = compose.services ?? {};
const envOf = (svc) =>
  Array.isArray(svc.environment) ? Object.fromEntries(svc.environment.map((kv) => kv.split(/=(.*)/s))) : (svc.environment ?? {});
const built = Object.entries(services).filter(([, svc]) => svc.build);
const argv = (command) => (Array.isArray(command) ? command.join(' ') : String(command ?? ''));

// ---- 2. scrape targets against the compose file
section(`Prometheus against ${basename(composePath)}`);
const scraped = new Map(); // host -> [{ job, port }]
for (const job of prometheus.scrape_configs ?? []) {
  const add = (host, port) => scraped.set(host, [...(scraped.get(host) ?? []), { job: job.job_name, port: String(port) }]);
  for (const sd of job.dns_sd_configs ?? []) for (const name of sd.names ?? []) add(name, sd.port);
  for (const sc of job.static_configs ?? []) for (const target of sc.targets ?? []) add(...target.split(':'));
}
for (const [name, svc] of built) {
  const env = envOf(svc);
  const port = String(env.HEALTH_PORT ?? env.PORT ?? '');
  const jobs = (scraped.get(name) ?? []).filter((t) => t.port === port);
  if (jobs.length) ok(`service ${name}: scraped on port ${port} (job ${jobs.map((t) => t.job).join(', ')})`);
  else fail(`service ${name}: no scrape job reaches ${name}:${port} (${env.HEALTH_PORT ? 'HEALTH_PORT' : 'PORT'})`);
}
for (const host of scraped.keys())
  if (!services[host]) fail(`prometheus.yml scrapes ${host}, which is no service of ${basename(composePath)}`);
const promService = Object.values(services).find((svc) => /prometheus/.test(String(svc.image)));
if (!promService) fail(`${basename(composePath)} has no Prometheus service`);
else {
  const configPath = /--config\.file=(\S+)/.exec(argv(promService.command))?.[1] ?? '/etc/prometheus/prometheus.yml';
  const mounts = (promService.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target]));
  const mounted = (file, target) => mounts.some(([source, to]) => basename(source ?? '') === file && to === target);
  for (const [file, target] of [
    ['prometheus.yml', configPath],
    ...(prometheus.rule_files ?? []).map((r) => [basename(r), posix.join(posix.dirname(configPath), r)]),
  ]) {
    if (mounted(file, target)) ok(`Prometheus reads ${file} at ${target}, where the compose file mounts it`);
    else fail(`Prometheus reads ${target}, but the compose file mounts no deploy/${file} there`);
  }
}
const jobs = new Set((prometheus.scrape_configs ?? []).map((j) => j.job_name));

// ---- 3. metric names and labels against the services' registries
section('metrics named in the alert rules and the dashboard');
async function catalogue() {
  const { Metrics } = await import('@inorder/shared');
  const { IngestMetrics } = await import(pathToFileURL(join(root, 'services/ingest/src/metrics.ts')).href);
  const names = new Set();
  const labels = new Set(['job', 'instance', 'le', 'quantile']);
  for (const registry of [new Metrics().registry, new IngestMetrics().registry]) {
    for (const metric of registry.getMetricsAsArray()) {
      const { type } = await metric.get();
      const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const s of suffixes) names.add(`${metric.name}${s}`);
      for (const l of metric.labelNames ?? []) labels.add(l);
    }
  }
  return { names, labels };
}
/** The metric names (inorder_*) and label names a PromQL query uses; Grafana's $variables are left out. */
function parseQuery(expr) {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\$\{?\w+\}?/g, ' ');
  const metrics = [...bare.matchAll(/\b(inorder_\w+)/g)].map((m) => m[1]);
  const labels = [];
  for (const m of bare.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
    labels.push(
      ...m[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  for (const m of bare.matchAll(/\{([^}]*)\}/g)) for (const l of m[1].matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(l[1]);
  for (const m of bare.matchAll(/label_values\([^,)]*,\s*(\w+)\s*\)/g)) labels.push(m[1]);
  return { metrics, labels };
}
const panelsOf = (list) => (list ?? []).flatMap((p) => [p, ...panelsOf(p.panels)]);
const queries = [
  ...(alerts.groups ?? []).flatMap((g) =>
    (g.rules ?? []).map((r) => ({ where: `alerts.yml ${r.alert ?? r.record}`, expr: String(r.expr ?? '') })),
  ),
  ...panelsOf(dashboard.panels).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `dashboard panel "${p.title}"`, expr: String(t.expr ?? '') })),
  ),
  ...(dashboard.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `dashboard variable ${v.name}`, expr: String(v.query?.query ?? v.query ?? '') })),
];
const known = await catalogue();
const dashboardMetrics = new Set();
for (const { where, expr } of queries) {
  const { metrics, labels } = parseQuery(expr);
  if (where.startsWith('dashboard')) metrics.forEach((m) => dashboardMetrics.add(m));
  const unknownMetrics = [...new Set(metrics.filter((m) => !known.names.has(m)))];
  const unknownLabels = [...new Set(labels.filter((l) => !known.labels.has(l)))];
  const unknownJobs = [...expr.matchAll(/\bjob\s*=\s*"([^"]*)"/g)].map((m) => m[1]).filter((j) => !jobs.has(j));
  if (unknownMetrics.length) fail(`${where}: no service registers ${unknownMetrics.join(', ')}`);
  if (unknownLabels.length) fail(`${where}: no metric of the services has the label ${unknownLabels.join(', ')}`);
  if (unknownJobs.length) fail(`${where}: prometheus.yml has no job ${unknownJobs.join(', ')}`);
  if (!unknownMetrics.length && !unknownLabels.length && !unknownJobs.length)
    ok(`${where}: ${metrics.length ? [...new Set(metrics)].join(', ') : 'no inorder metric'}`);
}
if (queries.length < 10) fail(`only ${queries.length} queries found in alerts.yml and the dashboard`);

// ---- 4. the dashboard: what /ui shows, on the provisioned data source
section('the Grafana dashboard');
const shown = {
  'emitted per second': 'inorder_messages_emitted_total',
  'dead letters per second': 'inorder_messages_dead_lettered_total',
  'backlog (waiting)': 'inorder_input_backlog',
  'backlog (parked)': 'inorder_parked',
  'backlog (in flight)': 'inorder_in_flight',
  lag: 'inorder_next_lag',
  leader: 'inorder_leader',
  stalled: 'inorder_stalled',
  'stage latency': 'inorder_stage_duration_seconds_bucket',
};
for (const [what, metric] of Object.entries(shown)) {
  if (dashboardMetrics.has(metric)) ok(`shows ${what} (${metric})`);
  else fail(`shows no ${what}: no panel queries ${metric}`);
}
const ids = panelsOf(dashboard.panels).map((p) => p.id);
if (new Set(ids).size === ids.length) ok(`${ids.length} panels, each with its own id`);
else fail('two panels share an id');
const dsVariable = (dashboard.templating?.list ?? []).find((v) => v.type === 'datasource' && v.query === 'prometheus');
const offSource = panelsOf(dashboard.panels).filter((p) => p.type !== 'row' && p.datasource?.uid !== `\${${dsVariable?.name}}`);
if (dsVariable && !offSource.length) ok(`every panel reads the data source chosen in $${dsVariable.name} (Prometheus)`);
else fail(`panels not on a Prometheus data source variable: ${offSource.map((p) => p.title).join(', ') || '(no such variable)'}`);
checkGrafanaProvisioning();

function checkGrafanaProvisioning() {
  const grafana = Object.values(services).find((svc) => /grafana/.test(String(svc.image)));
  if (!grafana) return fail(`${basename(composePath)} has no Grafana service`);
  const sources = provisioned.flatMap((p) => p.doc.datasources ?? []);
  for (const ds of sources) {
    const url = new URL(ds.url);
    const target = services[url.hostname];
    const port = target && /prometheus/.test(String(target.image)) ? '9090' : undefined;
    if (ds.type === 'prometheus' && port === url.port) ok(`data source ${ds.name}: ${ds.url} is the compose file's Prometheus`);
    else fail(`data source ${ds.name}: ${ds.url} is not the compose file's Prometheus service on 9090`);
  }
  if (!sources.length) fail('no data source is provisioned');
  const mounts = (grafana.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target]));
  for (const provider of provisioned.flatMap((p) => p.doc.providers ?? [])) {
    const path = provider.options?.path;
    if (mounts.some(([source, target]) => basename(source ?? '') === 'inorder.json' && posix.dirname(target) === path))
      ok(`dashboard provider ${provider.name} reads ${path}, where inorder.json is mounted`);
    else fail(`dashboard provider ${provider.name} reads ${path}, where the compose file mounts no inorder.json`);
  }
}

// ---- 5. the Redis Cluster profile
section('the cluster profile');
await checkCluster();

async function checkCluster() {
  const inProfile = Object.entries(services).filter(([, svc]) => (svc.profiles ?? []).includes('cluster'));
  const nodes = inProfile.filter(([, svc]) => /--cluster-enabled\s+yes/.test(argv(svc.command))).map(([name]) => name);
  if (nodes.length === 6) ok(`six cluster-mode Redis nodes: ${nodes.join(', ')}`);
  else fail(`the cluster profile has ${nodes.length} cluster-mode Redis nodes, not 6`);
  const create = inProfile.find(([, svc]) => /redis-cli\s+--cluster\s+create/.test(argv(svc.command)));
  if (!create) return fail('no service of the cluster profile runs redis-cli --cluster create');
  const [name, svc] = create;
  const command = argv(svc.command);
  const missing = nodes.filter((n) => !command.includes(`${n}:6379`));
  const waits = nodes.filter((n) => svc.depends_on?.[n]?.condition !== 'service_healthy');
  if (!missing.length && /--cluster-replicas\s+1\b/.test(command) && /--cluster-yes\b/.test(command))
    ok(`${name} creates the cluster of all six nodes, one replica each, unattended`);
  else fail(`${name}: its create command must name ${missing.join(', ') || 'every node'} and carry --cluster-replicas 1 --cluster-yes`);
  if (svc.restart === 'no' && !waits.length) ok(`${name} runs once, after every node is healthy`);
  else
    fail(
      `${name} must run once (restart: "no") after every node is healthy${waits.length ? ` (not waiting for ${waits.join(', ')})` : ''}`,
    );
  return checkClusterEnv(nodes);
}

async function checkClusterEnv(nodes) {
  const url = clusterEnv.INORDER_REDIS_URL ?? '';
  if (!(clusterEnv.COMPOSE_PROFILES ?? '').split(',').includes('cluster'))
    fail('cluster.env does not enable the cluster profile (COMPOSE_PROFILES)');
  const seeds = url.startsWith('redis+cluster://') ? url.slice('redis+cluster://'.length).split(',') : [];
  const strangers = seeds.filter((s) => !nodes.map((n) => `${n}:6379`).includes(s));
  if (seeds.length && !strangers.length) ok(`cluster.env: INORDER_REDIS_URL names nodes of the profile (${seeds.join(', ')})`);
  else
    fail(
      `cluster.env: INORDER_REDIS_URL must be redis+cluster:// with nodes of the profile${strangers.length ? `, not ${strangers.join(', ')}` : ''}`,
    );
  if (nodes.includes(clusterEnv.INORDER_CLUSTER_NODE))
    ok(`cluster.env: services wait for the cluster of ${clusterEnv.INORDER_CLUSTER_NODE}`);
  else fail('cluster.env: INORDER_CLUSTER_NODE must name a node of the profile');
  const { processorEnvSchema } = await import('@inorder/shared');
  const parsed = processorEnvSchema.safeParse({ REDIS_URL: url });
  if (parsed.success) ok("cluster.env: the services' config accepts INORDER_REDIS_URL");
  else fail(`cluster.env: the services' config refuses INORDER_REDIS_URL (${parsed.error.issues.map((i) => i.message).join('; ')})`);
  const raw = readFileSync(composePath, 'utf8');
  const unpointed = built.filter(([, svc]) => !/\$\{INORDER_REDIS_URL:-[^}]+\}/.test(String(envOf(svc).REDIS_URL))).map(([n]) => n);
  if (!unpointed.length && raw.includes('${INORDER_CLUSTER_NODE'))
    ok(`every app service takes REDIS_URL from INORDER_REDIS_URL (${built.map(([n]) => n).join(', ')})`);
  else fail(`services that ignore INORDER_REDIS_URL: ${unpointed.join(', ') || '(none), but nothing reads INORDER_CLUSTER_NODE'}`);
}

// ---- 6. promtool
section('promtool');
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
if (promtool.error) skip('promtool is not installed (Debian: apt-get install prometheus)');
else {
  for (const command of [
    ['check', 'config', join(deployDir, 'prometheus.yml')],
    ['check', 'rules', join(deployDir, 'alerts.yml')],
  ]) {
    const run = spawnSync('promtool', command, { encoding: 'utf8' });
    const shown = `promtool ${command.slice(0, 2).join(' ')} ${basename(command[2])}`;
    if (run.status === 0) ok(shown);
    else
      fail(
        `${shown}:\n${(run.stdout + run.stderr)
          .trim()
          .split('\n')
          .map((l) => `        ${l}`)
          .join('\n')}`,
      );
  }
}

finish('deploy');
