import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import { RedisConnectionError, connect, waitUntilConnected, type RedisClient, type RedisTls } from '@inorder/shared';
import {
  RedisServer,
  freePort,
  ServiceProcess,
  uniquePipeline,
  capturingLogger,
  jsonLines,
  makeCertificates,
  opensslMissing,
  redisTlsMissing,
  type TestCertificates,
  waitFor,
} from '@inorder/testkit';

describe('Redis over TLS (rediss://, REDIS_TLS_* files)', function () {
  this.timeout(60_000);
  let dir: string | undefined;
  let certs: TestCertificates;
  let server: RedisServer | undefined;
  const opened: RedisClient[] = [];
  const children: ServiceProcess[] = [];

  before(async function () {
    const noOpenssl = opensslMissing();
    if (noOpenssl) {
      console.log(`      skipped: ${noOpenssl}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'inorder-tls-'));
    certs = makeCertificates(dir);
    const noTls = redisTlsMissing(certs, await freePort(), dir);
    if (noTls) {
      console.log(`      skipped: ${noTls}`);
      this.skip();
    }
    server = await RedisServer.start({ tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile } });
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) c.disconnect();
    await Promise.all(children.splice(0).map((c) => c.kill()));
  });
  after(async () => {
    await server?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const pem = (file: string): string => readFileSync(file, 'utf8');
  const open = (tls: RedisTls | undefined, logger = capturingLogger().logger): RedisClient => {
    const redis = connect(server!.tlsUrl, { tls, logger });
    opened.push(redis);
    return redis;
  };
  const refusal = (redis: RedisClient): Promise<unknown> =>
    waitUntilConnected(redis, { timeoutMs: 10_000 }).then(
      (ok) => `resolved ${ok}`,
      (e: unknown) => e,
    );

  it('connects when REDIS_TLS_CA_FILE names the CA that signed the server certificate', async () => {
    const redis = open({ ca: pem(certs.caFile) });
    expect(await waitUntilConnected(redis, { timeoutMs: 10_000 })).to.equal(true);
    expect(await redis.ping()).to.equal('PONG');
  });

  for (const [what, tls] of [
    ['without a CA', () => undefined],
    ['with a CA that did not sign it', () => ({ ca: pem(certs.otherCaFile) })],
  ] as const) {
    it(`refuses the server certificate ${what}, logging that it is not trusted`, async () => {
      const { logger, lines } = capturingLogger();
      const error = await refusal(open(tls(), logger));
      expect(error).to.be.instanceOf(RedisConnectionError);
      expect((error as Error).message).to.match(/certificate is not trusted.*REDIS_TLS_CA_FILE/);
      await waitFor(() => lines.some((l) => l.event === 'redis-connection-failed'), { timeoutMs: 5000 });
      expect(lines.find((l) => l.event === 'redis-connection-failed')!.cause).to.match(/certificate is not trusted/);
    });
  }

  describe('when the server requires client certificates (tls-auth-clients yes)', () => {
    beforeEach(async () => {
      const admin = server!.client();
      await admin.config('SET', 'tls-auth-clients', 'yes');
      admin.disconnect();
    });
    afterEach(async () => {
      const admin = server!.client();
      await admin.config('SET', 'tls-auth-clients', 'no');
      admin.disconnect();
    });

    it('fails without a client certificate, naming the missing certificate', async () => {
      const { logger, lines } = capturingLogger();
      const error = await refusal(open({ ca: pem(certs.caFile) }, logger));
      expect(error).to.be.instanceOf(RedisConnectionError);
      expect((error as Error).message).to.match(/requires a client certificate.*REDIS_TLS_CERT_FILE/);
      await waitFor(() => lines.filter((l) => l.event === 'redis-connection-failed').length >= 2, { timeoutMs: 5000 });
      expect(lines.some((l) => /client certificate/.test(String(l.cause)))).to.equal(true);
    });

    it('connects with REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE', async () => {
      const redis = open({ ca: pem(certs.caFile), cert: pem(certs.clientCertFile), key: pem(certs.clientKeyFile) });
      expect(await waitUntilConnected(redis, { timeoutMs: 10_000 })).to.equal(true);
      expect(await redis.set('tls-key', 'v')).to.equal('OK');
    });

    it('runs a sequencer, a processor and the ingest from the REDIS_TLS_* settings, and stops one at start without them', async () => {
      const pipeline = uniquePipeline('tls');
      const env = {
        REDIS_URL: server!.tlsUrl,
        PIPELINE: pipeline,
        REDIS_TLS_CA_FILE: certs.caFile,
        REDIS_TLS_CERT_FILE: certs.clientCertFile,
        REDIS_TLS_KEY_FILE: certs.clientKeyFile,
      };
      const sequencer = new ServiceProcess('sequencer', env);
      const processor = new ServiceProcess('processor', env);
      const ingest = new ServiceProcess('ingest', { ...env, PORT: String(await freePort()), HOST: '127.0.0.1', PIPELINE: '' });
      const refused = new ServiceProcess('processor', { REDIS_URL: server!.tlsUrl, PIPELINE: pipeline, REDIS_TLS_CA_FILE: certs.caFile });
      children.push(sequencer, processor, ingest, refused);
      await waitFor(() => sequencer.logged('"message":"leading"'), { timeoutMs: 20_000, message: 'the sequencer did not lead over TLS' });
      await waitFor(() => processor.logged('"message":"processor started"'), {
        timeoutMs: 20_000,
        message: 'the processor did not start over TLS',
      });
      await waitFor(() => ingest.logged('"message":"listening"'), { timeoutMs: 20_000, message: 'the ingest did not start over TLS' });
      expect(await refused.exited).to.equal(1);
      const cannot = jsonLines(refused.logs).find((l) => l.message === 'cannot start');
      expect(String(cannot?.error)).to.match(/requires a client certificate/);
    });
  });

  it('gives a cluster client the same TLS material for every node', () => {
    const tls = { ca: pem(certs.caFile), cert: pem(certs.clientCertFile), key: pem(certs.clientKeyFile) };
    const cluster = connect(`rediss+cluster://127.0.0.1:${server!.tlsPort}`, { tls }) as Cluster;
    opened.push(cluster);
    expect(cluster.options.redisOptions?.tls).to.deep.equal(tls);
    expect(() => connect(`redis://127.0.0.1:${server!.port}`, { tls })).to.throw(RangeError, /rediss:\/\//);
  });
});
