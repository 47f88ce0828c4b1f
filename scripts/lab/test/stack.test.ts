import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { partitionForKey } from '@inorder/shared';
import { freePort, runScript, waitFor, type ScriptRun } from '@inorder/testkit';

interface Started {
  pipeline: string;
  partitions: number;
  leaders: Array<string | null>;
  ingest: string;
  services: Array<{ name: string; role: string; serves: string | null }>;
}

async function call(url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(
    url,
    body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('npm run stack', function () {
  this.timeout(60_000);
  const pipeline = 'carts';
  let child: ChildProcess | undefined;
  let run: Promise<ScriptRun>;
  let started: Started;

  // One stack for the whole file: a throwaway redis-server (REDIS_URL empty), the pipeline
  // registered with 8 partitions, 1 processor and 2 sequencers serving all of them, and one
  // events-* processor; the ingest on a free port.
  before(async () => {
    const port = await freePort();
    let resolveStarted: (s: Started) => void;
    const ready = new Promise<Started>((resolve) => (resolveStarted = resolve));
    run = runScript(
      'stack',
      [
        '--partitions',
        '8',
        '--pipeline',
        pipeline,
        '--processors',
        '1',
        '--sequencers',
        '2',
        '--event-processors',
        '1',
        '--work-ms',
        '10',
        '--ingest-port',
        String(port),
        '--json',
      ],
      {
        env: { REDIS_URL: '', PIPELINE: '', LOG_LEVEL: 'info' },
        onStdout: (text, c) => {
          child = c;
          const line = text.split('\n').find((l) => l.startsWith('{'));
          if (line) resolveStarted(JSON.parse(line) as Started);
        },
      },
    );
    started = await Promise.race([ready, run.then((r) => Promise.reject(new Error(`stack exited with ${r.code}:\n${r.stderr}`)))]);
  });
  after(async () => {
    child?.kill('SIGTERM');
    await run;
  });

  it('registers the pipeline with 8 partitions before the services start, and serves every one of them', async () => {
    expect(started).to.include({ pipeline, partitions: 8 });
    expect(started.leaders).to.have.length(8);
    expect(started.services.filter((s) => s.serves === 'events-*').map((s) => s.name)).to.deep.equal(['events-processor-1']);
    // Every partition gets a leader among the two sequencers (the status endpoint reads each lease).
    const status = await waitFor(
      async () => {
        const { json } = await call(`${started.ingest}/v1/pipelines/${pipeline}`);
        const parts = json.partitions as Array<{ partition: number; leader: { leaseHeld: boolean } | null }>;
        return parts.length === 8 && parts.every((p) => p.leader?.leaseHeld) ? parts : undefined;
      },
      { timeoutMs: 15_000, message: 'a leader for each of the 8 partitions' },
    );
    expect(status.map((p) => p.partition)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('routes a keyed submit through the ingest to the partition of its key, which emits it', async () => {
    const key = 'customer-17';
    const expected = partitionForKey(key, 8);
    const submit = await call(`${started.ingest}/v1/pipelines/${pipeline}/messages`, [
      { payload: { n: 1 }, key },
      { payload: { n: 2 }, key },
    ]);
    expect(submit.status).to.equal(202);
    expect(submit.json).to.include({ partition: expected });
    const entries = await waitFor(
      async () => {
        const { json } = await call(`${started.ingest}/v1/pipelines/${pipeline}/output?partition=${expected}`);
        const list = json.entries as Array<{ seq: number; key: string; payload: { n: number } }>;
        return list.length === 2 ? list : undefined;
      },
      { timeoutMs: 15_000, message: `both messages emitted on partition ${expected}` },
    );
    expect(entries.map((e) => [e.seq, e.key, e.payload.n])).to.deep.equal([
      [1, key, 1],
      [2, key, 2],
    ]);
  });

  it('processes an event posted to /api/event/v1: the events-* processor serves the new pipeline', async () => {
    const event = { user_id: 42, priority: 1, event_type_id: 7, event_data: { page: '/home' } };
    const posted = await call(`${started.ingest}/api/event/v1`, event);
    expect(posted.status).to.equal(200);
    expect(posted.json).to.include({ status: 'queued', pipeline: 'events-7' });
    // The processor reads the registry every 2 s, so a new event type is served within about that.
    const entries = await waitFor(
      async () => {
        const res = await fetch(`${started.ingest}/api/event/v1/7/output`);
        const list = ((await res.json()) as { entries: Array<{ payload: typeof event }> }).entries;
        return list.length === 1 ? list : undefined;
      },
      { timeoutMs: 15_000, message: 'the event in the output of events-7' },
    );
    expect(entries[0]!.payload).to.deep.equal(event);
  });

  it('stops everything it started on SIGTERM and exits 0', async () => {
    child!.kill('SIGTERM');
    const done = await run;
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stderr).to.include('stack: stopped');
  });
});
