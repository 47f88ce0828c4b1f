import { expect } from 'chai';
import { keysFor } from '@inorder/shared';
import { capturingLogger, uniquePipeline, useReplicaPair, waitFor } from '@inorder/testkit';
import { defaultIngestConfig } from '../src/config.js';
import { startIngest, type RunningIngest } from '../src/server.js';

/** The ingest with REPLICA_ACKS=1 against a primary and its replica. */
describe('ingest with REPLICA_ACKS', function () {
  this.timeout(30_000);
  const pair = useReplicaPair();
  let running: RunningIngest | undefined;

  afterEach(async () => {
    await running?.stop();
    for (const c of running?.connections ?? []) c.disconnect();
    running = undefined;
  });

  async function start(
    timeoutMs: number,
    redisTimeoutMs = 5000,
  ): Promise<{ url: string; lines: Array<Record<string, unknown>>; pipeline: string }> {
    const capture = capturingLogger('warn');
    const pipeline = uniquePipeline('acks');
    running = await startIngest(
      defaultIngestConfig({
        redisUrl: pair.primary.url,
        host: '127.0.0.1',
        port: 0,
        replicaAcks: 1,
        replicaAcksTimeoutMs: timeoutMs,
        redisTimeoutMs,
        pipelines: [{ name: pipeline, ordering: 'strict' }],
      }),
      capture.logger,
    );
    return { url: `http://127.0.0.1:${running.port}`, lines: capture.lines, pipeline };
  }

  const post = (url: string, pipeline: string, body: unknown): Promise<Response> =>
    fetch(`${url}/v1/pipelines/${pipeline}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers 202 once the replica holds the batch; with the replica stopped, after the timeout, logging and counting the short wait', async () => {
    const { url, lines, pipeline } = await start(300);
    expect((await post(url, pipeline, [{ payload: 1 }])).status).to.equal(202);
    expect(lines.filter((l) => l.event === 'replica-acks-short')).to.deep.equal([]);
    pair.replica.pause();
    const startedAt = Date.now();
    const reply = await post(url, pipeline, [{ payload: 2 }]);
    expect(reply.status).to.equal(202);
    expect(Date.now() - startedAt).to.be.at.least(290);
    expect(lines.find((l) => l.event === 'replica-acks-short')).to.include({ step: 'submit', pipeline, partition: 0, wanted: 1, acked: 0 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).to.include(`inorder_replica_acks_short_total{pipeline="${pipeline}",partition="0",step="submit"} 1`);
  });

  it('answers 503 saying the batch may have been enqueued when the connection fails before the replicas confirmed it', async () => {
    const { url, pipeline } = await start(2000);
    pair.replica.pause();
    const reply = post(url, pipeline, [{ payload: 1, id: 'order-1' }]);
    await waitFor(async () => /name=inorder-ingest .*cmd=wait/.test(String(await pair.admin.client('LIST'))), {
      timeoutMs: 5000,
      message: 'no WAIT under way',
    });
    await pair.admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    const answer = await reply;
    expect(answer.status).to.equal(503);
    expect(((await answer.json()) as { message: string }).message).to.match(
      /may have been enqueued: send it again with the same message ids/,
    );
    // It was: sent again with its id, it is answered as a duplicate of the seq it got.
    pair.replica.resume();
    const again = await waitFor(
      async () => {
        const r = await post(url, pipeline, [{ payload: 1, id: 'order-1' }]);
        return r.status === 202 ? r.json() : undefined;
      },
      { timeoutMs: 10_000, message: 'the submit sent again was not taken' },
    );
    expect(again).to.deep.include({ seqs: [1], duplicates: [true] });
    expect(await pair.admin.llen(keysFor(pipeline, 0).input)).to.equal(1);
  });

  it('has Redis start a submit early enough for its WAIT to end before the request gives up, so a 503 still means nothing was enqueued', async () => {
    const { url, pipeline } = await start(500, 1000);
    expect((await post(url, pipeline, [{ payload: 1 }])).status).to.equal(202);
    // Redis answers nothing for 600 ms, then would run the submit with 400 ms left: less than the WAIT may take.
    pair.primary.pause();
    pair.replica.pause();
    const resume = setTimeout(() => pair.primary.resume(), 600);
    const reply = await post(url, pipeline, [{ payload: 2 }]);
    clearTimeout(resume);
    pair.primary.resume();
    expect(reply.status).to.equal(503);
    expect(((await reply.json()) as { message: string }).message).to.match(/nothing was enqueued/);
    expect(await pair.admin.llen(keysFor(pipeline, 0).input)).to.equal(1);
  });
});
