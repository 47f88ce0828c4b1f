import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { RedisServer, freePort, ServiceProcess, TestPipeline, jsonLines, waitFor } from '@inorder/testkit';

/**
 * A handler module that holds what real handlers hold: a listening TCP server, an HTTP keep-alive
 * connection and a raw socket. Its close() appends a line to CLOSE_MARKER and closes nothing (a
 * hook that forgets a pool); CLOSE_MODE=hang never returns, CLOSE_MODE=throw throws. Payloads
 * `{ kind: 'reject' }` and `{ kind: 'throw' }` leave an unhandled rejection or an uncaught exception.
 */
const HOLDING_HANDLER = `
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const server = http.createServer((req, res) => res.end('ok'));
server.keepAliveTimeout = 600_000;
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const agent = new http.Agent({ keepAlive: true });
await new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
});
const socket = net.connect(port, '127.0.0.1');
socket.on('error', () => {});

export default async function handle(payload) {
  if (payload && payload.kind === 'reject') Promise.reject(new Error('rejected on purpose'));
  if (payload && payload.kind === 'throw') setTimeout(() => { throw new Error('thrown on purpose'); }, 0);
  return { ok: true };
}

export async function close() {
  appendFileSync(process.env.CLOSE_MARKER, 'closed\\n');
  if (process.env.CLOSE_MODE === 'hang') return new Promise(() => {});
  if (process.env.CLOSE_MODE === 'throw') throw new Error('close failed on purpose');
}
`;

/** Resolves with the exit code, or 'running' when the process has not exited within `ms`. */
async function exitWithin(child: ServiceProcess, ms: number): Promise<number | null | 'running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), ms)));
  try {
    return await Promise.race([child.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

const events = (child: ServiceProcess, event: string): Array<Record<string, unknown>> =>
  jsonLines(child.logs).filter((l) => l.event === event);

describe('services: shutdown, unhandled errors and start-up failures', function () {
  this.timeout(60_000);
  let dir: string;
  let handlerFile: string;
  let server: RedisServer;
  let pipeline: TestPipeline | undefined;
  const children: ServiceProcess[] = [];
  const extraServers: RedisServer[] = [];
  let marker: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inorder-service-'));
    handlerFile = join(dir, 'holding-handler.mjs');
    writeFileSync(handlerFile, HOLDING_HANDLER);
    server = await RedisServer.start();
  });
  beforeEach(function () {
    marker = join(dir, `closed-${this.currentTest?.title.replace(/\W+/g, '-').slice(0, 60)}`);
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await pipeline?.close();
    pipeline = undefined;
    await Promise.all(extraServers.splice(0).map((s) => s.destroy()));
  });
  after(async () => {
    await server.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A processor child running the holding handler on a fresh pipeline with a sequencer, after `count` messages went through. */
  async function holdingProcessor(env: Record<string, string> = {}, count = 3): Promise<ServiceProcess> {
    pipeline = new TestPipeline(server);
    await pipeline.sequencer();
    const child = new ServiceProcess('processor', {
      REDIS_URL: server.url,
      PIPELINE: pipeline.name,
      HANDLER: handlerFile,
      CLOSE_MARKER: marker,
      SHUTDOWN_GRACE_MS: '1000',
      ...env,
    });
    children.push(child);
    await pipeline.enqueue(count);
    await pipeline.settled(count, 20_000);
    return child;
  }

  const closeCalls = (): string[] => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []);

  describe('shutdown', () => {
    it('exits 0 within SHUTDOWN_GRACE_MS + 5 s of SIGTERM although its handler holds a server and sockets, calling close() once', async () => {
      const child = await holdingProcessor();
      const signalled = Date.now();
      child.signal('SIGTERM');
      expect(await exitWithin(child, 1000 + 5000 + 2000)).to.equal(0);
      expect(Date.now() - signalled).to.be.below(1000 + 5000);
      expect(closeCalls()).to.deep.equal(['closed']);
      expect(child.logged('"message":"processor stopped"')).to.equal(true);
    });

    it('exits 1 at the hard deadline when close() never returns, saying what was pending; a second SIGTERM is logged and ignored', async () => {
      const child = await holdingProcessor({ CLOSE_MODE: 'hang', SHUTDOWN_GRACE_MS: '500' });
      const signalled = Date.now();
      child.signal('SIGTERM');
      await waitFor(() => closeCalls().length === 1, { timeoutMs: 5000, message: 'close() was not called' });
      child.signal('SIGTERM');
      await waitFor(() => events(child, 'signal-ignored').length === 1, { timeoutMs: 5000, message: 'the second SIGTERM was not logged' });
      expect(await exitWithin(child, 500 + 5000 + 3000)).to.equal(1);
      const took = Date.now() - signalled;
      expect(took).to.be.within(500 + 5000 - 200, 500 + 5000 + 2000);
      const [deadline] = events(child, 'shutdown-deadline');
      expect(deadline, 'a line about the deadline').to.not.equal(undefined);
      expect(deadline!.level).to.equal('error');
      expect(deadline!.pending).to.deep.equal(['handler close()']);
      expect(closeCalls()).to.deep.equal(['closed']);
    });

    it('logs a close() that throws and still exits, with 1', async () => {
      const child = await holdingProcessor({ CLOSE_MODE: 'throw' });
      child.signal('SIGTERM');
      expect(await exitWithin(child, 6000)).to.equal(1);
      expect(
        jsonLines(child.logs).some((l) => l.message === 'handler close() failed' && String(l.error).includes('close failed on purpose')),
      ).to.equal(true);
      expect(closeCalls()).to.deep.equal(['closed']);
    });

    it('exits at once on a second SIGINT', async () => {
      const child = await holdingProcessor({ CLOSE_MODE: 'hang', SHUTDOWN_GRACE_MS: '20000' });
      child.signal('SIGINT');
      await waitFor(() => closeCalls().length === 1, { timeoutMs: 5000, message: 'close() was not called' });
      const second = Date.now();
      child.signal('SIGINT');
      expect(await exitWithin(child, 3000)).to.equal(130);
      expect(Date.now() - second).to.be.below(2000);
    });

    it('stops on SIGTERM while still waiting for Redis at start, and exits 0', async () => {
      const child = new ServiceProcess('processor', { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PIPELINE: 'never-up' });
      children.push(child);
      await waitFor(() => events(child, 'redis-connection-failed').length >= 2, { timeoutMs: 20_000, message: 'no connection warnings' });
      child.signal('SIGTERM');
      expect(await exitWithin(child, 5000)).to.equal(0);
    });
  });

  describe('a connection that never came up (Redis at maxclients)', () => {
    for (const service of ['processor', 'sequencer'] as const) {
      it(`a ${service} whose second connection never connected exits 0 on SIGTERM, long before the deadline`, async () => {
        const full = await RedisServer.start({ maxclients: 2 });
        extraServers.push(full);
        const occupant = new Redis(full.port, '127.0.0.1');
        occupant.on('error', () => {});
        await occupant.ping();
        try {
          const child = new ServiceProcess(service, { REDIS_URL: full.url, PIPELINE: 'full', SHUTDOWN_GRACE_MS: '1000' });
          children.push(child);
          await waitFor(() => child.logged(`"message":"${service} started"`), {
            timeoutMs: 20_000,
            message: `the ${service} did not start`,
          });
          await waitFor(() => events(child, 'redis-connection-failed').length >= 2, {
            timeoutMs: 20_000,
            message: 'the second connection did not fail',
          });
          const signalled = Date.now();
          child.signal('SIGTERM');
          expect(await exitWithin(child, 1000 + 5000 + 2000)).to.equal(0);
          expect(Date.now() - signalled).to.be.below(3000);
        } finally {
          occupant.disconnect();
        }
      });
    }
  });

  describe('unhandled errors', () => {
    it('logs an unhandled rejection with its stack and keeps running', async () => {
      const child = await holdingProcessor({}, 1);
      await pipeline!.enqueue(1, 2, { payload: { kind: 'reject' } });
      await waitFor(() => events(child, 'unhandled-rejection').length === 1, { timeoutMs: 10_000, message: 'no unhandled-rejection line' });
      const [line] = events(child, 'unhandled-rejection');
      expect(line!.level).to.equal('error');
      expect(String(line!.stack)).to.match(/rejected on purpose[\s\S]*holding-handler\.mjs/);
      await pipeline!.enqueue(1, 3);
      await pipeline!.settled(3, 10_000);
      expect(child.child.exitCode).to.equal(null);
    });

    it('logs an uncaught exception with its stack and exits 1', async () => {
      const child = await holdingProcessor({}, 1);
      await pipeline!.enqueue(1, 2, { payload: { kind: 'throw' } });
      expect(await exitWithin(child, 10_000)).to.equal(1);
      const [line] = events(child, 'uncaught-exception');
      expect(line, 'an uncaught-exception line').to.not.equal(undefined);
      expect(line!.level).to.equal('error');
      expect(String(line!.stack)).to.match(/thrown on purpose[\s\S]*holding-handler\.mjs/);
    });
  });

  describe('start-up with a wrong password', () => {
    it('exits 1 at once, naming the cause, never logging the password', async () => {
      const locked = await RedisServer.start({ password: 'the-right-one' });
      extraServers.push(locked);
      const cases = [
        ['processor', `redis://:wr@ng:pw@127.0.0.1:${locked.port}`, /wrong password/],
        ['sequencer', `redis://app:wr@ng:pw@127.0.0.1:${locked.port}`, /wrong password/],
        ['sequencer', `redis://127.0.0.1:${locked.port}`, /requires a password/],
      ] as const;
      for (const [service, url, cause] of cases) {
        const child = new ServiceProcess(service, { REDIS_URL: url, PIPELINE: 'locked' });
        children.push(child);
        const started = Date.now();
        expect(await exitWithin(child, 15_000), `${service} ${url}`).to.equal(1);
        expect(Date.now() - started).to.be.below(10_000);
        const cannot = jsonLines(child.logs).find((l) => l.message === 'cannot start');
        expect(String(cannot?.error), `${service} ${url}`).to.match(cause);
        expect(String(cannot?.error)).to.include(`127.0.0.1:${locked.port}`);
        expect(child.logs.join('\n')).not.to.match(/wr@ng|ng:pw/);
      }
    });
  });
});
