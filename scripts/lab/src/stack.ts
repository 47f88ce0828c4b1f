/**
 * npm run stack: the whole topology as local processes against REDIS_URL (or a throwaway
 * redis-server): processors and sequencers serving every partition of the pipeline, a processor
 * of the event API's `events-*` pipelines, and the HTTP ingest. Runs until Ctrl-C or SIGTERM,
 * then stops everything it started.
 */
import {
  type Output,
  UsageError,
  formatDuration,
  intFlag,
  type parseFlags,
  renderPairs,
  stringFlag,
  type Cleanup,
  runTool,
} from '@inorder/tools';
import { freePort, portOpen } from '@inorder/testkit';
import { serviceAvailable, startLocalRedis, startServices, type ServiceGroup, type ServiceHandle } from './lib/stack.js';
import { leadersOf, partitionCount, registerPartitions, unled } from './lib/stack-layout.js';
import { redactRedisUrl } from '@inorder/shared';

const spec = {
  name: 'stack',
  signalExitCode: 0,
  usage: `
npm run stack -- [flags]

Starts the pipeline's services as local processes against REDIS_URL, or against a throwaway
redis-server when REDIS_URL is not set, prints what it started and where, and runs until
Ctrl-C or SIGTERM, then stops everything it started. Processors and sequencers serve every
partition of the pipeline (PARTITIONS=all). Settings the services read from the environment
(WORK_MS, CONCURRENCY, FAIL_RATE, ...) pass through.

  --processors N        processor processes (default 3)
  --sequencers N        sequencer processes (default 2)
  --event-processors N  processors of PIPELINE='events-*', for the ingest's event API (default 1)
  --pipeline NAME       pipeline (default PIPELINE or "default")
  --partitions N        register the pipeline with N partitions before the services start (1-9999);
                        without it, a new pipeline gets one and an existing one keeps its count
  --work-ms MS          simulated work per message (default: WORK_MS or the processor's default)
  --concurrency N       messages in flight per processor (default: CONCURRENCY or 64)
  --ingest-port N       port of the HTTP ingest (default 8080, or a free one when 8080 is taken)
  --no-ingest           do not start the HTTP ingest
  --json                print one JSON line describing what was started
`,
  options: {
    processors: { type: 'string' },
    sequencers: { type: 'string' },
    'event-processors': { type: 'string' },
    pipeline: { type: 'string' },
    partitions: { type: 'string' },
    'work-ms': { type: 'string' },
    concurrency: { type: 'string' },
    'ingest-port': { type: 'string' },
    'no-ingest': { type: 'boolean', default: false },
  },
} as const;

type StackFlags = ReturnType<typeof parseFlags<typeof spec.options>>;

function describe(s: ServiceHandle, leads: number[]): string {
  const lead = leads.length === 0 ? '' : `  (leads ${leads.length === 1 ? 'partition' : 'partitions'} ${leads.join(', ')})`;
  return `pid ${s.pid}  instance ${s.instance ?? '?'}${lead}`;
}

async function ingestPortOf(flags: StackFlags): Promise<number | undefined> {
  if (flags['no-ingest'] || !serviceAvailable('ingest')) return undefined;
  const port = intFlag(flags, 'ingest-port', 8080, 1);
  return flags['ingest-port'] === undefined && (await portOpen(port)) ? freePort() : port;
}

async function redisFor(cleanup: Cleanup): Promise<{ url: string; note: string }> {
  const given = process.env.REDIS_URL || undefined;
  if (given) return { url: given, note: 'REDIS_URL' };
  const redis = await startLocalRedis();
  cleanup.add('redis-server', () => redis.destroy());
  return { url: redis.url, note: `throwaway redis-server, pid ${redis.pid}` };
}

function hints(out: Output, group: ServiceGroup, pipeline: string, port: number | undefined, shownUrl: string, workMs: string): void {
  if (group.ingest) {
    out.line(
      '  a pipeline takes its seqs from one source: the ingest numbers them (curl), or the producer does (burst); the first to write decides',
    );
    out.line(
      `  submit:         curl -X POST http://127.0.0.1:${port}/v1/pipelines/${pipeline}/messages -H 'content-type: application/json' -d '{"payload":{"hello":"world"},"key":"customer-1"}'`,
    );
    if (group.eventProcessors.length > 0) {
      out.line(
        `  an event:       curl -X POST http://127.0.0.1:${port}/api/event/v1 -d '{"user_id":42,"priority":1,"event_data":{"page":"/home"},"event_type_id":7}'`,
      );
    }
    out.line(`  dashboard:      http://127.0.0.1:${port}/ui`);
  }
  out.line(`  send a burst:   npm run burst -- --redis-url ${shownUrl} --pipeline ${pipeline} --count 1000 --work-ms ${workMs}`);
  out.line(`  check it:       npm run verify -- --redis-url ${shownUrl} --pipeline ${pipeline} --from 1 --to 1000`);
  out.line(`  latency:        npm run stats -- --redis-url ${shownUrl} --pipeline ${pipeline}`);
  out.line('  Ctrl-C stops everything.');
}

/** Reports a service that exits on its own; never resolves (the script runs until a signal stops it). */
function watch(out: Output, group: ServiceGroup, stopping: () => boolean): Promise<never> {
  const reported = new Set<ServiceHandle>();
  return new Promise<never>(() => {
    setInterval(() => {
      for (const s of group.all) {
        if (!stopping() && !s.running && !reported.has(s)) {
          reported.add(s);
          void s.exited.then((e) =>
            out.line(`stack: ${s.name} (pid ${s.pid}) exited (${e.signal ?? `code ${e.code}`}):\n  ${s.logs.slice(-5).join('\n  ')}`),
          );
        }
      }
    }, 500);
  });
}

await runTool(spec, async ({ flags, out, cleanup }) => {
  const pipeline = stringFlag(flags, 'pipeline') ?? process.env.PIPELINE ?? 'default';
  const prefix = process.env.KEY_PREFIX || 'inorder';
  const asked = flags.partitions === undefined ? undefined : intFlag(flags, 'partitions', 1, 1);
  if (asked !== undefined && asked > 9999) throw new UsageError('--partitions must be at most 9999');
  const env: Record<string, string> = {};
  if (flags['work-ms'] !== undefined) env.WORK_MS = String(intFlag(flags, 'work-ms', 0, 0));
  if (flags.concurrency !== undefined) env.CONCURRENCY = String(intFlag(flags, 'concurrency', 64, 1));
  const ingestPort = await ingestPortOf(flags);

  const started = Date.now();
  const redis = await redisFor(cleanup);
  if (asked !== undefined) await registerPartitions(redis.url, pipeline, asked, prefix);
  const group = await startServices({
    redisUrl: redis.url,
    pipeline,
    prefix,
    partition: 'all',
    partitionCount: asked,
    env,
    ingestPort,
    processors: intFlag(flags, 'processors', 3, 0),
    sequencers: intFlag(flags, 'sequencers', 2, 0),
    eventProcessors: intFlag(flags, 'event-processors', 1, 0),
  });
  let stopping = false;
  cleanup.add('services', async () => {
    stopping = true;
    out.line('stack: stopping services...');
    await group.stop(12_000);
    out.line('stack: stopped');
  });
  const partitions = await partitionCount(redis.url, pipeline, prefix);
  const leaders = await leadersOf(group, partitions, 5000);

  report(out, {
    group,
    redisUrl: redis.url,
    redisNote: redis.note,
    pipeline,
    partitions,
    leaders,
    ingestPort,
    started,
    workMs: env.WORK_MS,
  });
  await watch(out, group, () => stopping);
});

/** The started stack: a table of what runs where, hints to try it, and the JSON line under --json. */
function report(
  out: Output,
  at: {
    group: ServiceGroup;
    redisUrl: string;
    redisNote: string;
    pipeline: string;
    partitions: number;
    leaders: Array<ServiceHandle | undefined>;
    ingestPort: number | undefined;
    started: number;
    workMs: string | undefined;
  },
): void {
  const { group, pipeline, partitions, leaders, ingestPort } = at;
  const shownUrl = redactRedisUrl(at.redisUrl);
  const leads = (s: ServiceHandle): number[] => leaders.flatMap((l, p) => (l === s ? [p] : []));
  const rows: Array<[string, string]> = [
    ['redis', `${shownUrl}  (${at.redisNote})`],
    [
      'pipeline',
      `${pipeline}, ${partitions} ${partitions === 1 ? 'partition' : 'partitions'}, all served${group.sequencers.length > 0 && unled(leaders) ? `; no leader yet: ${unled(leaders)}` : ''}`,
    ],
    ...group.all.map((s): [string, string] => [s.name, describe(s, leads(s))]),
  ];
  if (group.ingest) rows.push(['ingest', `http://127.0.0.1:${ingestPort}`]);
  out.line(`inorder stack started in ${formatDuration(Date.now() - at.started)}`);
  out.line(renderPairs(rows));
  out.line('');
  hints(out, group, pipeline, ingestPort, shownUrl, at.workMs ?? process.env.WORK_MS ?? '500');
  out.result({
    redisUrl: shownUrl,
    pipeline,
    partitions,
    leaders: leaders.map((l) => l?.name ?? null),
    ingest: group.ingest ? `http://127.0.0.1:${ingestPort}` : null,
    services: group.all.map((s) => ({
      name: s.name,
      role: s.role,
      pid: s.pid,
      instance: s.instance ?? null,
      serves: s === group.ingest ? null : group.eventProcessors.includes(s) ? 'events-*' : pipeline,
    })),
  });
}
