import { expect } from 'chai';
import type { Redis } from 'ioredis';
import {
  Metrics,
  ReplicaAckError,
  ShortAckLog,
  connect,
  enqueue,
  keysFor,
  registerPipeline,
  type RedisClient,
  type ShortAck,
} from '@inorder/shared';
import { TestPipeline, capturingLogger, uniquePipeline, useReplicaPair, waitFor } from '@inorder/testkit';
import { expectSettledInOrder } from './support/order.js';

/** Calls of one command the server has run (INFO commandstats). */
async function calls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
}

/**
 * REPLICA_ACKS on a primary and its replica: each submit, completion, failure and emit is
 * followed by WAIT on the connection that wrote it, and is acknowledged only once a replica holds
 * it or the timeout passed (reported as short).
 */
describe('replica acknowledgement (REPLICA_ACKS)', function () {
  this.timeout(30_000);
  const pair = useReplicaPair();
  const closing: Array<{ close(): Promise<void> } | RedisClient> = [];

  afterEach(async () => {
    for (const c of closing.splice(0)) {
      if ('close' in c) await c.close();
      else c.disconnect();
    }
  });

  async function run(
    replicaAcks: { replicas: number; timeoutMs: number; onShort?: (s: ShortAck) => void } | undefined,
  ): Promise<TestPipeline> {
    const pipeline = new TestPipeline(pair.primary, { connect: { replicaAcks } });
    closing.push(pipeline);
    // Every 7th seq fails once: fail.lua schedules its retry.
    await pipeline.processor(async (_p, { seq, attempt }) => {
      if (seq % 7 === 0 && attempt === 1) throw new Error('once');
      return { seq };
    });
    await pipeline.sequencer();
    await pipeline.enqueue(100);
    await expectSettledInOrder(pipeline, 100);
    return pipeline;
  }

  it('waits for the replica behind every submit, completion, failure and emit, and finds none short while it keeps up', async () => {
    const shorts: ShortAck[] = [];
    const waits = await calls(pair.admin, 'wait');
    await run({ replicas: 1, timeoutMs: 1000, onShort: (s) => shorts.push(s) });
    // At least: one submit, the completions and failures (batched), the emits.
    expect((await calls(pair.admin, 'wait')) - waits).to.be.at.least(4);
    expect(shorts).to.deep.equal([]);
  });

  it('sends no WAIT when REPLICA_ACKS is 0', async () => {
    const waits = await calls(pair.admin, 'wait');
    await run(undefined);
    expect(await calls(pair.admin, 'wait')).to.equal(waits);
  });

  it('reports a WAIT that comes back short, after its timeout, and leaves the write on the primary', async () => {
    const shorts: ShortAck[] = [];
    const redis = connect(pair.primary.url, { replicaAcks: { replicas: 1, timeoutMs: 300, onShort: (s) => shorts.push(s) } });
    closing.push(redis);
    const name = uniquePipeline('acks');
    await registerPipeline(redis, name, { ordering: 'strict' });
    pair.replica.pause();
    const startedAt = Date.now();
    await enqueue(redis, { pipeline: name }, [
      { seq: 1, payload: 'a' },
      { seq: 2, payload: 'b' },
    ]);
    expect(Date.now() - startedAt, 'held for the timeout').to.be.at.least(290);
    expect(shorts).to.have.length(1);
    expect(shorts[0]).to.include({ step: 'submit', pipeline: name, partition: 0, wanted: 1, acked: 0 });
    expect(shorts[0]!.waitedMs).to.be.at.least(290);
    expect(await pair.admin.llen(keysFor(name, 0).input)).to.equal(2);
  });

  it('does not acknowledge a write whose WAIT a dropped connection cut off (ReplicaAckError), and the write sent again is dropped as a copy', async () => {
    const redis = connect(pair.primary.url, { name: 'acks-dropped', replicaAcks: { replicas: 1, timeoutMs: 5000 } });
    closing.push(redis);
    const name = uniquePipeline('acks');
    await registerPipeline(redis, name, { ordering: 'strict' });
    pair.replica.pause();
    const submitting = enqueue(redis, { pipeline: name }, [{ seq: 1, payload: 'a' }]);
    const failed = submitting.then(
      () => undefined,
      (error: unknown) => error,
    );
    // The submit ran on the primary; its WAIT holds the connection. Cut it: nobody knows now
    // whether a replica will ever hold the write.
    await waitFor(async () => /name=acks-dropped .*cmd=wait/.test(String(await pair.admin.client('LIST'))), {
      timeoutMs: 5000,
      message: 'no WAIT under way',
    });
    await pair.admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    expect(await failed).to.be.instanceOf(ReplicaAckError);
    pair.replica.resume();
    await enqueue(redis, { pipeline: name }, [{ seq: 1, payload: 'a' }]);
    const pipeline = new TestPipeline(pair.primary, { name });
    closing.push(pipeline);
    await pipeline.processor();
    await pipeline.sequencer();
    await pipeline.settled(1);
    expect((await pipeline.output()).map((e) => e.seq)).to.deep.equal([1]);
    expect(await pair.admin.hget(keysFor(name, 0).meta, 'duplicates')).to.equal('1');
  });
});

describe('short replica acknowledgements in logs and metrics (ShortAckLog)', () => {
  it('counts every one, and logs one warning per partition and step every 5 s with how many went unlogged', async () => {
    const metrics = new Metrics(undefined, { defaults: false });
    const { logger, lines } = capturingLogger('warn');
    let now = 1_000_000;
    const log = new ShortAckLog(
      logger,
      (short) => metrics.noteShortAck(short),
      () => now,
    );
    const short = (step: ShortAck['step'], partition = 0): ShortAck => ({
      step,
      pipeline: 'orders',
      partition,
      wanted: 1,
      acked: 0,
      waitedMs: 500,
    });
    log.report(short('complete'));
    log.report(short('complete'));
    log.report(short('complete', 1));
    log.report(short('emit'));
    now += 5000;
    log.report(short('complete'));
    expect(lines.map((l) => [l.event, l.partition, l.step, l.notLoggedBefore])).to.deep.equal([
      ['replica-acks-short', 0, 'complete', 0],
      ['replica-acks-short', 1, 'complete', 0],
      ['replica-acks-short', 0, 'emit', 0],
      ['replica-acks-short', 0, 'complete', 1],
    ]);
    const text = await metrics.text();
    expect(text).to.include('inorder_replica_acks_short_total{pipeline="orders",partition="0",step="complete"} 3');
    expect(text).to.include('inorder_replica_acks_short_total{pipeline="orders",partition="1",step="complete"} 1');
  });
});
