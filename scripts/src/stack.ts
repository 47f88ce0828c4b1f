/**
 * npm run stack: the whole topology as local processes against REDIS_URL (or a throwaway
 * redis-server): processors, sequencers, and the HTTP ingest when it is built. Runs until
 * Ctrl-C or SIGTERM, then stops everything it started.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Output, formatDuration, intFlag, parseFlags, renderPairs, runCli, stringFlag } from './lib/cli.js';
import { ROOT, freePort, portOpen, startLocalRedis, startServices, type ServiceHandle } from './lib/stack.js';
import { redactRedisUrl } from '@inorder/shared';

const spec = {
  name: 'stack',
  signalExitCode: 0,
  usage: `
npm run stack -- [flags]

Starts the pipeline's services as local processes against REDIS_URL, or against a throwaway
redis-server when REDIS_URL is not set, prints what it started and where, and runs until
Ctrl-C or SIGTERM, then stops everything it started. Settings the services read from the
environment (WORK_MS, CONCURRENCY, FAIL_RATE, ...) pass through.

  --processors N     processor processes (default 3)
  --sequencers N     sequencer processes (default 2)
  --pipeline NAME    pipeline (default PIPELINE or "default")
  --work-ms MS       simulated work per message (default: WORK_MS or the processor's default)
  --concurrency N    messages in flight per processor (default: CONCURRENCY or 64)
  --ingest-port N    port of the HTTP ingest, started when services/ingest is built (default 8080, or a free one)
  --no-ingest        do not start the HTTP ingest
  --json             print one JSON line describing what was started
`,
  options: {
    processors: { type: 'string' },
    sequencers: { type: 'string' },
    pipeline: { type: 'string' },
    'work-ms': { type: 'string' },
    concurrency: { type: 'string' },
    'ingest-port': { type: 'string' },
    'no-ingest': { type: 'boolean', default: false },
  },
} as const;

function describe(s: ServiceHandle, leader: ServiceHandle | undefined): string {
  return `pid ${s.pid}  instance ${s.instance ?? '?'}${s === leader ? '  (leader)' : ''}`;
}

await runCli(spec, async (cleanup) => {
  const flags = parseFlags(spec);
  const out = new Output(flags.json === true);
  const processors = intFlag(flags, 'processors', 3, 0);
  const sequencers = intFlag(flags, 'sequencers', 2, 0);
  const pipeline = stringFlag(flags, 'pipeline') ?? process.env.PIPELINE ?? 'default';
  const env: Record<string, string> = {};
  if (flags['work-ms'] !== undefined) env.WORK_MS = String(intFlag(flags, 'work-ms', 0, 0));
  if (flags.concurrency !== undefined) env.CONCURRENCY = String(intFlag(flags, 'concurrency', 64, 1));

  const withIngest = !flags['no-ingest'] && existsSync(join(ROOT, 'services', 'ingest', 'dist', 'main.js'));
  let ingestPort: number | undefined;
  if (withIngest) {
    ingestPort = intFlag(flags, 'ingest-port', 8080, 1);
    if (flags['ingest-port'] === undefined && (await portOpen(ingestPort))) ingestPort = await freePort();
  }

  const started = Date.now();
  let redisUrl = process.env.REDIS_URL || undefined;
  let redisNote = 'REDIS_URL';
  if (!redisUrl) {
    const redis = await startLocalRedis();
    cleanup.add('redis-server', () => redis.stop());
    redisUrl = redis.url;
    redisNote = `throwaway redis-server, pid ${redis.pid}`;
  }
  const group = await startServices({ redisUrl, pipeline, processors, sequencers, env, ingestPort, fromSource: false });
  let stopping = false;
  cleanup.add('services', async () => {
    stopping = true;
    out.line('stack: stopping services...');
    await group.stop(12_000);
    out.line('stack: stopped');
  });
  let leader: ServiceHandle | undefined;
  for (let i = 0; i < 100 && sequencers > 0 && !leader; i++) {
    leader = await group.leader();
    if (!leader) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const shownUrl = redactRedisUrl(redisUrl);
  const rows: Array<[string, string]> = [['redis', `${shownUrl}  (${redisNote})`], ['pipeline', pipeline]];
  for (const s of group.all) rows.push([s.name, describe(s, leader)]);
  if (group.ingest) rows.push(['ingest', `http://127.0.0.1:${ingestPort}`]);
  out.line(`inorder stack started in ${formatDuration(Date.now() - started)}`);
  out.line(renderPairs(rows));
  out.line('');
  if (group.ingest) {
    out.line('  a pipeline takes its seqs from one source: the ingest numbers them (curl), or the producer does (burst); the first to write decides');
    out.line(`  submit:         curl -X POST http://127.0.0.1:${ingestPort}/v1/pipelines/${pipeline}/messages -H 'content-type: application/json' -d '{"payload":{"hello":"world"}}'`);
  }
  out.line(`  send a burst:   npm run burst -- --redis-url ${shownUrl} --pipeline ${pipeline} --count 1000 --work-ms ${env.WORK_MS ?? process.env.WORK_MS ?? 500}`);
  out.line(`  check it:       npm run verify -- --redis-url ${shownUrl} --pipeline ${pipeline} --from 1 --to 1000`);
  out.line(`  latency:        npm run stats -- --redis-url ${shownUrl} --pipeline ${pipeline}`);
  out.line('  Ctrl-C stops everything.');
  out.result({
    redisUrl: shownUrl,
    pipeline,
    ingest: group.ingest ? `http://127.0.0.1:${ingestPort}` : null,
    leader: leader?.name ?? null,
    services: group.all.map((s) => ({ name: s.name, role: s.role, pid: s.pid, instance: s.instance ?? null })),
  });

  // Report a service that exits on its own; run until a signal stops the script.
  const reported = new Set<ServiceHandle>();
  await new Promise<never>(() => {
    setInterval(() => {
      for (const s of group.all) {
        if (!stopping && !s.running && !reported.has(s)) {
          reported.add(s);
          void s.exited.then((e) => out.line(`stack: ${s.name} (pid ${s.pid}) exited (${e.signal ?? `code ${e.code}`}):\n  ${s.logs.slice(-5).join('\n  ')}`));
        }
      }
    }, 500);
  });
});
