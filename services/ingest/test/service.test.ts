import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { getPipeline, keysFor, type RedisClient } from '@inorder/shared';
import { RedisServer, freePort, ServiceProcess, uniquePipeline, waitFor } from '@inorder/testkit';
import { newPipeline } from './support/ingest.js';

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
      REDIS_URL: server.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      PIPELINES: `${orders}:strict,${audit}:none:2`,
      REDIS_TIMEOUT_MS: '20000',
    });
    await waitFor(() => ingest!.logged('"message":"listening"'), { timeoutMs: 20_000, message: 'ingest did not start' });
    expect(await getPipeline(redis, orders)).to.include({ ordering: 'strict', partitions: 1 });
    expect(await getPipeline(redis, audit)).to.include({ ordering: 'none', partitions: 2 });
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);

    server.pause();
    const inFlight = fetch(`${base}/v1/pipelines/${orders}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'in-flight-1' },
      body: JSON.stringify({ payload: 'last' }),
    });
    await waitFor(() => ingest!.logs.some((l) => l.includes('"request received"') && l.includes('in-flight-1')), { timeoutMs: 5000 });
    ingest.signal('SIGTERM');
    await waitFor(() => ingest!.logged('"signal":"SIGTERM"'), { timeoutMs: 5000 });
    await waitFor(
      async () => {
        try {
          return (await fetch(`${base}/healthz`)).status === 503;
        } catch {
          return true; // refused: no longer listening
        }
      },
      { timeoutMs: 5000, message: 'the ingest still accepts requests after SIGTERM' },
    );

    server.resume();
    const reply = await inFlight;
    expect(reply.status).to.equal(202);
    expect(await reply.json()).to.deep.equal({ partition: 0, seqs: [1], duplicates: [false] });
    expect(await ingest.exited).to.equal(0);
    expect(await redis.llen(keysFor(orders, 0).input)).to.equal(1);
    const lines = ingest.logs.filter((l) => l.includes('in-flight-1')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.message)).to.include.members(['request received', 'submitted', 'request']);
    expect(lines.every((l) => l.requestId === 'in-flight-1' && l.component === 'ingest')).to.equal(true);
  });

  it('refuses to start on bad settings, naming every bad variable, and exits 2', async () => {
    ingest = new ServiceProcess('ingest', {
      REDIS_URL: 'http://x',
      PORT: 'eighty',
      MAX_BATCH: '5000',
      PIPELINES: 'orders:sorted',
      API_KEYS: 'short',
    });
    expect(await ingest.exited).to.equal(2);
    const text = ingest.logs.join('\n');
    for (const variable of ['REDIS_URL', 'PORT', 'MAX_BATCH', 'PIPELINES', 'API_KEYS']) expect(text).to.contain(`  ${variable}: `);
  });

  it('refuses to start, exit 2, when PIPELINES names another partition count than the pipeline has, naming the command', async () => {
    const pipeline = await newPipeline(redis, 'strict', 'count', 4);
    ingest = new ServiceProcess('ingest', {
      REDIS_URL: server.url,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      PIPELINES: `${pipeline}:strict:8`,
    });
    expect(await ingest.exited).to.equal(2);
    expect(ingest.logs.join('\n')).to.contain(`npm run partitions -- --pipeline ${pipeline} --to 8`);
    expect(await getPipeline(redis, pipeline)).to.include({ partitions: 4 });
  });

  describe('with a password on Redis', () => {
    let locked: RedisServer;
    let dir: string;
    before(async () => {
      locked = await RedisServer.start({ password: 'the-right-one' });
      dir = mkdtempSync(join(tmpdir(), 'inorder-ingest-secrets-'));
    });
    after(async () => {
      await locked.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it('exits 1 at once on a wrong password, naming the cause, instead of waiting STARTUP_TIMEOUT_MS, and never logs the password', async () => {
      ingest = new ServiceProcess('ingest', {
        REDIS_URL: `redis://app:wr@ng:pw@127.0.0.1:${locked.port}`,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        STARTUP_TIMEOUT_MS: '30000',
      });
      const started = Date.now();
      expect(await ingest.exited).to.equal(1);
      expect(Date.now() - started).to.be.below(10_000);
      const text = ingest.logs.join('\n');
      const cannot = ingest.logs.filter((l) => l.includes('"message":"cannot start"'));
      expect(cannot.join('\n')).to.match(/wrong password/);
      expect(text).to.include(`redis://app:***@127.0.0.1:${locked.port}`);
      expect(text).not.to.match(/wr@ng|ng:pw/);
    });

    it('reads REDIS_URL_FILE and API_KEYS_FILE', async () => {
      const port = await freePort();
      const urlFile = join(dir, 'redis-url');
      const keysFile = join(dir, 'api-keys');
      writeFileSync(urlFile, `${locked.url}\n`);
      writeFileSync(keysFile, 'key-from-a-file-1234\n');
      ingest = new ServiceProcess('ingest', {
        REDIS_URL_FILE: urlFile,
        API_KEYS_FILE: keysFile,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'debug',
      });
      await waitFor(() => ingest!.logged('"message":"listening"'), { timeoutMs: 20_000, message: 'ingest did not start' });
      // Only once it is known to be on the test's server (never the shared one on 6379) does the test write.
      expect(ingest.logs.some((l) => l.includes('"event":"redis-connection-ready"') && l.includes(`127.0.0.1:${locked.port}`))).to.equal(
        true,
      );
      const admin = locked.client();
      const pipeline = await newPipeline(admin, 'strict', 'secrets');
      admin.disconnect();
      const submit = (key?: string): Promise<Response> =>
        fetch(`http://127.0.0.1:${port}/v1/pipelines/${pipeline}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: '{"payload":1}',
        });
      expect((await submit()).status).to.equal(401);
      expect((await submit('key-from-a-file-1234')).status).to.equal(202);
    });

    it('refuses REDIS_URL together with REDIS_URL_FILE, exit 2', async () => {
      ingest = new ServiceProcess('ingest', { REDIS_URL: locked.url, REDIS_URL_FILE: join(dir, 'whatever'), MAX_BATCH: '0' });
      expect(await ingest.exited).to.equal(2);
      const text = ingest.logs.join('\n');
      expect(text).to.contain('  REDIS_URL_FILE: set only one of REDIS_URL and REDIS_URL_FILE');
      expect(text).to.contain('  MAX_BATCH: ');
      expect(text.match(/REDIS_URL_FILE: set only one/g)?.length).to.equal(2); // once on stderr, once in the log line
    });
  });
});
