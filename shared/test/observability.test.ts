import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  capturingLogger,
  checkOrder,
  freePort,
  histogramCount,
  metricValue,
  range,
  RedisServer,
  scrapeMetrics,
  ServiceProcess,
  TestPipeline,
  waitFor,
  type Scrape,
} from '@inorder/testkit';

/** A handler that always fails seqs divisible by 10 and fails seqs divisible by 7 once. */
const FLAKY_HANDLER = `
export default async function handle(payload, { seq, attempt }) {
  if (seq % 10 === 0) throw new Error('always fails');
  if (seq % 7 === 0 && attempt === 1) throw new Error('fails once');
  return { seq };
}
`;

/** The value of a counter or gauge, summed over the series whose labels include `where`. */
const value = metricValue;

/** Parsed families of a service's /metrics, and the text. */
const scrape = (port: number): Promise<Scrape> => scrapeMetrics(`http://127.0.0.1:${port}/metrics`);

describe('observability: metrics, events and logs', function () {
  this.timeout(90_000);
  let server: RedisServer;
  let dir: string;
  let pipeline: TestPipeline | undefined;
  const children: ServiceProcess[] = [];

  before(async () => {
    server = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), 'inorder-metrics-'));
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await pipeline?.close();
    pipeline = undefined;
  });
  after(async () => {
    await server.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts a run of 500 messages with retries and dead letters exactly, in /metrics of the processor and the sequencer', async () => {
    pipeline = new TestPipeline(server);
    const handler = join(dir, 'flaky.mjs');
    writeFileSync(handler, FLAKY_HANDLER);
    const [processorPort, sequencerPort] = [await freePort(), await freePort()];
    const env = { REDIS_URL: server.url, PIPELINE: pipeline.name, LOG_LEVEL: 'warn' };
    children.push(
      new ServiceProcess('processor', {
        ...env,
        HEALTH_PORT: String(processorPort),
        HANDLER: handler,
        MAX_RETRIES: '2',
        BACKOFF_BASE_MS: '5',
        BACKOFF_MAX_MS: '10',
        CONCURRENCY: '32',
      }),
    );
    children.push(new ServiceProcess('sequencer', { ...env, HEALTH_PORT: String(sequencerPort) }));
    await pipeline.enqueue(500);
    await pipeline.settled(500, 60_000);
    const labels = { pipeline: pipeline.name, partition: '0' };
    const dead = range(1, 500).filter((s) => s % 10 === 0).length;
    const retriedOnce = range(1, 500).filter((s) => s % 7 === 0 && s % 10 !== 0).length;
    await waitFor(async () => value(await scrape(sequencerPort), 'inorder_messages_emitted_total', labels) === 500 - dead, {
      timeoutMs: 10_000,
      message: 'the sequencer did not count every emit',
    });
    const p = await scrape(processorPort);
    const s = await scrape(sequencerPort);
    expect({
      claimed: value(p, 'inorder_messages_claimed_total', labels),
      completed: value(p, 'inorder_messages_completed_total', labels),
      failed: value(p, 'inorder_messages_failed_total', labels),
      retried: value(p, 'inorder_messages_retried_total', labels),
      deadLettered: value(p, 'inorder_messages_dead_lettered_total', { ...labels, reason: 'max-retries' }),
      emitted: value(s, 'inorder_messages_emitted_total', labels),
      leader: value(s, 'inorder_leader', labels),
    }).to.deep.equal({
      claimed: 500 - dead + dead * 3 + retriedOnce,
      completed: 500 - dead,
      failed: dead * 3 + retriedOnce,
      retried: dead * 2 + retriedOnce,
      deadLettered: dead,
      emitted: 500 - dead,
      leader: 1,
    });
    // Every message's stages: the processor saw queue wait and work, the sequencer the rest.
    const histogram = (metrics: { text: string }, stage: string): number =>
      histogramCount(metrics.text, 'inorder_stage_duration_seconds', { ...labels, stage });
    expect([histogram(p, 'queue_wait'), histogram(p, 'work'), histogram(s, 'end_to_end'), histogram(s, 'hand_off')]).to.deep.equal(
      Array(4).fill(500 - dead),
    );
    expect(
      p.find((m) => m.name === 'inorder_process_cpu_seconds_total'),
      'default process metrics',
    ).to.not.equal(undefined);
  });

  it('logs claimed, completed and emitted for every message at debug, and says each event on the telemetry', async () => {
    pipeline = new TestPipeline(server);
    const processorLog = capturingLogger('debug');
    const sequencerLog = capturingLogger('debug');
    const processor = await pipeline.processor(undefined, {}, { logger: processorLog.logger });
    const sequencer = await pipeline.sequencer({}, { logger: sequencerLog.logger });
    const acquired = sequencer.telemetry.next('leader-acquired');
    await pipeline.enqueue(100);
    await pipeline.settled(100);
    expect(await acquired).to.include({ pipeline: pipeline.name, partition: 0 });
    const seqsOf = (lines: Array<Record<string, unknown>>, event: string): number[] =>
      lines
        .filter((l) => l.event === event)
        .map((l) => l.seq as number)
        .sort((a, b) => a - b);
    await waitFor(() => seqsOf(sequencerLog.lines, 'emitted').length === 100, { timeoutMs: 5000, message: 'emitted lines missing' }).catch(
      (error: unknown) => {
        // Say which, and what the leader went through, so a failure explains itself.
        const logged = new Set(seqsOf(sequencerLog.lines, 'emitted'));
        const events = sequencerLog.lines.filter((l) => l.level !== 'debug').map((l) => `${String(l.event)}: ${String(l.message)}`);
        throw new Error(
          `${(error as Error).message}: no line for ${range(1, 100)
            .filter((s) => !logged.has(s))
            .join(',')}; ` + `stats ${JSON.stringify(sequencer.stats)}; events ${events.join(' | ')}`,
        );
      },
    );
    expect(seqsOf(processorLog.lines, 'claimed')).to.deep.equal(range(1, 100));
    expect(seqsOf(processorLog.lines, 'completed')).to.deep.equal(range(1, 100));
    expect(seqsOf(sequencerLog.lines, 'emitted')).to.deep.equal(range(1, 100));
    expect(processor.telemetry.metrics).to.not.equal(sequencer.telemetry.metrics);
  });

  it('holds the order for less than 2.5 s when a processor is killed with SIGKILL, with default settings', async () => {
    pipeline = new TestPipeline(server);
    const env = { REDIS_URL: server.url, PIPELINE: pipeline.name, WORK_MS: '200', CONCURRENCY: '16' };
    const doomed = new ServiceProcess('processor', env);
    children.push(doomed, new ServiceProcess('processor', env));
    await pipeline.sequencer();
    await pipeline.enqueue(400);
    // Wait until the doomed one holds claims, then kill it.
    const held = await waitFor(
      async () => {
        const claims = await pipeline!.redis.hgetall(pipeline!.partition.keys.claims);
        const seqs = Object.entries(claims)
          .filter(([token]) => doomed.logs.some((l) => l.includes(`"owner":"${token.slice(0, token.lastIndexOf(':'))}"`)))
          .flatMap(([, v]) =>
            v
              .slice(v.indexOf('|') + 1)
              .split(',')
              .map(Number),
          );
        return seqs.length > 0 ? seqs : undefined;
      },
      { timeoutMs: 20_000, message: 'the processor to kill never held claims' },
    );
    const killedAt = Date.now();
    await doomed.kill();
    const last = Math.max(...held);
    await waitFor(async () => Number(await pipeline!.redis.hget(pipeline!.partition.keys.meta, 'next')) > last, {
      timeoutMs: 2500,
      message: `the order did not move past seq ${last} within 2.5 s of the kill`,
    });
    const recoveredMs = Date.now() - killedAt;
    expect(recoveredMs).to.be.below(2500);
    await pipeline.settled(400, 30_000);
    expect(
      checkOrder(
        (await pipeline.output()).map((e) => e.seq),
        range(1, 400),
      ),
    ).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
  });
});
