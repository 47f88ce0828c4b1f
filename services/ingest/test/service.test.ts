import { expect } from 'chai';
import { getPipeline, keysFor, type RedisClient } from '@inorder/shared';
import { RedisServer, freePort } from '../../../shared/test/support/redis-server.js';
import { ServiceProcess, uniquePipeline } from '../../../shared/test/support/pipeline.js';
import { waitFor } from '../../../shared/test/support/wait-for.js';

describe('ingest service process (npm run ingest)', function () {
  let server: RedisServer;
  let redis: RedisClient;
  let ingest: ServiceProcess | undefined;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
  });
  afterEach(async () => {
    server.resume();
    await ingest?.kill();
    ingest = undefined;
  });
  after(async () => {
    redis.disconnect();
    await server.destroy();
  });

  it('registers PIPELINES at start, then on SIGTERM stops accepting, finishes the request in flight and exits 0', async () => {
    const port = await freePort();
    const orders = uniquePipeline('orders');
    const audit = uniquePipeline('audit');
    ingest = new ServiceProcess('ingest', {
      REDIS_URL: server.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'debug',
      PIPELINES: `${orders}:strict,${audit}:none:2`, REDIS_TIMEOUT_MS: '20000',
    });
    await waitFor(() => ingest!.logged('"message":"listening"'), { timeoutMs: 20_000, message: 'ingest did not start' });
    expect(await getPipeline(redis, orders)).to.include({ ordering: 'strict', partitions: 1 });
    expect(await getPipeline(redis, audit)).to.include({ ordering: 'none', partitions: 2 });
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);

    server.pause();
    const inFlight = fetch(`${base}/v1/pipelines/${orders}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'in-flight-1' }, body: JSON.stringify({ payload: 'last' }),
    });
    await waitFor(() => ingest!.logs.some((l) => l.includes('"request received"') && l.includes('in-flight-1')), { timeoutMs: 5000 });
    ingest.signal('SIGTERM');
    await waitFor(() => ingest!.logged('"signal":"SIGTERM"'), { timeoutMs: 5000 });
    await waitFor(async () => {
      try {
        return (await fetch(`${base}/healthz`)).status === 503;
      } catch {
        return true; // refused: no longer listening
      }
    }, { timeoutMs: 5000, message: 'the ingest still accepts requests after SIGTERM' });

    server.resume();
    const reply = await inFlight;
    expect(reply.status).to.equal(202);
    expect(await reply.json()).to.deep.equal({ seqs: [1], duplicates: [false] });
    expect(await ingest.exited).to.equal(0);
    expect(await redis.llen(keysFor(orders, 0).input)).to.equal(1);
    const lines = ingest.logs.filter((l) => l.includes('in-flight-1')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.message)).to.include.members(['request received', 'submitted', 'request']);
    expect(lines.every((l) => l.requestId === 'in-flight-1' && l.component === 'ingest')).to.equal(true);
  });

  it('refuses to start on bad settings, naming every bad variable, and exits 2', async () => {
    ingest = new ServiceProcess('ingest', {
      REDIS_URL: 'http://x', PORT: 'eighty', MAX_BATCH: '5000', PIPELINES: 'orders:sorted', API_KEYS: 'short',
    });
    expect(await ingest.exited).to.equal(2);
    const text = ingest.logs.join('\n');
    for (const variable of ['REDIS_URL', 'PORT', 'MAX_BATCH', 'PIPELINES', 'API_KEYS']) expect(text).to.contain(`  ${variable}: `);
  });
});
